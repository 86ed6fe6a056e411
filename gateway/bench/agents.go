package bench

import (
	"context"
	"time"

	"crmcti/gateway/gatewaytest/wireclient"
	"crmcti/gateway/wire"
)

// agent is one simulated agent's browser: a wire-protocol client that
// reacts to its calls as a person would, after a pause.
type agent struct {
	user, ext string
	*wireclient.Client
}

func (a *agent) send(ctx context.Context, typ string, data any) error {
	_, err := a.Send(ctx, typ, data)
	return err
}

// dialAgent connects and logs in; it returns the login latency (login
// sent to snapshot decoded).
func dialAgent(ctx context.Context, url, user, password, ext string) (*agent, time.Duration, error) {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := wireclient.Dial(dctx, url)
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

// callEvent is what a client decoded, when.
type callEvent struct {
	device, callID, event string
	at                    time.Time
}

// watchCalls hands call events to on, stamped the moment they were
// decoded, until the connection ends.
func (a *agent) watchCalls(on func(callEvent)) {
	a.Watch(func(env wire.Envelope, at time.Time) {
		if env.Type != wire.TCallEvent {
			return
		}
		var ce wire.CallEvent
		if wire.DecodeData(env, &ce) != nil {
			return
		}
		on(callEvent{device: a.ext, callID: ce.Call.ID, event: ce.Event, at: at})
	})
}

// hangUp drops the connection and waits until nothing more is read.
func (a *agent) hangUp() {
	a.Close()
	<-a.Done()
}
