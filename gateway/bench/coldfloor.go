package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// floorWorker loads floor.wasm the way extension/background.js loads
// core.wasm (compiled while it downloads, from the worker's first
// statement), and says when Go runs as the extension's worker does.
const floorWorker = `"use strict";
const floorModule = WebAssembly.compileStreaming(fetch(chrome.runtime.getURL("floor.wasm")));
importScripts("wasm_exec.js");
globalThis.crmctiFloorRuns = () => { globalThis.crmctiColdStartMs = performance.now(); };
floorModule.then(async (module) => {
  const go = new Go();
  go.run(await WebAssembly.instantiate(module, go.importObject));
});
`

const floorManifest = `{"manifest_version": 3, "name": "CRM CTI cold start floor", "version": "1",
 "background": {"service_worker": "background.js"},
 "content_security_policy": {"extension_pages": "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'"}}`

// ColdFloor is the cold start of the smallest standard-Go wasm program
// (gateway/bench/coldfloor) in the same browser: a floor for the
// extension's cold start, as the bare relay is for the event latency.
type ColdFloor struct {
	WasmBytes int64     `json:"wasmBytes"`
	Starts    []float64 `json:"startsMs"`
}

// MeasureColdFloor builds the floor program with the go command and times
// its service worker's cold start over starts browser starts on one
// profile, as MeasureExtension does for the extension.
func MeasureColdFloor(ctx context.Context, starts int) (ColdFloor, error) {
	var f ColdFloor
	bin, err := exec.LookPath("chromium")
	if err != nil {
		return f, errors.New("chromium not found: apt-get install -y chromium")
	}
	dir, err := os.MkdirTemp("", "crmcti-bench-floor-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(dir)
	if f.WasmBytes, err = buildFloor(ctx, dir); err != nil {
		return f, err
	}
	profile := filepath.Join(dir, "profile")
	for range starts {
		bctx, stop, err := launch(ctx, bin, dir, profile)
		if err != nil {
			return f, err
		}
		ms, err := coldStart(bctx)
		stop()
		if err != nil {
			return f, fmt.Errorf("floor cold start: %w", err)
		}
		f.Starts = append(f.Starts, ms)
	}
	return f, nil
}

// buildFloor writes the floor extension into dir: its worker, manifest,
// Go's wasm_exec.js and floor.wasm built as the Makefile builds core.wasm.
func buildFloor(ctx context.Context, dir string) (int64, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return 0, errors.New("the go command is needed to build the cold start floor")
	}
	wasm := filepath.Join(dir, "floor.wasm")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", wasm, "crmcti/gateway/bench/coldfloor")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build the cold start floor: %v: %s", err, out)
	}
	root, err := exec.CommandContext(ctx, goBin, "env", "GOROOT").Output()
	if err != nil {
		return 0, fmt.Errorf("go env GOROOT: %w", err)
	}
	glue, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return 0, err
	}
	for name, b := range map[string][]byte{"wasm_exec.js": glue, "background.js": []byte(floorWorker), "manifest.json": []byte(floorManifest)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return 0, err
		}
	}
	st, err := os.Stat(wasm)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
