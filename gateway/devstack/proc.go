package devstack

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// process is one server we started as a child. Servers run in their own
// process group so that a Ctrl-C on the terminal reaches only our command,
// which then stops them in order; the parent-death signal covers the case
// where we are killed outright.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func startProcess(name, logPath string, cred *syscall.Credential, deathSig syscall.Signal, bin string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devstack: %s: open log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr(cred, deathSig)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("devstack: %s: start: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, for start-up polling.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits; after grace it kills the whole group.
func (p *process) stop(sig syscall.Signal, grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("devstack: %s: did not stop within %s, killed", p.name, grace)
}

// logTail returns the end of the server's log, to put the real reason in a
// start-up error instead of "timed out".
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// waitReady polls ready until it succeeds, the process dies, or ctx ends.
func (p *process) waitReady(ctx context.Context, ready func(context.Context) error) error {
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("devstack: %s exited during start-up (%v); log:\n%s", p.name, p.err, p.logTail())
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(attempt)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devstack: %s not ready: %w (last error: %v); log:\n%s", p.name, ctx.Err(), last, p.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the server binds; callers retry start-up on that error.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lookBin finds a server binary among candidates and otherwise says exactly
// what to install: a missing server must fail loudly, never skip a test.
func lookBin(pkg string, candidates ...string) (string, error) {
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("devstack: %s not found; install it with: apt-get update && apt-get install -y %s (or run: make deps)", candidates[0], pkg)
}

func itoa(i int) string { return strconv.Itoa(i) }

// processGroup is the server's process group (its own pid), 0 when not
// running: the benchmark sums the group's CPU time (PostgreSQL's backends
// are processes of their own).
func (p *process) processGroup() int {
	if p == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
