package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/gatewaytest/wireclient"
	"crmcti/gateway/pbxsim"
	"crmcti/gateway/wire"
)

// faults is the suite, in the order it runs. The poison row runs last:
// today it can wedge the call-log writer for good, which would show as
// losses in every fault after it.
var faults = []fault{
	{name: "pbx-link-drop", how: "pbxsim closes every CSTA link", hold: holdShort, inject: switchFault(pbxsim.FaultDropLink)},
	{name: "pbx-stall", how: "pbxsim stall: TCP open, no bytes, requests swallowed", hold: holdStall, inject: stallSwitch},
	{name: "malformed-frame", how: "pbxsim writes a frame with a broken header", hold: holdShort, inject: switchFault(pbxsim.FaultMalformedFrame)},
	{name: "agents-network-cut", how: "the relay between agents and gateway closes every socket and refuses new ones", hold: holdFault, inject: cutAgents},
	{name: "slapd-stopped", how: "slapd SIGTERM, started again after the hold", hold: holdFault, inject: stopSlapd},
	{name: "postgres-stopped", how: "devstack Postgres Stop, Start after the hold", hold: holdPostgres, inject: stopPostgres},
	{name: "gateway-sigkill", how: "SIGKILL, restarted at once on the same address", hold: holdShort, inject: killGateway},
	{name: "postgres-down-restart", how: "PostgreSQL stopped; at the end of the hold the gateway is stopped (SIGTERM) while it is still down, then both started", hold: holdPostgres, inject: stopPostgresAndGateway},
	{name: "login-flood", how: "wrong-password logins from another address, 16 sockets at once", hold: holdShort, inject: floodLogins},
	{name: "idle-sockets", how: "unauthenticated WebSockets from another address, held open", hold: holdFault, inject: idleSockets},
	{name: "poison-row", how: "an agent dials with contact \"C0\\u0000\"", hold: holdShort, inject: poisonRow},
}

func holdFault(c FaultConfig) time.Duration { return c.Hold }

// holdStall is a stall's hold: longer than the silence the gateway takes
// for a stall (csta.Config.StallAfter, 3 s), or it is only a slow switch.
func holdStall(c FaultConfig) time.Duration { return max(c.Hold, 4*time.Second) }

func holdPostgres(c FaultConfig) time.Duration { return c.PostgresFor }

// holdShort is for faults that are a single act: the load runs on for a
// moment before recovery is timed.
func holdShort(FaultConfig) time.Duration { return 200 * time.Millisecond }

func switchFault(kind string) func(context.Context, *rig, *FaultResult) (func() error, error) {
	return func(_ context.Context, r *rig, _ *FaultResult) (func() error, error) {
		return nil, r.sim.InjectFault(kind, 0)
	}
}

func stallSwitch(ctx context.Context, r *rig, _ *FaultResult) (func() error, error) {
	base := r.stallResyncs()
	if err := r.sim.InjectFault(pbxsim.FaultStall, 0); err != nil {
		return nil, err
	}
	go r.watchStallResync(ctx, base)
	return func() error { return r.sim.InjectFault(pbxsim.FaultClear, 0) }, nil
}

// watchStallResync signals the gateway's resynchronisation after a stall
// shorter than its liveness window (the link never goes down, so nothing
// else shows that it noticed): crmcti_pbx_resyncs_total{reason="stall"}
// rising above base, read from /metrics (served to loopback).
func (r *rig) watchStallResync(ctx context.Context, base float64) {
	for deadline := time.Now().Add(r.cfg.Hold + 15*time.Second); time.Now().Before(deadline); {
		if r.stallResyncs() > base {
			r.signal(time.Now(), "the gateway resynchronised after the stall")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stallResyncs reads the gateway's count of resynchronisations after a
// stall (0 when /metrics does not answer).
func (r *rig) stallResyncs() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+r.gwAddr+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	const name = `crmcti_pbx_resyncs_total{reason="stall"} `
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return n
		}
	}
	return 0
}

func cutAgents(_ context.Context, r *rig, _ *FaultResult) (func() error, error) {
	r.net.cut()
	return func() error { r.net.restore(); return nil }, nil
}

func stopPostgres(ctx context.Context, r *rig, _ *FaultResult) (func() error, error) {
	if err := r.pg.Stop(); err != nil {
		return nil, err
	}
	return func() error { return r.pg.Start(ctx) }, nil
}

// stopPostgresAndGateway is a database outage with a gateway restart in
// it: the call-log steps buffered while the database is down must
// survive the stop. The gateway is stopped gracefully at the end of the
// hold, the database started, then the gateway (its readiness needs the
// database).
func stopPostgresAndGateway(ctx context.Context, r *rig, _ *FaultResult) (func() error, error) {
	if err := r.pg.Stop(); err != nil {
		return nil, err
	}
	return func() error {
		r.gateway().stop()
		if err := r.pg.Start(ctx); err != nil {
			return err
		}
		return r.startGateway(ctx)
	}, nil
}

func killGateway(ctx context.Context, r *rig, res *FaultResult) (func() error, error) {
	gw := r.gateway()
	if err := gw.cmd.Process.Kill(); err != nil {
		return nil, err
	}
	gw.cmd.Wait()
	r.signal(time.Now(), "the gateway exited")
	if err := r.startGateway(ctx); err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	return nil, nil
}

// restarted is slapd as the suite started it again after stopping the
// devstack's: the same command line, so the same data and port.
type restarted struct {
	mu  sync.Mutex
	cmd *exec.Cmd
}

func (s *restarted) stop() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
		s.cmd = nil
	}
}

// stopSlapd stops the directory server for the hold and starts it again
// with the same command line. The devstack does not expose a Stop for
// slapd, so the suite finds it by its listen URL.
func stopSlapd(ctx context.Context, r *rig, _ *FaultResult) (func() error, error) {
	pid, argv, err := findProcess("slapd", r.ldap.URL())
	if err != nil {
		return nil, err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil, err
	}
	for i := 0; i < 100 && processAlive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	return func() error { return r.restartSlapd(ctx, argv) }, nil
}

func (r *rig) restartSlapd(ctx context.Context, argv []string) error {
	if r.slapd == nil {
		r.slapd = &restarted{}
	}
	r.slapd.stop()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.slapd.mu.Lock()
	r.slapd.cmd = cmd
	r.slapd.mu.Unlock()
	addr := strings.TrimPrefix(r.ldap.URL(), "ldap://")
	for limit := time.Now().Add(10 * time.Second); time.Now().Before(limit); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return errors.New("slapd did not listen again")
}

// findProcess is the process named name whose command line holds arg.
func findProcess(name, arg string) (int, []string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, []byte(arg)) {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if strings.HasSuffix(argv[0], name) {
			return pid, argv, nil
		}
	}
	return 0, nil, fmt.Errorf("no %s process with %s", name, arg)
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// dialFrom opens a WebSocket to the gateway from a source address of its
// own, as a stranger on another host would.
func dialFrom(ctx context.Context, r *rig, src string) (*websocket.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	c, _, err := websocket.Dial(ctx, "ws://"+r.gwAddr+"/ws", &websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{wire.Subprotocol}})
	return c, err
}

// floodLogins sends wrong-password logins from 127.0.0.2, for the spare
// victim account and for accounts that do not exist. Detected when the
// gateway starts answering with something other than its first refusal
// (a limit). Recovery also needs the untouched spare account to log in,
// from the agents' address and from the flood's (a colleague behind the
// same NAT).
func floodLogins(ctx context.Context, r *rig, res *FaultResult) (func() error, error) {
	codes := map[string]int{}
	var mu sync.Mutex
	var first string
	var wg sync.WaitGroup
	per := max(1, r.cfg.Logins/16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				user := r.userName(r.cfg.Agents + spareVictim)
				if i%2 == 1 {
					user = fmt.Sprintf("nobody%d", w)
				}
				code := attemptLogin(ctx, r, "127.0.0.2", user, "wrong")
				mu.Lock()
				codes[code]++
				if first == "" {
					first = code
				} else if code != first {
					r.signal(time.Now(), "a login limit ("+code+")")
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Notes = append(res.Notes, fmt.Sprintf("refusals by code: %v", codes))
	return func() error { return r.probeLogins(ctx, res) }, nil
}

// probeLogins logs the untouched spare account in from both addresses,
// retrying for 15 s; recovery waits on it.
func (r *rig) probeLogins(ctx context.Context, res *FaultResult) error {
	user := r.userName(r.cfg.Agents + spareProbe)
	for _, src := range []string{"127.0.0.1", "127.0.0.2"} {
		var code string
		for limit := time.Now().Add(15 * time.Second); time.Now().Before(limit); time.Sleep(500 * time.Millisecond) {
			if code = attemptLogin(ctx, r, src, user, "bench"); code == "" {
				break
			}
		}
		if code != "" {
			return fmt.Errorf("%s could not log in from %s for 15 s after the flood: %s", user, src, code)
		}
	}
	return nil
}

// attemptLogin logs in once on a new socket from src: "" on success,
// else the error code.
func attemptLogin(ctx context.Context, r *rig, src, user, pass string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := dialFrom(ctx, r, src)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.CloseNow()
	b, _ := wire.Encode(wire.TLogin, "1", wire.Login{Username: user, Password: pass})
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		return "write: " + err.Error()
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return "closed: " + websocket.CloseStatus(err).String()
		}
		env, err := wire.Decode(data)
		if err != nil || env.ID != "1" {
			continue
		}
		if env.Type == wire.TError {
			var we wire.Error
			_ = wire.DecodeData(env, &we)
			return we.Code
		}
		return ""
	}
}

// idleSockets opens unauthenticated sockets from 127.0.0.3 and holds
// them; detected when the gateway refuses or closes one.
func idleSockets(ctx context.Context, r *rig, res *FaultResult) (func() error, error) {
	var conns []*websocket.Conn
	refused, closed := 0, 0
	closing := false // the suite itself closes them after the hold
	var mu sync.Mutex
	for range r.cfg.IdleSockets {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := dialFrom(dctx, r, "127.0.0.3")
		cancel()
		if err != nil {
			refused++
			r.signal(time.Now(), "an idle socket refused")
			continue
		}
		conns = append(conns, c)
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					mu.Lock()
					byGateway := !closing
					if byGateway {
						closed++
					}
					mu.Unlock()
					if byGateway {
						r.signal(time.Now(), "an idle socket closed by the gateway")
					}
					return
				}
			}
		}()
	}
	rss, _ := procRSS(r.gateway().pid)
	return func() error {
		mu.Lock()
		res.Notes = append(res.Notes, fmt.Sprintf("%d sockets opened, %d refused, %d closed by the gateway during the hold; RSS with them open %s",
			len(conns), refused, closed, mib(rss)))
		closing = true
		mu.Unlock()
		for _, c := range conns {
			c.CloseNow()
		}
		return nil
	}, nil
}

// poisonRow has the spare poison agent dial a customer's number with a
// contact code holding a NUL. A refusal at the boundary is the
// detection; the call-log rows of the calls after it show whether one
// bad row blocks the others.
func poisonRow(ctx context.Context, r *rig, res *FaultResult) (func() error, error) {
	user := r.userName(r.cfg.Agents + sparePoison)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := wireclient.Dial(dctx, "ws://"+r.gwAddr+"/ws")
	if err != nil {
		return nil, err
	}
	if _, _, err := cl.Login(dctx, user, "bench", 10*time.Second); err != nil {
		cl.Close()
		return nil, err
	}
	id, err := cl.Send(dctx, wire.TCall, wire.CallRequest{Number: "+35799000001", Contact: "C0\x00"})
	if err != nil {
		cl.Close()
		return nil, err
	}
	_, werr, err := cl.Reply(id, 10*time.Second)
	switch {
	case err != nil:
		res.Notes = append(res.Notes, "poison call: no answer: "+err.Error())
	case werr != nil:
		r.signal(time.Now(), "the poison refused")
		res.Notes = append(res.Notes, "poison call refused: "+werr.Code)
	default:
		res.Notes = append(res.Notes, "poison call accepted")
	}
	return func() error {
		r.hangUpDevice(fmt.Sprint(firstExtension + r.cfg.Agents + sparePoison))
		cl.Close()
		return nil
	}, nil
}

// hangUpDevice ends every call of dev on the switch.
func (r *rig) hangUpDevice(dev string) {
	for _, c := range r.sim.Calls() {
		for _, cn := range c.Connections {
			if cn.Device == dev {
				_ = r.sim.Hangup(c.CallID, dev)
			}
		}
	}
}
