package bench

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/csta"
	"crmcti/gateway/gatewaytest/wireclient"
	"crmcti/gateway/wire"
)

// relay is the floor: the same CSTA events, read from the switch and
// written to the agents' WebSockets with no gateway logic at all (no
// tracker, no rules, no database, no lookup). What the gateway adds on top
// of this is its own cost.
type relay struct {
	link    *csta.Conn
	srv     *http.Server
	url     string
	mu      sync.Mutex
	byXref  map[string]string      // monitor -> device
	clients map[string]chan []byte // device -> frames
	conns   map[string]*websocket.Conn
}

func startRelay(ctx context.Context, pbxAddr string, devices []string) (*relay, error) {
	r := &relay{byXref: map[string]string{}, clients: map[string]chan []byte{}, conns: map[string]*websocket.Conn{}}
	p, _ := csta.LookupProfile("openscape")
	link, err := csta.Dial(ctx, pbxAddr, csta.Config{Profile: p, OnEvent: r.onEvent, EventQueue: 1 << 16})
	if err != nil {
		return nil, err
	}
	r.link = link
	for _, d := range devices {
		m, err := csta.Call[*csta.MonitorStartResponse](ctx, link, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: csta.DeviceID(d)}})
		if err != nil {
			link.Close()
			return nil, err
		}
		r.mu.Lock()
		r.byXref[m.MonitorCrossRefID] = d
		r.mu.Unlock()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		link.Close()
		return nil, err
	}
	r.url = "ws://" + l.Addr().String() + "/ws"
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve)}
	go r.srv.Serve(l)
	return r, nil
}

// serve takes a client whose first frame names its device.
func (r *relay) serve(w http.ResponseWriter, req *http.Request) {
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	_, b, err := c.Read(req.Context())
	if err != nil {
		return
	}
	dev := string(b)
	ch := make(chan []byte, 256)
	r.mu.Lock()
	r.clients[dev] = ch
	r.conns[dev] = c
	r.mu.Unlock()
	ctx := context.Background()
	for f := range ch {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.Write(wctx, websocket.MessageText, f)
		cancel()
		if err != nil {
			return
		}
	}
}

func (r *relay) onEvent(ev csta.Event) {
	r.mu.Lock()
	dev := r.byXref[ev.CrossRefID()]
	ch := r.clients[dev]
	r.mu.Unlock()
	name, callID, ok := eventOf(ev, dev)
	if !ok || ch == nil {
		return
	}
	b, _ := wire.Encode(wire.TCallEvent, "", wire.CallEvent{Event: name, Call: wire.Call{ID: callID, Device: dev}})
	select {
	case ch <- b:
	default: // a floor that blocked would not be a floor
	}
}

func (r *relay) close() {
	r.link.Close()
	r.srv.Close()
	r.mu.Lock()
	for d, ch := range r.clients {
		close(ch)
		r.conns[d].CloseNow()
	}
	r.clients = map[string]chan []byte{}
	r.mu.Unlock()
}

// eventOf names a CSTA event as the agent's panel would see it, for the
// device dev (any device when dev is empty): the key that pairs a written
// event with a decoded one.
func eventOf(ev csta.Event, dev string) (name, callID string, ok bool) {
	is := func(d csta.DeviceID) bool { return dev == "" || string(d) == dev }
	switch e := ev.(type) {
	case *csta.DeliveredEvent:
		return "rang", e.Connection.CallID, is(e.AlertingDevice)
	case *csta.EstablishedEvent:
		return "answered", e.EstablishedConnection.CallID, true
	case *csta.HeldEvent:
		return "held", e.HeldConnection.CallID, is(e.HoldingDevice)
	case *csta.RetrievedEvent:
		return "retrieved", e.RetrievedConnection.CallID, is(e.RetrievingDevice)
	case *csta.ConnectionClearedEvent:
		return "ended", e.DroppedConnection.CallID, is(e.DroppedConnection.DeviceID)
	}
	return "", "", false
}

// relayAgent connects a floor client for one device, which it names in
// its first frame.
func relayAgent(ctx context.Context, url, ext string) (*agent, error) {
	c, err := wireclient.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := c.SendRaw(ctx, []byte(ext)); err != nil {
		c.Close()
		return nil, err
	}
	return &agent{ext: ext, Client: c}, nil
}
