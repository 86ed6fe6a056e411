package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"crmcti/gateway/gatewaytest/wireclient"
	"crmcti/gateway/wire"
)

// LoadRun is one load run: the same load through the gateway and through the
// floor's bare relay.
type LoadRun struct {
	Gateway Phase `json:"gateway"`
	Floor   Phase `json:"floor"`
}

// Storm is the login storm: every agent logging in at once, as at the
// start of a call centre's morning shift.
type Storm struct {
	Agents  int     `json:"agents"`
	AtOnce  int     `json:"atOnce"`
	Latency Summary `json:"latency"` // connect + login, per agent
	Seconds float64 `json:"seconds"` // first connect to last snapshot
	// PhoneReady is from connect until the agent's phone is monitored,
	// per agent, and PhonesSeconds from the first connect until the last
	// one is: the switch's request rate bounds these, not the gateway.
	PhoneReady    Summary  `json:"phoneReady"`
	PhonesSeconds float64  `json:"phonesSeconds"`
	PerSec        float64  `json:"loginsPerSecond"`
	Refused       int      `json:"refused"`  // answered with an error (or the socket refused)
	TimedOut      int      `json:"timedOut"` // no answer in time
	Errors        []string `json:"errors,omitempty"`
	// CPU is the CPU time each side spent per login during the storm:
	// on two shared cores, what bounds the rate.
	CPU StormCPU `json:"cpuMsPerLogin"`
}

// StormCPU is CPU time in milliseconds (per login, once minus is done).
type StormCPU struct {
	Gateway   float64 `json:"gateway"`
	Directory float64 `json:"directory"`
	Database  float64 `json:"database"`
	Bench     float64 `json:"bench"` // this process: the simulated browsers and the PBX
}

func stormCPU(env *environment, gwPid int) StormCPU {
	gw, _ := procCPU(gwPid)
	self, _ := procCPU(os.Getpid())
	return StormCPU{Gateway: 1000 * gw, Directory: 1000 * groupCPU(env.ldapGroup), Database: 1000 * groupCPU(env.pgGroup), Bench: 1000 * self}
}

// minus is the CPU spent since before, per login of n.
func (c StormCPU) minus(before StormCPU, n int) StormCPU {
	k := float64(max(n, 1))
	return StormCPU{Gateway: (c.Gateway - before.Gateway) / k, Directory: (c.Directory - before.Directory) / k,
		Database: (c.Database - before.Database) / k, Bench: (c.Bench - before.Bench) / k}
}

// stormFrom is the loopback address agent i's browser connects from: each
// agent on a machine of her own, as in a call centre, rather than ten
// thousand browsers behind one address (which the gateway's cap on
// connections not yet logged in per address is there to stop).
func stormFrom(i int) string {
	return fmt.Sprintf("127.1.%d.%d", i/250, i%250+1)
}

// loginStorm logs every agent in, StormWidth at a time (all at once by
// default), and records the storm; an agent whose login failed is logged
// in again afterwards, one at a time, so that the load runs have them all.
func (cfg *Config) loginStorm(ctx context.Context, url string, rep *Report) ([]*agent, error) {
	n := cfg.Agents
	agents := make([]*agent, n)
	lat := make([]time.Duration, 0, n)
	ready := make([]time.Duration, 0, n)
	st := Storm{Agents: n, AtOnce: cfg.StormWidth}
	var mu sync.Mutex
	sem := make(chan struct{}, cfg.StormWidth)
	var wg, answered sync.WaitGroup
	var lastAnswer, lastPhone time.Time
	start := time.Now()
	for i := range n {
		wg.Add(1)
		answered.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			t0 := time.Now()
			a, snap, err := stormLogin(ctx, url, fmt.Sprintf("agent%05d", i), fmt.Sprint(firstExtension+i), stormFrom(i))
			now := time.Now()
			<-sem // the next login starts; this agent's phone is awaited outside the width
			mu.Lock()
			if err != nil {
				st.count(err)
			} else {
				lat = append(lat, now.Sub(t0))
				lastAnswer = now
			}
			mu.Unlock()
			answered.Done()
			if err != nil {
				return
			}
			if err := a.AwaitPhone(snap, 60*time.Second); err != nil {
				a.hangUp()
				mu.Lock()
				st.count(err)
				mu.Unlock()
				return
			}
			now = time.Now()
			mu.Lock()
			agents[i] = a
			ready = append(ready, now.Sub(t0))
			if now.After(lastPhone) {
				lastPhone = now
			}
			mu.Unlock()
		}()
	}
	answered.Wait()
	wg.Wait()
	st.Seconds = lastAnswer.Sub(start).Seconds()
	st.Latency = summarize(lat)
	st.PerSec = float64(len(lat)) / st.Seconds
	st.PhoneReady = summarize(ready)
	st.PhonesSeconds = lastPhone.Sub(start).Seconds()
	rep.Storm = st
	return agents, cfg.loginMissing(ctx, url, agents)
}

// stormLogin connects and logs in, returning when the login is answered
// (the agent's phone may still be connecting).
func stormLogin(ctx context.Context, url, user, ext, from string) (*agent, wire.Snapshot, error) {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := wireclient.DialFrom(dctx, url, from)
	if err != nil {
		return nil, wire.Snapshot{}, err
	}
	_, snap, err := c.LoginAnswered(dctx, user, "bench", 20*time.Second)
	if err != nil {
		c.Close()
		return nil, snap, err
	}
	return &agent{user: user, ext: ext, Client: c}, snap, nil
}

// count files a failed login as refused or timed out.
func (st *Storm) count(err error) {
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), "login_timeout") {
		st.TimedOut++
	} else {
		st.Refused++
	}
	if len(st.Errors) < 5 {
		st.Errors = append(st.Errors, err.Error())
	}
}

// loginMissing logs in, one at a time, the agents the storm failed.
func (cfg *Config) loginMissing(ctx context.Context, url string, agents []*agent) error {
	for i, a := range agents {
		if a != nil {
			continue
		}
		a, _, err := dialAgentFrom(ctx, url, fmt.Sprintf("agent%05d", i), "bench", fmt.Sprint(firstExtension+i), stormFrom(i))
		if err != nil {
			hangUpAll(agents)
			return fmt.Errorf("login after the storm: %w", err)
		}
		agents[i] = a
	}
	return nil
}

// dialAgentFrom is dialAgent from a local address.
func dialAgentFrom(ctx context.Context, url, user, password, ext, from string) (*agent, time.Duration, error) {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := wireclient.DialFrom(dctx, url, from)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if _, _, err := c.Login(dctx, user, password, 20*time.Second); err != nil {
		c.Close()
		return nil, 0, err
	}
	return &agent{user: user, ext: ext, Client: c}, time.Since(start), nil
}

func hangUpAll(agents []*agent) {
	for _, a := range agents {
		if a != nil {
			a.hangUp()
		}
	}
}

// freeAddr is a loopback address nobody listens on, for the gateway's
// profiler.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// saveProfile fetches /debug/pprof/<what> from the gateway into
// ProfileDir/name and notes its path in saved; a profile that cannot be
// had is reported, and the run goes on.
func (cfg *Config) saveProfile(ctx context.Context, addr, what, name string, saved *[]string) {
	if cfg.ProfileDir == "" {
		return
	}
	path := filepath.Join(cfg.ProfileDir, name)
	if err := fetchTo(ctx, "http://"+addr+"/debug/pprof/"+what, path); err != nil {
		cfg.say("profile %s: %v", name, err)
		return
	}
	*saved = append(*saved, path)
}

func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// saveGoroutines reads, with every agent idle, the gateway's goroutines
// (the first line of /debug/pprof/goroutine?debug=1) and its heap and
// stacks in use (runtime.MemStats, at the end of heap?debug=1).
func (cfg *Config) saveGoroutines(ctx context.Context, addr string, rep *Report) {
	if b, err := fetchText(ctx, "http://"+addr+"/debug/pprof/goroutine?debug=1"); err == nil {
		fmt.Sscanf(b, "goroutine profile: total %d", &rep.IdleGoroutines)
	}
	b, err := fetchText(ctx, "http://"+addr+"/debug/pprof/heap?debug=1")
	if err != nil {
		return
	}
	for _, line := range strings.Split(b, "\n") {
		fmt.Sscanf(line, "# HeapInuse = %d", &rep.IdleHeapInuseBytes)
		fmt.Sscanf(line, "# Stack = %d", &rep.IdleStackInuseBytes)
	}
}

func fetchText(ctx context.Context, url string) (string, error) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("crmcti-bench-%d.txt", os.Getpid()))
	defer os.Remove(path)
	if err := fetchTo(ctx, url, path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	return string(b), err
}

// profiledRun drives the load once more, not counted, while the gateway's
// CPU and allocations are profiled: the profiler's own cost stays out of
// the measured runs.
func (cfg *Config) profiledRun(ctx context.Context, env *environment, agents []*agent, pid int, addr string, rep *Report) error {
	if cfg.ProfileDir == "" {
		return nil
	}
	c := *cfg
	c.Duration = min(cfg.Duration, 30*time.Second)
	secs := max(int(c.Duration.Seconds())-2, 1)
	cfg.say("profiling the gateway under the same load for %s (not counted)", c.Duration)
	var wg sync.WaitGroup
	var cpu, allocs []string
	wg.Add(2)
	go func() {
		defer wg.Done()
		cfg.saveProfile(ctx, addr, fmt.Sprintf("profile?seconds=%d", secs), "gateway-load-cpu.pb.gz", &cpu)
	}()
	go func() {
		defer wg.Done()
		cfg.saveProfile(ctx, addr, fmt.Sprintf("allocs?seconds=%d", secs), "gateway-load-allocs.pb.gz", &allocs)
	}()
	env.written.reset()
	_, err := drive(ctx, c, env.sim, env.written, agents, gatewayActions, pid)
	wg.Wait()
	rep.Profiles = append(append(rep.Profiles, cpu...), allocs...)
	return err
}
