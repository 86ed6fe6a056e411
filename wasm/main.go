//go:build js && wasm

// Command wasm is the extension's core, built for GOOS=js and run in the
// service worker. It only bridges package client to JavaScript:
//
//	crmctiCore.start(settingsJSON, token)  start (or restart with new settings)
//	crmctiCore.intent(intentJSON)          what the agent asked for
//	crmctiCore.reconnect()                 the network came back / the worker woke
//	crmctiCore.view()                      the current view as JSON
//	crmctiCore.defaults()                  the default settings as JSON
//	crmctiCore.validate(settingsJSON)      the settings' problems as JSON
//
// and calls back crmctiHost.view(json), crmctiHost.effect(json) and
// crmctiHost.saveToken(token). It never returns: a Go wasm program that
// exits can no longer be called, until the browser restarts. So no panic
// may reach the runtime: the core recovers its own (client.Core.Run), and
// every function JavaScript calls recovers, reports the fault to the
// panels and restarts the core, as tailscale's tsconnect bridge does.
package main

import (
	"context"
	"encoding/json"
	"syscall/js"
	"time"

	"crmcti/wasm/client"
)

// version is set at build time from manifest.json.
var version = "dev"

// tokens keeps the token in memory and mirrors it to
// chrome.storage.session through the host.
type tokens struct{ tok string }

func (t *tokens) Load() string { return t.tok }
func (t *tokens) Save(tok string) {
	t.tok = tok
	host().Call("saveToken", tok)
}

func host() js.Value { return js.Global().Get("crmctiHost") }

// bridge holds the running core. JavaScript calls into it one call at a
// time (the worker is single-threaded), so it needs no lock.
type bridge struct {
	core     *client.Core
	cancel   context.CancelFunc
	settings client.Settings
	tokens   *tokens
}

// start replaces the running core with one on these settings.
func (b *bridge) start(s client.Settings, tok string) {
	b.stop()
	b.settings = s
	if b.tokens == nil || tok != "" {
		b.tokens = &tokens{tok: tok}
	}
	b.core = client.New(client.Config{Settings: s, Tokens: b.tokens, Version: version,
		OnView:   func(v client.View) { host().Call("view", string(client.MarshalView(v))) },
		OnEffect: func(e client.Effect) { j, _ := json.Marshal(e); host().Call("effect", string(j)) },
	})
	var ctx context.Context
	ctx, b.cancel = context.WithCancel(context.Background())
	go b.core.Run(ctx)
}

func (b *bridge) stop() {
	if b.core == nil {
		return
	}
	b.cancel()
	go b.core.Close()
	b.core = nil
}

// fault reports a panic in a JavaScript call to the panels and restarts
// the core after a pause, with the settings and token it had.
func (b *bridge) fault(err error) {
	defer func() { _ = recover() }() // the host itself may be what throws
	b.stop()
	v := client.View{Connection: "offline", Fault: client.FaultMessage(err), Problems: []client.Problem{},
		Calls: []client.CallView{}, Recent: []client.RecentView{}, Settings: b.settings}
	host().Call("view", string(client.MarshalView(v)))
	time.AfterFunc(2*time.Second, func() {
		defer func() { _ = recover() }()
		if b.core == nil {
			b.start(b.settings, "")
		}
	})
}

// guard wraps a function JavaScript calls so that a panic in it is a
// reported fault, not the end of the module.
func (b *bridge) guard(f func(args []js.Value) any) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) (out any) {
		defer func() {
			if err := client.Recovered(recover()); err != nil {
				b.fault(err)
				out = nil
			}
		}()
		return f(args)
	})
}

func arg(args []js.Value, i int) string {
	if len(args) > i && args[i].Type() == js.TypeString {
		return args[i].String()
	}
	return ""
}

func main() {
	b := &bridge{}
	api := map[string]any{
		"version": version,
		"start": b.guard(func(args []js.Value) any {
			s := client.DefaultSettings()
			if j := arg(args, 0); j != "" {
				_ = json.Unmarshal([]byte(j), &s) // a field of the wrong type keeps its default; Problems reports the rest
			}
			b.start(s, arg(args, 1))
			return nil
		}),
		"intent": b.guard(func(args []js.Value) any {
			var in client.Intent
			if b.core != nil && json.Unmarshal([]byte(arg(args, 0)), &in) == nil {
				b.core.Intent(in)
			}
			return nil
		}),
		"reconnect": b.guard(func([]js.Value) any {
			if b.core != nil {
				b.core.Reconnect()
			}
			return nil
		}),
		"view": b.guard(func([]js.Value) any {
			if b.core == nil {
				return "null"
			}
			return string(client.MarshalView(b.core.View()))
		}),
		"defaults": b.guard(func([]js.Value) any {
			j, _ := json.Marshal(client.DefaultSettings())
			return string(j)
		}),
		"validate": b.guard(func(args []js.Value) any {
			s := client.DefaultSettings()
			problems := []client.Problem{}
			if err := json.Unmarshal([]byte(arg(args, 0)), &s); err != nil {
				problems = append(problems, client.Problem{Message: "The settings are not valid JSON: " + err.Error()})
			}
			problems = append(problems, s.Problems()...)
			j, _ := json.Marshal(problems)
			return string(j)
		}),
	}
	js.Global().Set("crmctiCore", js.ValueOf(api))
	select {}
}
