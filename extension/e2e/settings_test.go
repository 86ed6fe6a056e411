package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBadSettingsNeverStopTheCore covers defect 1: a gateway URL without a
// scheme is refused by the options page with a clear message; one that
// gets into storage anyway, or arrives by policy, is shown in the panel,
// and fixing it brings the panel back without restarting the browser.
func TestBadSettingsNeverStopTheCore(t *testing.T) {
	r := newRig(t)
	good := r.sys.URL()

	// The options page refuses the typo, says why, and keeps the old value.
	opts := r.b.tab("chrome-extension://" + extensionID + "/extension/options.html")
	until(t, opts, "options form", `document.getElementById("gatewayUrl") !== null && document.getElementById("gatewayUrl").value !== ""`)
	do(t, opts, chromedp.SetValue(chromedp.CSS("#gatewayUrl"), "127.0.0.1:7080"), chromedp.Click(chromedp.CSS("#save")))
	until(t, opts, "message at the field", `document.getElementById("gatewayUrl-error").textContent.includes("must start with wss://")`)
	if saved := eval[string](t, opts, `document.getElementById("saved").textContent`); strings.Contains(saved, "Saved") {
		t.Fatalf("options page says %q for a bad URL", saved)
	}
	stored := await[string](t, opts, `chrome.storage.local.get("options").then(o => o.options.gatewayUrl)`)
	if stored != good {
		t.Fatalf("stored gateway URL %q, want the previous %q", stored, good)
	}

	// A bad value that reaches storage anyway: the panel says what is
	// wrong instead of dying.
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	until(t, panel, "login form", `!document.getElementById("login").hidden`)
	setURL := func(u string) {
		await[bool](t, opts, fmt.Sprintf(`chrome.storage.local.get("options").then(o => chrome.storage.local.set({options: {...o.options, gatewayUrl: %q}})).then(() => true)`, u))
	}
	setURL("127.0.0.1:7080")
	until(t, panel, "problem shown", `!document.getElementById("problems").hidden && document.getElementById("problem-list").textContent.includes("must start with wss://")`)
	if eval[bool](t, panel, `!document.getElementById("login").hidden`) {
		t.Fatal("login form offered with settings that cannot connect")
	}
	r.b.screenshot(panel, "07-bad-setting")

	// Fixed: the core is alive and logs in.
	setURL(good)
	until(t, panel, "problems gone", `document.getElementById("problems").hidden && !document.getElementById("login").hidden`)
	r.login(panel, "alice")
	until(t, panel, "logged in", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)

	// The same typo by policy: the message says it is the administrator's
	// to fix; a corrected policy recovers.
	sw := r.b.worker()
	await[bool](t, sw, `start({gatewayUrl: "127.0.0.1:7080"}).then(() => true)`)
	until(t, panel, "policy problem shown", `document.getElementById("problem-list").textContent.includes("administrator")`)
	await[bool](t, sw, `start({}).then(() => true)`)
	until(t, panel, "resumed after the fix", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
}

// TestPanicInTheCoreIsReportedAndRecovers: a JavaScript exception thrown
// into the Go core (here by the host's view callback) shows "The CTI core
// stopped", and the core restarts and resumes the session by itself.
func TestPanicInTheCoreIsReportedAndRecovers(t *testing.T) {
	r := newRig(t)
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "alice")
	until(t, panel, "logged in", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
	sw := r.b.worker()
	eval[bool](t, sw, `(() => {
		const view = crmctiHost.view;
		let thrown = false;
		crmctiHost.view = (json) => { if (!thrown) { thrown = true; throw new Error("host broke"); } view(json); };
		crmctiCore.intent(JSON.stringify({type: "dismiss"}));
		return true;
	})()`)
	until(t, panel, "fault shown", `document.getElementById("fault").textContent.includes("The CTI core stopped: ") && document.getElementById("fault").textContent.includes("Reloading")`)
	until(t, panel, "back by itself", `document.getElementById("fault").hidden && document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
}

// TestThrowingWebSocketConstructorIsAnError: when the browser's WebSocket
// constructor throws (a URL it refuses), the core reports a connection
// error and lives on; it connects once the constructor works again.
func TestThrowingWebSocketConstructorIsAnError(t *testing.T) {
	r := newRig(t)
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	sw := r.b.worker()
	eval[bool](t, sw, `(() => { globalThis.RealWebSocket = WebSocket; globalThis.WebSocket = function () { throw new SyntaxError("refused URL"); }; return true; })()`)
	r.login(panel, "grace")
	until(t, panel, "connection error shown", `document.getElementById("login-error").textContent.includes("Cannot reach the CTI gateway")`)
	eval[bool](t, sw, `(() => { globalThis.WebSocket = RealWebSocket; return true; })()`)
	do(t, panel, chromedp.SetValue(chromedp.CSS("#username"), "grace"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("#login-btn")))
	until(t, panel, "logged in after all", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
}
