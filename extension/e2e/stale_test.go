package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"crmcti/gateway/pbxsim"
)

// TestNoStaleState covers defects 9 and 11: search results and the query
// they answer stay together across page loads and go when a new call
// starts; an outage of the PBX link too short to see is reported once it
// is over.
func TestNoStaleState(t *testing.T) {
	r := newRig(t)
	page := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "erin")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	do(t, panel, chromedp.SendKeys(chromedp.CSS("#dial"), "georgiou\r"))
	until(t, panel, "results", `document.querySelectorAll("#results li .who").length > 0`)

	do(t, page, chromedp.Navigate(r.crm.URL+"/customers/C000003"))
	panel = r.b.panel()
	until(t, panel, "the new page's panel shows the query with its results", `document.getElementById("dial").value === "georgiou" && document.querySelectorAll("#results li .who").length > 0`)

	r.sys.Sim.StartInbound("+35722123456", "1005")
	until(t, panel, "a new call clears the last search", `document.querySelector("#calls li.ringing") !== null && document.querySelectorAll("#results li").length === 0`)

	if err := r.sys.Sim.InjectFault(pbxsim.FaultDropLink, 0); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "outage reported after the fact", `document.getElementById("notice-text").textContent.includes("The telephone system was unreachable at") && document.getElementById("notice-text").textContent.includes("it is back")`)
}

// TestCommandInFlightShows covers defect 11's silent wait: while the
// switch is slow, the card says what it is waiting for.
func TestCommandInFlightShows(t *testing.T) {
	r := newRig(t)
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "frank")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	res, _ := r.sys.Sim.StartInbound("+35722123456", "1006")
	until(t, panel, "ringing", `document.querySelector("#calls li.ringing") !== null`)
	if err := r.sys.Sim.Answer(res.CallID, "1006"); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "connected", `document.querySelector("#calls li.connected") !== null`)
	if err := r.sys.Sim.InjectFault(pbxsim.FaultStall, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	do(t, panel, chromedp.Click(chromedp.CSS(`#calls li.connected button[aria-label="Hold"]`)))
	until(t, panel, "pending shown", `(document.querySelector("#calls li .pending") || {}).textContent === "Putting on hold…"`)
	// A stalled switch drops the request: the gateway gives up, and the
	// panel says so instead of waiting on.
	until(t, panel, "settled once the gateway answers", `document.querySelector("#calls li .pending") === null && (document.querySelector("#calls li.held") !== null || !document.getElementById("notice").hidden)`)
}

// TestUnknownCallerClearsTheLastCustomer covers the rest of defect 9:
// answering a caller nobody has takes the previous customer off the
// Communication Centre (by its search, in search mode).
func TestUnknownCallerClearsTheLastCustomer(t *testing.T) {
	r := newRig(t, "customerLoad", "search")
	page := r.b.tab(r.crm.URL + "/customers/C000001")
	panel := r.b.panel()
	r.login(panel, "alice")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	until(t, page, "previous customer shown", `(document.getElementById("cc-customer-name") || {}).textContent === "Andreas Constantinou"`)
	res, _ := r.sys.Sim.StartInbound("+35799000777", "1001")
	until(t, panel, "ringing", `document.querySelector("#calls li.ringing") !== null`)
	do(t, panel, chromedp.Click(chromedp.CSS("#calls li.ringing button.primary")))
	until(t, panel, "connected", `document.querySelector("#calls li.connected") !== null`)
	until(t, page, "previous customer gone", `document.getElementById("cc-customer-name") === null && document.getElementById("cc-search").value === "+35799000777"`)
	_ = res
}

// TestPhoneConnectingAfterLogin: a login the switch is too slow to follow
// (here stalled for 3 s, the morning peak's queue in miniature) is
// answered anyway; the panel shows the phone connecting and the Call
// button says why it waits, until the switch monitors the phone; then
// calls ring as ever.
func TestPhoneConnectingAfterLogin(t *testing.T) {
	r := newRig(t)
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	until(t, panel, "core configured", fmt.Sprintf(`view && view.settings.gatewayUrl === %q`, r.sys.URL()))
	if err := r.sys.Sim.InjectFault(pbxsim.FaultStall, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	r.login(panel, "frank")
	until(t, panel, "phone connecting shown", `!document.getElementById("main").hidden && !document.getElementById("pbx").hidden
		&& document.getElementById("pbx").textContent === "phone connecting…"
		&& document.getElementById("dial-btn").getAttribute("aria-disabled") === "true"
		&& document.getElementById("dial-reason").textContent.includes("being connected")`)
	until(t, panel, "phone ready", `document.getElementById("pbx").hidden && document.getElementById("dial-btn").getAttribute("aria-disabled") === "false"`)
	if _, err := r.sys.Sim.StartInbound("+35722123456", "1006"); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "ringing", `document.querySelector("#calls li.ringing") !== null`)
}
