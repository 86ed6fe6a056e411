package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"crmcti/gateway/app"
	"crmcti/gateway/democrm"
	"crmcti/gateway/devstack"
	"crmcti/gateway/gatewaytest"
)

// TestStandbyFirstInTheOptionsList: the agent's browser is given an
// active/standby pair in the options page, one URL a line, by keyboard;
// a bad line is refused with its place in the list. The first gateway
// answers that it is standby, and the login goes through on the second
// at once; the options page and the badge's tooltip say which gateway
// serves.
func TestStandbyFirstInTheOptionsList(t *testing.T) {
	r := newRig(t)
	standby := gatewaytest.StartStandby(t)
	opts := r.b.tab("chrome-extension://" + extensionID + "/extension/options.html")
	until(t, opts, "options form", `document.getElementById("gatewayUrls") !== null`)
	do(t, opts, chromedp.SendKeys(chromedp.CSS("#gatewayUrls"), standby.URL()+"\ncti-b.example.com/ws"), chromedp.Click(chromedp.CSS("#save")))
	until(t, opts, "the bad line refused", `document.getElementById("gatewayUrls-error").textContent.startsWith("Gateway 2 of 2: ") &&
		document.getElementById("gatewayUrls").getAttribute("aria-invalid") === "true"`)
	if saved := eval[string](t, opts, `document.getElementById("saved").textContent`); strings.Contains(saved, "Saved") {
		t.Fatalf("options page says %q for a bad list", saved)
	}
	eval[bool](t, opts, `(document.getElementById("gatewayUrls").value = "") === ""`)
	do(t, opts, chromedp.SendKeys(chromedp.CSS("#gatewayUrls"), standby.URL()+"\n"+r.sys.URL()+"\n"), chromedp.Click(chromedp.CSS("#save")))
	until(t, opts, "saved", `document.getElementById("saved").textContent === "Saved." && !document.getElementById("gatewayUrls").hasAttribute("aria-invalid")`)

	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	until(t, panel, "core on the list", `view && view.settings.gatewayUrls && view.settings.gatewayUrls.length === 2`)
	do(t, panel, chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("#login-btn")))
	until(t, panel, "logged in on the second gateway", fmt.Sprintf(`document.getElementById("link").textContent === "connected" &&
		!document.getElementById("main").hidden && document.getElementById("link").title === %q`, "Connected to "+r.sys.URL()))
	if standby.Dials() == 0 {
		t.Fatal("the standby was never tried")
	}
	until(t, opts, "the options page names the gateway", fmt.Sprintf(`document.getElementById("gateway").textContent === %q`, "Connected to "+r.sys.URL()))

	// A policy that sets the single gateway URL locks the list too: the
	// user's list no longer applies (the worker's start takes the policy
	// as chrome.storage.managed would give it).
	sw := r.b.worker()
	await[bool](t, sw, fmt.Sprintf(`start({gatewayUrl: %q}).then(() => true)`, r.sys.URL()))
	until(t, panel, "the policy's gateway wins", `view && view.settings.gatewayUrls === undefined && view.settings.managedKeys.includes("gatewayUrls")`)
	until(t, panel, "resumed on the policy's gateway", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
}

// newPairRig is newRig with an active/standby pair of gateways on one
// database (issue 14): r.sys is the active, the returned app the standby.
func newPairRig(t *testing.T) (*rig, *app.App) {
	t.Helper()
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.AllowedOrigins = []string{"chrome-extension://" + extensionID}
		c.Lease, c.Node = time.Second, "gw-a"
	}})
	cfg := sys.Config
	cfg.Listen, cfg.Node = "127.0.0.1:0", "gw-b"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	standby, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Close() })
	cs, err := democrm.ParseCSV(strings.NewReader(devstack.DemoContactsCSV))
	if err != nil {
		t.Fatal(err)
	}
	crm := httptest.NewServer(democrm.New(cs))
	t.Cleanup(crm.Close)
	b := startBrowser(t)
	b.configure(sys.URL(), crm.URL)
	return &rig{t: t, sys: sys, crm: crm, b: b}, standby
}

// TestFailoverKeepsTheCallWithoutLogin: an active/standby pair, the
// active first in the list. The active goes away in the middle of a call
// (a clean hand-over) and the standby takes over. The panel moves there
// by itself: no login form, and the call card never leaves the panel nor
// loses its caller.
func TestFailoverKeepsTheCallWithoutLogin(t *testing.T) {
	r, standby := newPairRig(t)
	opts := r.b.tab("chrome-extension://" + extensionID + "/extension/options.html")
	await[bool](t, opts, fmt.Sprintf(`chrome.storage.local.get("options").then(o => chrome.storage.local.set({options: {...o.options, gatewayUrls: [%q, %q]}})).then(() => true)`, r.sys.URL(), standby.URL))

	page := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	until(t, panel, "core on the list", `view && view.settings.gatewayUrls && view.settings.gatewayUrls.length === 2`)
	do(t, panel, chromedp.SendKeys(chromedp.CSS("#username"), "carol"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("#login-btn")))
	until(t, panel, "logged in", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
	res, _ := r.sys.Sim.StartInbound("+35722123456", "1003")
	until(t, panel, "ringing with matches", `document.querySelectorAll("#calls li.ringing .matches li").length === 2`)
	if err := r.sys.Sim.Answer(res.CallID, "1003"); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "connected", `document.querySelector("#calls li.connected") !== null`)
	do(t, panel, chromedp.Click(chromedp.CSS("#calls li.connected .matches li:nth-child(2) button.load")))
	until(t, page, "customer loaded", `location.pathname === "/customers/C000002"`)
	panel = r.b.panel() // the page navigated: the panel is a new frame
	const caller = `(() => { const c = document.querySelector("#calls li.connected .caller"); return c ? c.textContent : ""; })()`
	until(t, panel, "the card names the customer", caller+` === "Constantinou Trading Ltd"`)

	// Every render from now on is watched: the card must stay, named, and
	// the login form must never show.
	eval[bool](t, panel, `(() => {
		window.lapses = [];
		new MutationObserver(() => {
			const c = document.querySelector("#calls li.connected .caller");
			const why = !document.getElementById("login").hidden ? "login form shown" : !c ? "call card gone" : c.textContent !== "Constantinou Trading Ltd" ? "caller " + c.textContent : "";
			if (why) window.lapses.push(why);
		}).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
		return true;
	})()`)
	r.sys.StopGateway()
	until(t, panel, "back on the new active", fmt.Sprintf(`document.getElementById("link").textContent === "connected" && document.getElementById("link").title === %q`, "Connected to "+standby.URL))
	until(t, panel, "the call restored", `view.calls.length === 1 && view.calls[0].remote === "+35722123456"`)
	if lapses := eval[[]string](t, panel, `window.lapses`); len(lapses) > 0 {
		t.Fatalf("during the failover the panel showed: %q", lapses)
	}
	r.b.screenshot(page, "08-after-failover")
}
