package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Found by trying the panel's reconnection from outside (a hostile page,
// the keyboard at 1024×600, clicks while the worker is down).

// Busy clicked while the worker is stopped is carried out once the
// restarted core has resumed the session, not dropped: the panel holds
// it while the core resumes.
func TestClickWhileTheWorkerIsDownIsCarriedOut(t *testing.T) {
	r := newRig(t)
	page := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "bob")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	stopWorkers(t, page)
	until(t, panel, "the port dropped", `!admitted`)
	do(t, panel, chromedp.Click(chromedp.CSS("#status-busy")))
	until(t, panel, "Busy shown once the session is back", `admitted && view.loggedIn && document.getElementById("status-busy").getAttribute("aria-checked") === "true"`)
	deadline := time.Now().Add(5 * time.Second)
	for d, _ := r.sys.Sim.Device("1002"); !d.DoNotDisturb; d, _ = r.sys.Sim.Device("1002") {
		if time.Now().After(deadline) {
			t.Fatalf("Busy clicked while the worker was down never reached the PBX: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The agent's screen and her keyboard focus stay while the restarted
// core resumes her session: no login form in between.
func TestFocusStaysWhileTheSessionResumes(t *testing.T) {
	r := newRig(t)
	page := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "bob")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	if !eval[bool](t, panel, `(document.getElementById("status-available").focus(), document.activeElement.id === "status-available")`) {
		t.Fatal("cannot focus Available")
	}
	eval[bool](t, panel, `(() => { window.loginShown = false; new MutationObserver(() => { if (!document.getElementById("login").hidden) loginShown = true; }).observe(document.body, {subtree: true, attributes: true}); return true; })()`)
	stopWorkers(t, page)
	until(t, panel, "the port dropped", `!admitted`)
	until(t, panel, "the session back", `admitted && view.loggedIn && view.connection === "online"`)
	if eval[bool](t, panel, `loginShown`) {
		t.Error("the login form showed while the session was resumed")
	}
	if id := eval[string](t, panel, `document.activeElement.id || document.activeElement.tagName`); id != "status-available" {
		t.Errorf("focus moved from Available to %s while the session was resumed", id)
	}
}

// A collapsed dock (a 56-pixel badge) opens to say the panel lost its
// extension, rather than cut the words.
func TestLostExtensionOpensTheCollapsedDock(t *testing.T) {
	r := newRig(t, "panelMode", "dock")
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	until(t, panel, "core configured", `view && view.settings.gatewayUrl`)
	do(t, panel, chromedp.Click(chromedp.CSS("#collapse")))
	until(t, panel, "collapsed", `document.body.classList.contains("collapsed") && innerWidth === 56`)
	opts := r.b.tab("chrome-extension://" + extensionID + "/extension/options.html")
	chromedp.Run(opts, chromedp.Evaluate[bool](`(chrome.runtime.reload(), true)`))
	until(t, panel, "the lost message, whole", `(() => { const p = document.getElementById("inert"); return p !== null && innerWidth > 56 && p.scrollWidth <= p.clientWidth && p.getAttribute("role") === "alert"; })()`)
}

// A frame of another tab that uses a tab's nonce first is refused and
// binds nothing: the tab's own panel is still admitted with it.
func TestForeignFrameDoesNotTakeTheNonce(t *testing.T) {
	r := newRig(t)
	pageA := r.b.tab(r.crm.URL + "/")
	r.b.panel()
	tabB := r.b.tab(crmAt(t, "127.0.0.1:0") + "/")
	r.b.panel()
	opts := r.b.tab("chrome-extension://" + extensionID + "/extension/options.html")
	// Registered as registerNonce does for tab A (the content script's
	// message cannot be sent from here): the nonce has leaked.
	await[int](t, opts, `(async () => { const [tab] = await chrome.tabs.query({url: "`+r.crm.URL+`/*"}); const {panelNonces: all = {}} = await chrome.storage.session.get("panelNonces");
	  all["leaked-0123456789abcdef"] = {tabId: tab.id, origin: "`+r.crm.URL+`"}; await chrome.storage.session.set({panelNonces: all}); return tab.id; })()`)
	frame := `(() => { const f = document.createElement("iframe"); f.src = "chrome-extension://` + extensionID + `/extension/panel.html?mode=section#leaked-0123456789abcdef"; document.body.append(f); return true; })()`
	eval[bool](t, tabB, frame)
	until(t, r.b.panel(), "tab B's frame refused", `document.getElementById("inert") !== null`)
	eval[bool](t, pageA, frame)
	until(t, r.b.panel(), "tab A's own frame admitted", `admitted && view !== null && document.getElementById("inert") === null`)
}
