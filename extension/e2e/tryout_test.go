package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tabTo presses Tab until the element matching sel has the focus, as a
// keyboard user reaches a control.
func tabTo(t *testing.T, panel context.Context, sel string) {
	t.Helper()
	is := fmt.Sprintf(`document.activeElement !== null && document.activeElement.matches(%s)`, jsString(sel))
	for i := 0; i < 60; i++ {
		if eval[bool](t, panel, is) {
			return
		}
		do(t, panel, chromedp.KeyEvent(kb.Tab))
	}
	t.Fatalf("Tab never reached %s (focus on %s)", sel, eval[string](t, panel, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : "none"`))
}

func noOverlap(t *testing.T, page context.Context, when string) {
	t.Helper()
	if p := measure(t, page); len(p.Overlaps) > 0 || len(p.Squeezed) > 0 || p.ScrollsSideways || p.Mode != "section" {
		t.Errorf("%s at 1024x600: %+v", when, p)
	}
}

// TestTryoutShiftByKeyboardAt1024 works a shift at 1024×600 in section
// mode with the keyboard alone (the focus enters the panel once per page
// load, as Tab from the page would).
func TestTryoutShiftByKeyboardAt1024(t *testing.T) {
	r := newRig(t, "panelMode", "section")
	page := r.b.tab(r.crm.URL + "/customers/C000001")
	do(t, page, chromedp.EmulateViewport(1024, 600))
	panel := r.b.panel()
	until(t, panel, "core configured", fmt.Sprintf(`view && view.settings.gatewayUrl === %q`, r.sys.URL()))
	until(t, page, "customer shown", `document.getElementById("cc-customer-name") !== null`)
	noOverlap(t, page, "login")
	do(t, panel, chromedp.Focus(chromedp.CSS("#username")), chromedp.KeyEvent("alice"), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent("demo"), chromedp.KeyEvent(kb.Enter))
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	noOverlap(t, page, "logged in")
	tabTo(t, panel, "#recent-box summary")
	do(t, panel, chromedp.KeyEvent(kb.Enter))
	until(t, panel, "recent open", `document.getElementById("recent-box").open`)

	// Ringing with two candidates; accept, pick the second, load it.
	if _, err := r.sys.Sim.StartInbound("+35722123456", "1001"); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "ringing", `document.querySelectorAll("#calls li.ringing .matches li").length === 2`)
	noOverlap(t, page, "ringing")
	tabTo(t, panel, "#calls li.ringing button.primary")
	do(t, panel, chromedp.KeyEvent(kb.Enter))
	until(t, panel, "connected", `document.querySelector("#calls li.connected") !== null`)
	tabTo(t, panel, "#calls li.connected .matches li:nth-child(2) button.load")
	// The page navigates under the key press, taking the panel frame with
	// it: the key event's reply may never come.
	chromedp.Do(panel, chromedp.KeyEvent(kb.Enter))
	until(t, page, "customer loaded", `location.pathname === "/customers/C000002"`)
	panel = r.b.panel()
	until(t, panel, "connected after the screen pop", `document.querySelector("#calls li.connected") !== null`)
	noOverlap(t, page, "connected")

	// Manual search during the call.
	searchByKeyboard(t, panel, "georgiou")

	// Hold, resume, end.
	tabTo(t, panel, `#calls li.connected button[aria-label="Hold"]`)
	do(t, panel, chromedp.KeyEvent(kb.Enter))
	until(t, panel, "held", `document.querySelector("#calls li.held") !== null`)
	tabTo(t, panel, `#calls li.held button[aria-label="Resume"]`)
	do(t, panel, chromedp.KeyEvent(kb.Enter))
	until(t, panel, "resumed", `document.querySelector("#calls li.connected") !== null`)
	tabTo(t, panel, "#calls li.connected button.danger")
	do(t, panel, chromedp.KeyEvent(kb.Enter))
	until(t, panel, "note form focused", `!document.getElementById("wrap").hidden && document.activeElement === document.getElementById("wrap-note")`)
	noOverlap(t, page, "note form")
	do(t, panel, chromedp.KeyEvent("Quote sent"), chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(2 /* Ctrl */)))
	until(t, panel, "saved", `document.getElementById("wrap").hidden && document.getElementById("notice-text").textContent === "Note saved."`)
	until(t, panel, "note listed", `(document.querySelector("#recent li .note") || {}).textContent === "Quote sent"`)

	// Busy: a refused call is listed.
	tabTo(t, panel, "#status [role=radio][tabindex='0']")
	do(t, panel, chromedp.KeyEvent(kb.ArrowRight))
	until(t, panel, "busy", `document.getElementById("status-busy").getAttribute("aria-checked") === "true"`)
	r.sys.Sim.StartInbound("+35799000333", "1001")
	until(t, panel, "refused listed", `(document.querySelector("#recent li.refused") || {textContent: ""}).textContent.includes("Refused while Busy")`)

	// Busy still calls out: a colleague's extension, named.
	tabTo(t, panel, "#dial")
	do(t, panel, chromedp.KeyEvent("1006"), chromedp.KeyEvent(kb.Enter))
	until(t, panel, "colleague named", `(document.querySelector("#calls li .caller") || {}).textContent === "Frank Fotiou"`)
	noOverlap(t, page, "dialing")
	tabTo(t, panel, "#calls li button.danger")
	do(t, panel, chromedp.KeyEvent(kb.Enter))
	until(t, panel, "ended", `document.querySelectorAll("#calls li").length === 0`)
	until(t, panel, "note form focused", `!document.getElementById("wrap").hidden && document.activeElement === document.getElementById("wrap-note")`)
	do(t, panel, chromedp.KeyEvent(kb.Escape))
	until(t, panel, "skipped by Escape", `document.getElementById("wrap").hidden && document.activeElement === document.getElementById("dial")`)
	until(t, panel, "colleague in recent", `(document.querySelector("#recent li .who span") || {}).textContent === "Frank Fotiou"`)
	r.b.screenshot(page, "tryout-1024x600")
}

// searchByKeyboard types a search into the panel just loaded by a screen
// pop and waits for its results. Once (in one CI run of many) they never
// came; what the panel held then is logged, and keys that never reached
// the panel (an empty box, no search asked) are typed once more, as a
// person would. A search the core got and did not answer fails.
func searchByKeyboard(t *testing.T, panel context.Context, text string) {
	t.Helper()
	const results = `document.querySelectorAll("#results li button.caller-btn").length > 0`
	const state = `JSON.stringify({dial: document.getElementById("dial").value, focus: document.activeElement.id, admitted, resuming, waiting: waiting.length, search: view && view.search, connection: view && view.connection})`
	for try := 1; ; try++ {
		do(t, panel, chromedp.Focus(chromedp.CSS("#dial")), chromedp.KeyEvent(text), chromedp.KeyEvent(kb.Enter))
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if ok, err := chromedp.Run(panel, chromedp.Evaluate[bool](results)); err == nil && ok {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		st := eval[string](t, panel, state)
		asked := eval[bool](t, panel, fmt.Sprintf(`!!(view && view.search && view.search.query === %q)`, text))
		if asked || try == 2 {
			t.Fatalf("no search results for %q (try %d); the panel: %s", text, try, st)
		}
		t.Logf("the search never reached the core; typing it again. The panel: %s", st)
		eval[bool](t, panel, `(document.getElementById("dial").value = "", true)`)
	}
}
