package wire_test

import (
	"errors"
	"strings"
	"testing"

	"crmcti/gateway/wire"
)

func TestRoundTrip(t *testing.T) {
	b, err := wire.Encode(wire.TAnswer, "7", wire.CallRef{CallID: "00A1"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"type":"answer","id":"7","data":{"callId":"00A1"}}` {
		t.Fatalf("%s", b)
	}
	env, err := wire.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var ref wire.CallRef
	if err := wire.DecodeData(env, &ref); err != nil || ref.CallID != "00A1" || env.ID != "7" {
		t.Fatalf("%+v %+v %v", env, ref, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{``, `[]`, `{}`, `{"type":""}`, `{"type":"x","id":"` + strings.Repeat("9", 65) + `"}`, strings.Repeat(" ", wire.MaxMessage+1)} {
		if _, err := wire.Decode([]byte(in)); !errors.Is(err, wire.ErrBadMessage) {
			t.Errorf("%.40q: %v", in, err)
		}
	}
	env, _ := wire.Decode([]byte(`{"type":"call","data":{"number":42}}`))
	var req wire.CallRequest
	if err := wire.DecodeData(env, &req); !errors.Is(err, wire.ErrBadMessage) {
		t.Errorf("wrong data type accepted: %v", err)
	}
}

// FuzzDecode: whatever a browser sends, decoding errors or yields an
// envelope that encodes again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"login","id":"1","data":{"username":"alice","password":"demo"}}`,
		`{"type":"answer","id":"2","data":{"callId":"00A1"}}`,
		`{"type":"search","id":"3","data":{"query":"%_'\"","page":-1,"pageSize":1000000}}`,
		`{"type":"call","data":null}`,
		`{"type":"x","id":"","data":[1,2,{"a":"\u0000"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := wire.Decode(b)
		if err != nil {
			return
		}
		if env.Type == "" {
			t.Fatal("decoded an envelope without a type")
		}
		var anyData map[string]any
		_ = wire.DecodeData(env, &anyData)
		if _, err := wire.Encode(env.Type, env.ID, env.Data); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func BenchmarkEncodeCallEvent(b *testing.B) {
	ev := wire.CallEvent{Event: "rang", Call: wire.Call{ID: "0001A2B3C4D50001", Device: "1001", Direction: "inbound", State: "ringing",
		Remote: "+35722123456", RemoteRaw: "N<+35722123456>", Matches: []wire.Match{{Contact: wire.Contact{Code: "C000001", FullName: "Andreas Constantinou", Type: "Individual"}, Number: "+357 22 123456", Kind: "work"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.Encode(wire.TCallEvent, "", ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCommand(b *testing.B) {
	frame := []byte(`{"type":"answer","id":"42","data":{"callId":"0001A2B3C4D50001"}}`)
	b.ReportAllocs()
	for b.Loop() {
		env, err := wire.Decode(frame)
		if err != nil {
			b.Fatal(err)
		}
		var ref wire.CallRef
		if err := wire.DecodeData(env, &ref); err != nil {
			b.Fatal(err)
		}
	}
}
