//go:build js && wasm

// Command wasm is the extension's core, built for GOOS=js and run in the
// service worker. It stays thin: it publishes the core to JavaScript and
// blocks forever, because a Go wasm program that returns can no longer be
// called.
package main

import "syscall/js"

// version is set at build time from manifest.json.
var version = "dev"

func main() {
	js.Global().Set("crmctiCore", js.ValueOf(map[string]any{"version": version}))
	select {}
}
