//go:build js && wasm

// Command wasm is the extension's core, built for GOOS=js and run in the
// service worker. It only bridges package client to JavaScript:
//
//	crmctiCore.start(settingsJSON, token)  start (or restart with new settings)
//	crmctiCore.intent(intentJSON)          what the agent asked for
//	crmctiCore.reconnect()                 the network came back / the worker woke
//	crmctiCore.view()                      the current view as JSON
//	crmctiCore.defaults()                  the default settings as JSON
//
// and calls back crmctiHost.view(json), crmctiHost.effect(json) and
// crmctiHost.saveToken(token). It never returns: a Go wasm program that
// exits can no longer be called.
package main

import (
	"context"
	"encoding/json"
	"syscall/js"

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
	js.Global().Get("crmctiHost").Call("saveToken", tok)
}

func main() {
	var core *client.Core
	var cancel context.CancelFunc
	host := func() js.Value { return js.Global().Get("crmctiHost") }
	api := map[string]any{
		"version": version,
		"start": js.FuncOf(func(this js.Value, args []js.Value) any {
			s := client.DefaultSettings()
			if len(args) > 0 && args[0].Type() == js.TypeString {
				_ = json.Unmarshal([]byte(args[0].String()), &s)
			}
			tok := ""
			if len(args) > 1 && args[1].Type() == js.TypeString {
				tok = args[1].String()
			}
			if core != nil {
				cancel()
				old := core
				go old.Close()
			}
			core = client.New(client.Config{Settings: s, Tokens: &tokens{tok: tok},
				OnView:   func(v client.View) { host().Call("view", string(client.MarshalView(v))) },
				OnEffect: func(e client.Effect) { b, _ := json.Marshal(e); host().Call("effect", string(b)) },
			})
			var ctx context.Context
			ctx, cancel = context.WithCancel(context.Background())
			go core.Run(ctx)
			return nil
		}),
		"intent": js.FuncOf(func(this js.Value, args []js.Value) any {
			if core == nil || len(args) == 0 {
				return nil
			}
			var in client.Intent
			if json.Unmarshal([]byte(args[0].String()), &in) == nil {
				core.Intent(in)
			}
			return nil
		}),
		"reconnect": js.FuncOf(func(this js.Value, args []js.Value) any {
			if core != nil {
				core.Reconnect()
			}
			return nil
		}),
		"view": js.FuncOf(func(this js.Value, args []js.Value) any {
			if core == nil {
				return "null"
			}
			return string(client.MarshalView(core.View()))
		}),
		"defaults": js.FuncOf(func(this js.Value, args []js.Value) any {
			b, _ := json.Marshal(client.DefaultSettings())
			return string(b)
		}),
	}
	js.Global().Set("crmctiCore", js.ValueOf(api))
	select {}
}
