package contacts_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/contacts"
)

func readAll(t testing.TB, rd contacts.Reader) []gateway.ContactChange {
	t.Helper()
	var out []gateway.ContactChange
	for {
		ch, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ch)
	}
}

// rejectsByLine collects rejections as "line: reason".
func rejectsByLine(rs *[]gateway.RowReject) func(gateway.RowReject) {
	return func(r gateway.RowReject) { *rs = append(*rs, r) }
}

func TestCSVRefusesBadRowsKeepsGoodOnes(t *testing.T) {
	long := strings.Repeat("x", 101)
	in := "code,full_name,type,mobile,address,action\n" +
		"C1,Andreas,Individual,+357 99 123456,\"1 Main St\nNicosia\",\n" + // lines 2-3: a two-line address is folded
		"C2,Nul\x00Name,Individual,,,\n" + // 4
		"C3,Bell\aName,Individual,,,\n" + // 5
		"C4,Caf\xe9 Latin-1,Company,,,\n" + // 6
		long + ",Long Code,,,,\n" + // 7
		"C5," + strings.Repeat("n", 201) + ",,,,\n" + // 8
		"C6,Big Field,,," + strings.Repeat("a", 1001) + ",\n" + // 9
		"C7,Tab\tNumber,,99\t123,,\n" + // 10
		"C8,,,,,delete\n" + // 11
		"C9,Odd,,,,archive\n" + // 12
		"C10,Still Here,Company,22 123456,,\n" // 13
	var rejects []gateway.RowReject
	rd, err := contacts.NewCSVReader(strings.NewReader(in), "CY", rejectsByLine(&rejects))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, rd)
	var codes []string
	for _, ch := range got {
		codes = append(codes, fmt.Sprintf("%d:%s:%v", ch.Line, ch.Contact.Code, ch.Delete))
	}
	if want := "2:C1:false 11:C8:true 13:C10:false"; strings.Join(codes, " ") != want {
		t.Fatalf("kept %v, want %s", codes, want)
	}
	if got[0].Contact.Fields["address"] != "1 Main St Nicosia" || got[0].Contact.Phones[0].E164 != "+35799123456" {
		t.Errorf("C1 = %+v", got[0].Contact)
	}
	want := map[int]string{
		4:  "full_name contains a NUL",
		5:  "full_name contains the control character U+0007",
		6:  "full_name is not valid UTF-8",
		7:  "code is longer than 100 characters",
		8:  "full_name is longer than 200 characters",
		9:  "address is longer than 1000 characters",
		10: "full_name contains the control character U+0009",
		12: `action "archive" is neither upsert nor delete`,
	}
	if len(rejects) != len(want) {
		t.Errorf("rejects %+v", rejects)
	}
	for _, r := range rejects {
		if want[r.Line] != r.Reason {
			t.Errorf("line %d: reason %q, want %q", r.Line, r.Reason, want[r.Line])
		}
	}
}

func TestCSVHeader(t *testing.T) {
	for _, in := range []string{"", "name,phone\n", "code,full_name,code\n", "code,full_name,not\x00e\n"} {
		if _, err := contacts.NewCSVReader(strings.NewReader(in), "CY", nil); err == nil {
			t.Errorf("header %q accepted", in)
		}
	}
}

func TestNDJSON(t *testing.T) {
	in := `{"code":"C1","full_name":"Andreas","phones":[{"kind":"mobile","number":"+357 99 123456"},{"kind":"work","number":"call me"}],"fields":{"email":"a@example.com"}}

{"code":"C2","action":"delete"}
{"code":"C3","fullname":"Typo"}
{"code":"C4","full_name":"Nul\u0000"}
{"code":"C5","full_name":"Caf` + "\xe9" + `"}
not json
{"code":"C6","full_name":"Two"} {"code":"C7"}
{"code":"C8","full_name":"` + strings.Repeat("x", contacts.MaxLine) + `"}
{"code":"C9","full_name":"Last"}`
	var rejects []gateway.RowReject
	got := readAll(t, contacts.NewNDJSONReader(strings.NewReader(in), "CY", rejectsByLine(&rejects)))
	if len(got) != 3 || got[0].Contact.Code != "C1" || len(got[0].Contact.Phones) != 1 || !got[1].Delete || got[1].Line != 3 ||
		got[2].Contact.Code != "C9" || got[2].Line != 10 {
		t.Fatalf("kept %+v", got)
	}
	want := map[int]string{
		1: `work "call me" is not a phone number`,
		4: `unknown field "fullname"`,
		5: "full_name contains a NUL",
		6: "is not valid UTF-8",
		7: "not a contact object",
		8: "more than one JSON value",
		9: "line longer than",
	}
	if len(rejects) != len(want) {
		t.Errorf("rejects %+v", rejects)
	}
	for _, r := range rejects {
		if w, ok := want[r.Line]; !ok || !strings.Contains(r.Reason, w) {
			t.Errorf("line %d: reason %q, want %q", r.Line, r.Reason, w)
		}
	}
}

// FuzzCSV checks that whatever the file, every row either comes out clean
// or is refused with a line, and the reader never fails or panics.
func FuzzCSV(f *testing.F) {
	f.Add("code,full_name,mobile\nC1,Andreas,+35799123456\n")
	f.Add("code,full_name\nC\x00,x\n\"bad\n")
	f.Fuzz(func(t *testing.T, in string) {
		rd, err := contacts.NewCSVReader(strings.NewReader(in), "CY", func(r gateway.RowReject) {
			if r.Line <= 0 || r.Reason == "" {
				t.Fatalf("reject without line or reason: %+v", r)
			}
		})
		if err != nil {
			return
		}
		for _, ch := range readAll(t, rd) {
			checkClean(t, ch)
		}
	})
}

func FuzzNDJSON(f *testing.F) {
	f.Add(`{"code":"C1","full_name":"A","phones":[{"kind":"mobile","number":"99123456"}]}`)
	f.Add("{\"code\":\"C\\u0000\"}\n\xff\n")
	f.Fuzz(func(t *testing.T, in string) {
		rd := contacts.NewNDJSONReader(strings.NewReader(in), "CY", func(r gateway.RowReject) {
			if r.Line <= 0 || r.Reason == "" {
				t.Fatalf("reject without line or reason: %+v", r)
			}
		})
		for _, ch := range readAll(t, rd) {
			checkClean(t, ch)
		}
	})
}

func checkClean(t *testing.T, ch gateway.ContactChange) {
	t.Helper()
	c := ch.Contact
	texts := []string{c.Code, c.FullName, c.Type}
	for k, v := range c.Fields {
		texts = append(texts, k, v)
	}
	for _, p := range c.Phones {
		texts = append(texts, p.Kind, p.Raw, p.E164, p.National)
	}
	for _, s := range texts {
		if err := gateway.CheckText(s, contacts.MaxField); err != nil {
			t.Fatalf("row %d kept %q: %v", ch.Line, s, err)
		}
	}
	if c.Code == "" || (!ch.Delete && c.FullName == "") {
		t.Fatalf("row %d kept without code or name: %+v", ch.Line, ch)
	}
}
