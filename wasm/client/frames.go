package client

import (
	"fmt"
	"strings"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// evIdentified is the call event the gateway sends when the caller's
// matches are known (while it rings, and again on answer).
const evIdentified = "identified"

// frame applies one message from the gateway.
func (c *Core) frame(out *sender, env wire.Envelope) error {
	req, isReply := out.pending[env.ID]
	if env.ID != "" {
		out.answered(env.ID)
	}
	switch env.Type {
	case wire.TSession:
		return c.onSession(env)
	case wire.TSnapshot:
		return c.onSnapshot(env)
	case wire.TCallEvent:
		return c.onCallEvent(out, env)
	case wire.TStatusEv:
		var s wire.StatusEvent
		if err := wire.DecodeData(env, &s); err != nil {
			return err
		}
		c.update(func(st *state) { st.status = s.Status })
	case wire.TLink:
		var l wire.Link
		if err := wire.DecodeData(env, &l); err != nil {
			return err
		}
		c.update(func(st *state) { st.setPBX(l.PBX, time.Now()) })
	case wire.TPhone:
		var p wire.PhoneState
		if err := wire.DecodeData(env, &p); err != nil {
			return err
		}
		c.update(func(st *state) { st.setPhone(p.State) })
	case wire.THeartbeat:
		var h wire.Heartbeat
		if wire.DecodeData(env, &h) == nil && !h.Time.IsZero() {
			c.mu.Lock()
			c.st.skew = h.Time.Sub(time.Now())
			c.mu.Unlock()
		}
	case wire.TNoted:
		var n wire.Note
		if err := wire.DecodeData(env, &n); err != nil {
			return err
		}
		c.update(func(st *state) { st.noted(n) })
	case wire.TBye:
		return c.onBye(env)
	case wire.TError:
		var e wire.Error
		_ = wire.DecodeData(env, &e)
		return c.failed(req, isReply, e)
	case wire.TResult:
		return c.result(req, env)
	}
	return nil
}

func (c *Core) onSession(env wire.Envelope) error {
	var s wire.Session
	if err := wire.DecodeData(env, &s); err != nil {
		return err
	}
	c.cfg.Tokens.Save(s.Token)
	c.update(func(st *state) {
		st.loginBusy, st.loginErr, st.connErr = false, "", ""
		a := s.Agent
		st.agent = &a
	})
	return nil
}

func (c *Core) onSnapshot(env wire.Envelope) error {
	var s wire.Snapshot
	if err := wire.DecodeData(env, &s); err != nil {
		return err
	}
	c.update(func(st *state) { st.applySnapshot(s, time.Now()) })
	for _, call := range s.Calls {
		c.notifyRinging(call)
	}
	return nil
}

func (c *Core) onCallEvent(out *sender, env wire.Envelope) error {
	var ce wire.CallEvent
	if err := wire.DecodeData(env, &ce); err != nil {
		return err
	}
	var prev *wire.Call
	c.update(func(st *state) { prev = st.applyCall(ce, time.Now()) })
	return c.afterCall(out, prev, ce)
}

func (c *Core) onBye(env wire.Envelope) error {
	var e wire.Error
	_ = wire.DecodeData(env, &e)
	// A phone the switch refuses ends the session (the gateway revoked
	// it): back to the login form, saying why.
	if e.Code == string(gateway.CodeSessionExpired) || e.Code == string(gateway.CodePBXRefused) {
		c.cfg.Tokens.Save("")
		c.update(func(st *state) { st.reset(); st.loginErr = sentence(e.Message) })
		return errLoggedOut
	}
	if e.Code == codeStandby {
		return errStandby
	}
	return fmt.Errorf("gateway: %s", e.Message)
}

// failed handles an error reply.
func (c *Core) failed(req Intent, isReply bool, e wire.Error) error {
	msg := sentence(e.Message)
	if isReply {
		c.settle(req)
	}
	switch {
	case isReply && (req.Type == wire.TLogin || req.Type == wire.TResume):
		c.update(func(st *state) {
			st.loginBusy = false
			if req.Type == wire.TLogin {
				st.loginErr = msg
			}
		})
		if e.Code == string(gateway.CodeSessionExpired) || req.Type == wire.TLogin {
			// A dead token is dropped; the agent logs in again.
			c.cfg.Tokens.Save("")
			c.update(func(st *state) { st.reset(); st.loginErr = msg })
			return errLoggedOut
		}
		return fmt.Errorf("resume: %s", e.Message)
	case isReply && req.Type == wire.TSearch:
		c.update(func(st *state) { st.search.busy, st.search.err = false, msg })
	default:
		c.update(func(st *state) { st.setNotice(msg) })
	}
	return nil
}

// settle ends the pending state a request put a call or the dial box in.
func (c *Core) settle(req Intent) {
	c.update(func(st *state) {
		if _, ok := callActions[req.Type]; ok && st.pending[req.CallID] == req.Type {
			delete(st.pending, req.CallID)
		}
		if req.Type == wire.TCall {
			st.dialing = false
		}
		if req.Type == wire.TNote {
			st.noting = false
		}
	})
}

func (c *Core) result(req Intent, env wire.Envelope) error {
	c.settle(req)
	switch req.Type {
	case wire.TLogout:
		c.cfg.Tokens.Save("")
		c.update(func(st *state) { st.reset() })
		return errLoggedOut
	case wire.TSearch:
		var r wire.SearchResult
		if err := wire.DecodeData(env, &r); err != nil {
			return err
		}
		c.update(func(st *state) {
			st.search.busy, st.search.results, st.search.more, st.search.err = false, r.Contacts, r.More, ""
			for _, ct := range r.Contacts {
				st.names[ct.Code] = ct.FullName
			}
		})
	case wire.TRecent:
		var r wire.RecentResult
		if err := wire.DecodeData(env, &r); err != nil {
			return err
		}
		c.update(func(st *state) { st.setRecent(r.Calls) })
	case wire.TConfer:
		c.update(func(st *state) { st.conference(req.CallID, req.With) })
	case wire.TDigits:
		c.update(func(st *state) { st.say("Tones sent: " + req.Digits); st.setToast("Tones " + req.Digits + " sent.") })
	case wire.TNote:
		c.update(func(st *state) {
			st.noted(wire.Note{CallID: req.CallID, Note: strings.TrimSpace(req.Note), Disposition: req.Disposition})
			st.setToast("Note saved.")
			st.say("Note saved")
		})
	}
	return nil
}
