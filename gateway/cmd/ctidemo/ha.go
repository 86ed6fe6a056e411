package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"crmcti/gateway/app"
)

// startPair starts the second gateway of make demo HA=1 on the same
// database (a standby while the first is active), prints both, and hands
// over on SIGUSR1: the active one stops cleanly (its lease released, the
// standby active within a quarter of a second) and starts again on its
// address as the new standby — what an admin sees in a failover.
func startPair(ctx context.Context, c config, first app.Config, active *app.App, running *stack) error {
	second := first
	second.Listen, second.Node = c.standbyAddr, "gw-b"
	standby, err := app.Start(ctx, second)
	if err != nil {
		return fmt.Errorf("second gateway: %w", err)
	}
	p := &pair{cfgs: [2]app.Config{first, second}, apps: [2]*app.App{active, standby}}
	running.push(p.close)
	fmt.Printf("gateway-a: %s (node gw-a, active; readiness http://%s/readyz)\n", active.URL, active.Addr)
	fmt.Printf("gateway-b: %s (node gw-b, standby; readiness http://%s/readyz)\n", standby.URL, standby.Addr)
	fmt.Printf("ha: policy gatewayUrls [%q, %q]; hand over with: kill -USR1 %d\n", active.URL, standby.URL, os.Getpid())
	go p.handOverOnSignal(ctx)
	return nil
}

// pair is the demo's two gateways; a hand-over restarts one in place.
type pair struct {
	mu   sync.Mutex
	cfgs [2]app.Config
	apps [2]*app.App
}

func (p *pair) handOverOnSignal(ctx context.Context) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			if err := p.handOver(ctx); err != nil {
				fmt.Println("ha: hand-over:", err)
			}
		}
	}
}

// handOver stops the active gateway and starts it again as the standby.
func (p *pair) handOver(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	if !p.ready(0) {
		i = 1
	}
	fmt.Printf("ha: stopping the active %s; the standby takes over\n", p.cfgs[i].Node)
	p.apps[i].Close()
	a, err := app.Start(ctx, p.cfgs[i])
	if err != nil {
		return err
	}
	p.apps[i] = a
	fmt.Printf("ha: %s is back as the standby (%s)\n", p.cfgs[i].Node, a.URL)
	return nil
}

// ready reports whether gateway i is the active one with its link up.
func (p *pair) ready(i int) bool {
	st := p.apps[i].Service.Ready(context.Background())
	return st["pbx"] == nil
}

func (p *pair) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.apps[1:] {
		a.Close()
	}
	// apps[0] may be a restarted first gateway: the one pushed by run is
	// the original, whose Close is safe twice.
	p.apps[0].Close()
}
