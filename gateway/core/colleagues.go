package core

import (
	"context"
	"sync"
	"time"

	"crmcti/gateway"
)

// colleagueTTL is how long a colleague's name (or that an extension has
// no one) is kept: directory changes show within minutes, and a busy
// call centre does not search the directory on every internal call.
const colleagueTTL = 5 * time.Minute

// colleagueCache holds colleagues' names by extension. Its zero value is
// ready; it has its own lock, never held while asking the directory.
type colleagueCache struct {
	mu sync.Mutex
	m  map[string]colleagueEntry
}

type colleagueEntry struct {
	name  string
	until time.Time
}

func (cc *colleagueCache) get(ext string, now time.Time) (string, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[ext]
	if !ok || now.After(e.until) {
		return "", false
	}
	return e.name, true
}

func (cc *colleagueCache) put(ext, name string, now time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = map[string]colleagueEntry{}
	}
	for k, e := range cc.m { // the cache holds only live entries
		if now.After(e.until) {
			delete(cc.m, k)
		}
	}
	cc.m[ext] = colleagueEntry{name: name, until: now.Add(colleagueTTL)}
}

// colleagueName is the name of the agent whose extension ext is, or ""
// (not an extension, no one has it, or the directory cannot say now; a
// failure is not cached).
func (s *Service) colleagueName(ctx context.Context, ext string) string {
	people, ok := s.dir.(gateway.Colleagues)
	if !ok || !gateway.IsExtension(ext) {
		return ""
	}
	now := time.Now()
	if name, ok := s.colleagues.get(ext, now); ok {
		return name
	}
	name, err := s.findColleague(ctx, people, ext)
	if err != nil {
		s.log.Warn("core: colleague lookup", "extension", ext, "err", err)
		return ""
	}
	s.colleagues.put(ext, name, now)
	return name
}

// findColleague asks the database and the directory who has extension
// ext: an admin's override first (it is what the gateway monitors), then
// the directory's extension attribute, skipping anyone an admin moved to
// another extension.
func (s *Service) findColleague(ctx context.Context, people gateway.Colleagues, ext string) (string, error) {
	names, err := s.store.UsernamesByExtension(ctx, ext)
	if err != nil {
		return "", err
	}
	for _, u := range names {
		a, err := people.AgentByUsername(ctx, u)
		if err == nil {
			return a.DisplayName, nil
		}
	}
	found, err := people.AgentsByExtension(ctx, ext)
	if err != nil {
		return "", err
	}
	for _, a := range found {
		o, err := s.store.AgentOverride(ctx, a.Username)
		if err != nil {
			return "", err
		}
		if o.Extension == "" || o.Extension == ext {
			return a.DisplayName, nil
		}
	}
	return "", nil
}

// nameColleague sets the colleague's name on a live call whose far end
// is an extension, and tells the agent's tabs.
func (s *Service) nameColleague(device, callID, ext string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	name := s.colleagueName(ctx, ext)
	if name == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, lc := s.liveCallLocked(device, callID)
	if lc == nil || lc.Remote != ext || lc.RemoteName == name {
		return
	}
	lc.RemoteName = name
	s.broadcastCallLocked(st, EventIdentified, lc)
}
