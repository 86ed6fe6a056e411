package core

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"time"

	"crmcti/gateway"
)

// A logout takes effect at once, whatever the database says: the session
// is dropped from memory and put on the revoked list (which resume
// checks before the database), and every connection on it is ended. Then
// it is recorded in the database. When the database is down the
// revocation goes to the spool (synced to disk) and is retried at every
// sweep and after a restart, so that the token never works again — not
// when the database returns, not after a restart. Only when neither the
// database nor the spool can take it does the logout fail with
// database_unavailable: the session is still ended on this gateway and
// retried while it runs, but a restart before the database returns
// would forget the logout, and the agent is told. With SharedSessions
// (an active/standby pair) the spool is not used for logouts: it stays on
// this host, and the gateway that takes over would resume the token.

// revocation is a logout not yet recorded in the database.
type revocation struct {
	Hash    string // hex of the token's hash
	Expires time.Time
}

const revokedSpool = "revoked"

// revokeLocked drops a session from memory and refuses its token from
// now on; called with s.mu held.
func (s *Service) revokeLocked(h []byte, expires time.Time) {
	delete(s.sessions, string(h))
	s.revoked[string(h)] = expires
}

// isRevoked reports whether a token was logged out but the database may
// not know yet.
func (s *Service) isRevoked(h []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revoked[string(h)]
	return ok
}

// recordRevocation writes a logout to the database, or to the spool for
// later; it fails only when neither can take it.
func (s *Service) recordRevocation(ctx context.Context, h []byte, expires time.Time) error {
	if err := s.store.RevokeSession(ctx, h); err == nil {
		s.mu.Lock()
		delete(s.revoked, string(h))
		s.mu.Unlock()
		return nil
	} else if s.cfg.Spool == nil || s.cfg.SharedSessions {
		return gateway.Wrap(gateway.CodeDatabaseDown, err, "you are logged out here, but the gateway could not record it yet; it keeps trying")
	}
	s.revMu.Lock()
	defer s.revMu.Unlock()
	if err := s.cfg.Spool.Append(revokedSpool, revocation{Hash: hex.EncodeToString(h), Expires: expires}); err != nil {
		return gateway.Wrap(gateway.CodeDatabaseDown, err, "you are logged out here, but the gateway could not record it yet; it keeps trying")
	}
	s.log.Warn("core: logout recorded in the spool; the database will be told when it returns")
	return nil
}

// loadRevocations reads the logouts an earlier run could not record.
func (s *Service) loadRevocations() {
	if s.cfg.Spool == nil {
		return
	}
	err := s.cfg.Spool.Load(revokedSpool, func(line json.RawMessage) error {
		var r revocation
		if json.Unmarshal(line, &r) != nil {
			return nil
		}
		if h, err := hex.DecodeString(r.Hash); err == nil {
			s.revoked[string(h)] = r.Expires
		}
		return nil
	})
	if err != nil {
		s.log.Error("core: load revocations", "err", err)
	}
}

// retryRevocations records the logouts still pending, forgets those
// whose session has expired anyway, and rewrites the spool with the
// rest.
func (s *Service) retryRevocations(ctx context.Context, now time.Time) {
	s.mu.Lock()
	pending := make(map[string]time.Time, len(s.revoked))
	for h, exp := range s.revoked {
		pending[h] = exp
	}
	s.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	for h, exp := range pending {
		if now.Before(exp) && s.store.RevokeSession(ctx, []byte(h)) != nil {
			continue
		}
		s.mu.Lock()
		delete(s.revoked, h)
		s.mu.Unlock()
	}
	s.rewriteRevocations()
}

// rewriteRevocations makes the spool hold exactly the logouts still
// pending (a logout recorded meanwhile is in s.revoked before it is
// appended, so it is never lost from the file).
func (s *Service) rewriteRevocations() {
	if s.cfg.Spool == nil {
		return
	}
	s.revMu.Lock()
	defer s.revMu.Unlock()
	s.mu.Lock()
	left := make([]any, 0, len(s.revoked))
	for h, exp := range s.revoked {
		left = append(left, revocation{Hash: hex.EncodeToString([]byte(h)), Expires: exp})
	}
	s.mu.Unlock()
	if err := s.cfg.Spool.Remove(revokedSpool); err != nil {
		s.log.Error("core: rewrite revocations", "err", err)
		return
	}
	if err := s.cfg.Spool.Append(revokedSpool, left...); err != nil {
		s.log.Error("core: rewrite revocations", "err", err)
	}
}
