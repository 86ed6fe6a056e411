package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestOptionsEditCRMAddressesAndKeepTheRest covers issue 13's options gap:
// the options page shows the CRM address patterns, one a line, saves them
// as a list, and saving keeps stored settings the form does not show.
func TestOptionsEditCRMAddressesAndKeepTheRest(t *testing.T) {
	b := startBrowser(t)
	b.setOptions(extensionID, `{crmUrlPatterns: ["http://127.0.0.2/*"], gatewayUrl: "ws://127.0.0.1:1/ws", futureSetting: "kept"}`)
	opts := b.tab("chrome-extension://" + extensionID + "/extension/options.html")
	until(t, opts, "CRM address field", `(document.getElementById("crmUrlPatterns") || {}).value === "http://127.0.0.2/*"`)

	// Another field changed and saved: the patterns and the unknown key stay.
	do(t, opts, chromedp.SetValue(chromedp.CSS("#defaultCountry"), "GB"), chromedp.Click(chromedp.CSS("#save")))
	until(t, opts, "saved", `document.getElementById("saved").textContent === "Saved."`)
	stored := `chrome.storage.local.get("options").then(o => JSON.stringify([o.options.crmUrlPatterns, o.options.defaultCountry, o.options.futureSetting]))`
	if got, want := await[string](t, opts, stored), `[["http://127.0.0.2/*"],"GB","kept"]`; got != want {
		t.Fatalf("stored after saving another field: %s, want %s", got, want)
	}

	// Two patterns, one a line (blank lines and spaces ignored).
	do(t, opts, chromedp.SetValue(chromedp.CSS("#crmUrlPatterns"), "https://crm.example.com/*\n\n  http://127.0.0.2/*  \n"),
		chromedp.Click(chromedp.CSS("#save")))
	until(t, opts, "patterns stored as a list", stored+`.then(s => s === '[["https://crm.example.com/*","http://127.0.0.2/*"],"GB","kept"]')`)
}

// TestDeadPanelIsReplaced covers issue 13's update gap: after the
// extension is updated, an open CRM tab still holds the old #crmcti-host,
// whose content script lost the extension and answers nothing; the new
// content script (injected into open CRM tabs on install and update)
// replaces it instead of leaving the tab without a panel until a reload.
// A second injection into a page whose panel is alive leaves it alone.
// (The update itself cannot be driven here: Chromium drops an extension
// loaded by --load-extension when it reloads, so the dead host is what
// the old script leaves behind: the element, with nobody answering.)
func TestDeadPanelIsReplaced(t *testing.T) {
	crm := crmAt(t, "127.0.0.1:0")
	dead := http.NewServeMux()
	dead.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>CRM</title><div id="crmcti-host" style="position: fixed; right: 0">dead panel of the old version</div><p>CRM page</p>`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: dead}}
	srv.Start()
	t.Cleanup(srv.Close)

	b := startBrowser(t)
	page := b.tab(srv.URL + "/")
	panel := b.panel()
	until(t, panel, "login form in the new panel", `!document.getElementById("login").hidden`)
	until(t, page, "one panel host, the new one", `document.querySelectorAll("#crmcti-host").length === 1 && !document.body.textContent.includes("dead panel")`)

	// Injected again while alive (as into every open CRM tab after an
	// update): nothing changes.
	live := b.tab(crm + "/")
	b.panel()
	await[bool](t, b.worker(), `chrome.tabs.query({url: "`+crm+`/*"}).then(([tab]) => chrome.scripting.executeScript({target: {tabId: tab.id}, files: ["extension/content.js"]})).then(() => true)`)
	time.Sleep(time.Second)
	if n := eval[int](t, live, `document.querySelectorAll("#crmcti-host").length`); n != 1 {
		t.Fatalf("%d panel hosts after a second injection", n)
	}
	infos, _ := chromedp.Targets(b.ctx)
	for _, in := range infos {
		if strings.Contains(in.URL, "/extension/panel.html") && !b.panels[in.TargetID] {
			t.Fatalf("a second injection into a live page made another panel: %s", in.URL)
		}
	}
}
