//go:build js && wasm

// Command coldfloor is the smallest Go program a service worker can run
// with standard Go's wasm port: it tells the worker it runs, and waits.
// ctibench times its cold start beside the extension's (MeasureColdFloor)
// so that the report shows what no change to the core can go below on
// the machine and browser at hand.
package main

import "syscall/js"

func main() {
	js.Global().Call("crmctiFloorRuns")
	select {}
}
