package core

import (
	"encoding/json"
	"testing"

	"crmcti/gateway/wire"
)

// While the switch's phones are resynchronised one by one, an agent whose
// phone is done is told the link is up, and her snapshot says so, while
// the others still see it down; losing the link tells her "down" again.
func TestDeviceSyncedBeforeTheLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.dial(), h.dial()
	a.login("alice")
	b.login("bob")
	h.sw.SetLink(false)
	if l := nextLink(a); l.PBX != "down" {
		t.Fatalf("alice's link %+v", l)
	}
	nextLink(b)
	h.svc.DeviceSynced(alice.Extension)
	if l := nextLink(a); l.PBX != "up" {
		t.Fatalf("alice's link %+v after her phone was resynchronised", l)
	}
	if _, snap := h.dial().login("alice"); snap.PBX != "up" {
		t.Fatalf("alice's new tab %+v", snap)
	}
	if _, snap := h.dial().login("bob"); snap.PBX != "down" {
		t.Fatalf("bob's new tab %+v: his phone is not resynchronised", snap)
	}
	h.svc.LinkChanged(false)
	if l := nextLink(a); l.PBX != "down" {
		t.Fatalf("alice's link %+v after the link was lost mid-resync", l)
	}
	if _, snap := h.dial().login("alice"); snap.PBX != "down" {
		t.Fatalf("alice's new tab %+v after the link was lost", snap)
	}
	h.svc.DeviceSynced(alice.Extension)
	nextLink(a)
	h.svc.LinkChanged(true)
	if l := nextLink(b); l.PBX != "up" {
		t.Fatalf("bob's link %+v", l)
	}
	h.svc.LinkChanged(false)
	if l := nextLink(a); l.PBX != "down" {
		t.Fatalf("alice's link %+v: told up twice", l)
	}
}

func nextLink(tb *tab) wire.Link {
	tb.t.Helper()
	var l wire.Link
	json.Unmarshal(tb.next("link", func(e wire.Envelope) bool { return e.Type == wire.TLink }).Data, &l)
	return l
}
