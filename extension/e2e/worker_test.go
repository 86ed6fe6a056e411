package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
)

// stopWorkers stops the extension's service worker as Chrome does an idle
// one (after 30 s without events, which a logged-out agent's is).
func stopWorkers(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, serviceworker.StopAllWorkers, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// A panel open in the CRM page outlives its service worker: Chrome stops
// an idle worker, and the panel connects again, so that a login typed
// afterwards works and the next call rings in it.
func TestPanelOutlivesAStoppedWorker(t *testing.T) {
	r := newRig(t)
	page := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	until(t, panel, "core configured", `view && view.settings.gatewayUrl`)

	// Logged out, the worker is idle and Chrome stops it.
	stopWorkers(t, page)
	r.login(panel, "grace")
	until(t, panel, "logged in through the restarted worker", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)

	// Logged in, a stopped worker resumes the session by itself.
	stopWorkers(t, page)
	if _, err := r.sys.Sim.StartInbound("+35722123456", "1007"); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "the call rings in the same panel", `document.querySelector("#calls li.ringing") !== null`)
	do(t, panel, chromedp.Click(chromedp.CSS("#calls li.ringing button.primary")))
	until(t, panel, "accepted from it", `document.querySelector("#calls li.connected") !== null`)
	if d, _ := r.sys.Sim.Device("1007"); len(d.Calls) != 1 || d.Calls[0].State != "connected" {
		t.Fatalf("PBX after accept: %+v", d)
	}
}

// The policy as last read starts the core at once after a browser start
// (Chromium answers the first managed storage read seconds later); the
// fresh read wins as soon as it comes, so a remembered policy never
// outlives the admin's. Here the remembered one names a gateway the
// admin no longer sets (the fresh read has no policy).
func TestRememberedPolicyGivesWayToTheFreshRead(t *testing.T) {
	r := newRig(t)
	page := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	until(t, panel, "core configured", fmt.Sprintf(`view && view.settings.gatewayUrl === %q`, r.sys.URL()))
	await[bool](t, r.b.worker(), `chrome.storage.local.set({lastPolicy: {gatewayUrl: "wss://stale.invalid/cti"}}).then(() => true)`)

	stopWorkers(t, page)
	// The panel's reconnection starts the worker again.
	sw := r.b.workerWithin(15 * time.Second)
	until(t, sw, "the remembered policy replaced by the fresh read",
		`chrome.storage.local.get("lastPolicy").then((x) => x.lastPolicy && Object.keys(x.lastPolicy).length === 0)`)
	until(t, panel, "the fresh read's settings in effect",
		fmt.Sprintf(`view && view.settings.gatewayUrl === %q && !(view.settings.managedKeys || []).includes("gatewayUrl")`, r.sys.URL()))
	r.login(panel, "grace")
	until(t, panel, "logged in through the options' gateway", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
}
