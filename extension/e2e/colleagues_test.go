package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestColleagueNamedFromTheDirectory: a call to another agent's
// extension names him (the demo directory's henry, 1008), on the card and
// in recent calls, instead of "Extension 1008" and "No customer has this
// number". (Calls from a colleague take the same path in the gateway; the
// core's tests cover both.)
func TestColleagueNamedFromTheDirectory(t *testing.T) {
	r := newRig(t)
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "alice")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	do(t, panel, chromedp.Click(chromedp.CSS("#recent-box summary")))
	do(t, panel, chromedp.SendKeys(chromedp.CSS("#dial"), "1008\r"))
	until(t, panel, "the card names the colleague", `(document.querySelector("#calls li.dialing .caller") || {}).textContent === "Henry Hadjis"`)
	text := eval[string](t, panel, `document.querySelector("#calls li.dialing").textContent`)
	if eval[bool](t, panel, `document.querySelector("#calls li.dialing .search-manually") !== null`) {
		t.Fatalf("a colleague offered as an unknown customer: %q", text)
	}
	do(t, panel, chromedp.Click(chromedp.CSS("#calls li.dialing button.danger")))
	until(t, panel, "recent calls name the colleague", `(() => { const li = document.querySelector("#recent li"); return li && li.querySelector(".who span").textContent === "Henry Hadjis"; })()`)
	// Reopening the list reads it from the call log: still named.
	do(t, panel, chromedp.Click(chromedp.CSS("#recent-box summary")), chromedp.Click(chromedp.CSS("#recent-box summary")))
	until(t, panel, "named from the call log", `(() => { const li = document.querySelector("#recent li"); return li && li.querySelector(".who span").textContent === "Henry Hadjis" && view.recent[0].remoteName === "Henry Hadjis"; })()`)
}
