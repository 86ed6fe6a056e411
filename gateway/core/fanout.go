package core

import (
	"sort"

	"crmcti/gateway"
	"crmcti/gateway/phone"
	"crmcti/gateway/wire"
)

// welcome sends the session and the snapshot that always follows it.
func (s *Service) welcome(c *Conn, id string, sess wire.Session) {
	c.reply(wire.TSession, id, sess)
	// The snapshot is queued under the lock that every broadcast takes:
	// an event that happens after it is taken goes out after it, never
	// before (the client would apply it and then lose it to the snapshot).
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap wire.Snapshot
	if st := c.state(); st != nil {
		snap = s.snapshotLocked(st)
	}
	c.reply(wire.TSnapshot, "", snap)
}

// snapshotLocked is the agent's whole state; called with s.mu held.
func (s *Service) snapshotLocked(st *agentState) wire.Snapshot {
	snap := wire.Snapshot{Protocol: wire.Protocol, Agent: agentToWire(st.agent), Status: string(st.status), PBX: "down", Phone: wire.PhoneReady, Calls: []wire.Call{}}
	if st.connecting != nil {
		snap.Phone = wire.PhoneConnecting
	}
	if s.pbxUp || s.synced[st.agent.Extension] {
		snap.PBX = "up"
	}
	for _, lc := range st.calls {
		snap.Calls = append(snap.Calls, lc.toWire(s.phones))
	}
	sort.Slice(snap.Calls, func(i, j int) bool { return snap.Calls[i].Started.Before(snap.Calls[j].Started) })
	return snap
}

// broadcastLocked queues a frame to every connection of an agent. It is
// encoded once, however many tabs she has.
func (s *Service) broadcastLocked(st *agentState, typ string, data any) {
	b, err := wire.Encode(typ, "", data)
	if err != nil {
		s.log.Error("core: encode", "type", typ, "err", err)
		return
	}
	for c := range st.conns {
		c.send(b)
	}
}

// broadcastCallLocked tells every connection of an agent what happened
// to one of her calls.
func (s *Service) broadcastCallLocked(st *agentState, event string, lc *liveCall) {
	s.broadcastLocked(st, wire.TCallEvent, wire.CallEvent{Event: event, Call: lc.toWire(s.phones)})
}

// toWire builds the call's wire value, formatting its number with phones
// when the number changed; called with Service.mu held.
func (lc *liveCall) toWire(phones *phone.Cache) wire.Call {
	if lc.displayOf != lc.Remote {
		lc.display, lc.displayOf = displayNumber(lc.Remote, phones), lc.Remote
	}
	w := callToWire(lc.Call, lc.display)
	if len(lc.Matches) > 0 {
		w.Matches = matchesToWire(lc.Matches)
	}
	return w
}

func callToWire(c gateway.Call, display string) wire.Call {
	return wire.Call{ID: c.ID, Device: c.Device, Direction: string(c.Direction), State: string(c.State), Remote: c.Remote,
		RemoteRaw: c.RemoteRaw, Display: display, Contact: c.Contact, Started: c.Started, Answered: c.Answered, Ended: c.Ended, Cause: c.Cause,
		RemoteName: c.RemoteName, Note: c.Note, Disposition: string(c.Disposition)}
}

// displayNumber formats a far end for the panel: a subscriber number in
// libphonenumber's international format; an extension or an
// unparseable string as the switch gave it (then the panel shows Remote).
func displayNumber(remote string, phones *phone.Cache) string {
	if remote == "" {
		return ""
	}
	if d := phones.Display(remote); d != remote {
		return d
	}
	return ""
}

// matchesToWire never returns nil: a lookup that found no one answers
// an empty list.
func matchesToWire(ms []gateway.Match) []wire.Match {
	out := make([]wire.Match, 0, len(ms))
	for _, m := range ms {
		out = append(out, wire.Match{Contact: contactToWire(m.Contact), Number: m.Number, Kind: m.Kind})
	}
	return out
}

func contactToWire(c gateway.Contact) wire.Contact {
	w := wire.Contact{Code: c.Code, FullName: c.FullName, Type: c.Type, Fields: c.Fields}
	for _, p := range c.Phones {
		w.Phones = append(w.Phones, wire.Phone{Kind: p.Kind, Raw: p.Raw, E164: p.E164})
	}
	return w
}

func agentToWire(a gateway.Agent) wire.Agent {
	return wire.Agent{Username: a.Username, DisplayName: a.DisplayName, Extension: a.Extension}
}

// phoneCacheSize is how many callers' numbers the gateway keeps
// normalised and formatted: a busy day's distinct callers of a large
// call centre, at about 200 bytes each (1.6 MB); a flood of distinct
// caller IDs recycles the cache instead of growing it.
const phoneCacheSize = 8192
