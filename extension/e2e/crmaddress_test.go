package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"crmcti/gateway/democrm"
	"crmcti/gateway/devstack"
)

// crmAt serves the demo CRM page on addr (e.g. "127.0.0.2:0": a loopback
// host of its own, so that no default pattern can match it by accident).
func crmAt(t *testing.T, addr string) string {
	t.Helper()
	cs, err := democrm.ParseCSV(strings.NewReader(devstack.DemoContactsCSV))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s (no loopback alias on this machine): %v", addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: democrm.New(cs)}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// setOptions stores the user's options through the extension's own
// options page, as the options form does.
func (b *browser) setOptions(extID, optionsJS string) {
	b.t.Helper()
	ctx := b.tab("chrome-extension://" + extID + "/extension/options.html")
	js := fmt.Sprintf(`chrome.storage.local.set({options: %s}).then(() => true)`, optionsJS)
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)); err != nil || !ok {
		b.t.Fatalf("set options: %v", err)
	}
	chromedp.Cancel(ctx)
}

const hasPanel = `document.getElementById("crmcti-host") !== null`

// noPanel checks that the page in ctx got no panel. It is called only
// after a page opened later has its panel, so the content script had every
// chance to run here too.
func noPanel(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if eval[bool](t, ctx, hasPanel) {
		t.Fatalf("%s has the CTI panel, and must not", what)
	}
}

// TestPanelFollowsTheCRMAddressSetting: a CRM at an address of its own
// (http://127.0.0.2:PORT/) gets the panel when the crmUrlPatterns setting
// names it, and does not when it does not; no manifest edit involved.
func TestPanelFollowsTheCRMAddressSetting(t *testing.T) {
	own := crmAt(t, "127.0.0.2:0")
	loop := crmAt(t, "127.0.0.1:0")
	b := startBrowser(t)

	// Unconfigured development install: loopback 127.0.0.1 only.
	ownTab := b.tab(own + "/")
	loopTab := b.tab(loop + "/")
	until(t, loopTab, "panel on the default loopback CRM", hasPanel)
	noPanel(t, ownTab, own+" (not named by any setting)")

	// The user names the CRM's address: the open tab gets the panel at
	// once, new tabs there get it, and the old default no longer applies.
	b.setOptions(extensionID, `{crmUrlPatterns: ["http://127.0.0.2/*"]}`)
	until(t, ownTab, "panel injected into the CRM tab already open", hasPanel)
	ownTab2 := b.tab(own + "/customers/C000001")
	loopTab2 := b.tab(loop + "/")
	until(t, ownTab2, "panel on a new CRM tab", hasPanel)
	b.panel()
	noPanel(t, loopTab2, loop+" after the setting names only 127.0.0.2")

	// One bad pattern among good ones loses nothing.
	b.setOptions(extensionID, `{crmUrlPatterns: ["not a pattern", "http://127.0.0.1/*"]}`)
	loopTab3 := b.tab(loop + "/")
	until(t, loopTab3, "panel on the valid pattern next to a bad one", hasPanel)
}
