package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// noCalls checks that the switch saw no call in the time the panel took
// to show what it showed: a dial would have reached it at the same step.
func (r *rig) noCalls(what string) {
	r.t.Helper()
	time.Sleep(time.Second)
	if calls := r.sys.Sim.Calls(); len(calls) != 0 {
		r.t.Fatalf("%s: the phone dialled: %+v", what, calls)
	}
}

// TestPageCannotDialWithoutTheAgent covers issue 11, item 13: a page script
// that clicks a call link (ours or one it made), or dispatches a click, gets
// a "Call …?" prompt in the panel and no call; the agent's Cancel drops it
// and their Call dials it; a real click on a number dials at once.
func TestPageCannotDialWithoutTheAgent(t *testing.T) {
	r := newRig(t)
	page := r.b.tab(r.crm.URL + "/customers/C000003")
	panel := r.b.panel()
	r.login(panel, "bob")
	until(t, panel, "logged in", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
	r.sys.Sim.SetAutoAnswer(0)
	until(t, page, "customer phones linked", `document.querySelectorAll("#cc-customer a.crmcti-dial").length >= 1`)
	prompt := `!document.getElementById("dial-confirm").hidden && document.getElementById("dial-confirm-text").textContent.includes(%q)`

	// The page clicks our own link from a script.
	eval[bool](t, page, `document.querySelector("#cc-customer a.crmcti-dial").click() || true`)
	until(t, panel, "the agent is asked", fmt.Sprintf(prompt, "99 654321"))
	r.noCalls("a page script's click()")
	do(t, panel, chromedp.Click(chromedp.CSS("#dial-confirm-cancel")))
	until(t, panel, "prompt gone after Cancel", `document.getElementById("dial-confirm").hidden`)

	// The page makes its own link and dispatches a click on it.
	forge := `(() => { const a = document.createElement("a"); a.className = "crmcti-dial"; a.dataset.number = "+35799111222";
		document.body.append(a); a.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true})); return true; })()`
	eval[bool](t, page, forge)
	until(t, panel, "the agent is asked about the forged number", fmt.Sprintf(prompt, "+35799111222"))
	r.noCalls("a dispatched click")
	do(t, panel, chromedp.Click(chromedp.CSS("#dial-confirm-cancel")))
	until(t, panel, "prompt gone", `document.getElementById("dial-confirm").hidden`)
	r.noCalls("a cancelled request")

	// The agent's own click (a trusted mouse event) dials at once.
	do(t, page, chromedp.Click(chromedp.CSS("#cc-customer a.crmcti-dial")))
	until(t, panel, "dialing", `document.querySelector("#calls li.dialing") !== null`)
	calls := r.sys.Sim.Calls()
	if len(calls) != 1 || calls[0].Calling != "1002" || calls[0].Called != "+35799654321" {
		t.Fatalf("PBX calls after a real click: %+v", calls)
	}
	if !eval[bool](t, panel, `document.getElementById("dial-confirm").hidden`) {
		t.Fatal("a real click asked for confirmation")
	}
	if err := r.sys.Sim.Hangup(calls[0].CallID, "1002"); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "call over", `document.querySelectorAll("#calls li").length === 0`)

	// A page's request the agent confirms is dialled.
	eval[bool](t, page, forge)
	until(t, panel, "asked again", fmt.Sprintf(prompt, "+35799111222"))
	do(t, panel, chromedp.Click(chromedp.CSS("#dial-confirm-call")))
	until(t, panel, "dialing the confirmed number", `document.querySelector("#calls li.dialing") !== null`)
	if calls := r.sys.Sim.Calls(); len(calls) != 1 || calls[0].Called != "+35799111222" {
		t.Fatalf("PBX calls after Call: %+v", calls)
	}
}

// TestFramedPanelIsInert covers issue 11, item 14: a page that is not a
// CRM page frames the panel (to overlay it and steal the agent's clicks);
// the panel shows nothing and offers nothing, even with the nonce of a real
// panel, while the agent is logged in.
func TestFramedPanelIsInert(t *testing.T) {
	r := newRig(t)
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "alice")
	until(t, panel, "logged in", `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`)
	u, _ := url.Parse(eval[string](t, panel, `location.href`))

	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no loopback alias 127.0.0.2: %v", err)
	}
	panelURL := "chrome-extension://" + extensionID + "/extension/panel.html"
	hostile := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title><iframe src="%s?mode=section"></iframe><iframe src="%s?mode=dock#%s"></iframe>`,
			panelURL, panelURL, u.Fragment)
	})}}
	hostile.Start()
	t.Cleanup(hostile.Close)
	r.b.tab(hostile.URL + "/")
	for i := 0; i < 2; i++ {
		framed := r.b.panel()
		until(t, framed, "framed panel inert", `document.getElementById("inert") !== null`)
		if n := eval[int](t, framed, `document.querySelectorAll("button, input, select, a").length`); n != 0 {
			t.Fatalf("framed panel %d offers %d controls", i, n)
		}
		if text := eval[string](t, framed, `document.body.textContent`); strings.Contains(text, "1001") || strings.Contains(text, "connected") {
			t.Fatalf("framed panel %d shows agent data: %q", i, text)
		}
	}
	// The real panel is unaffected.
	if !eval[bool](t, panel, `!document.getElementById("main").hidden && document.getElementById("inert") === null`) {
		t.Fatal("the CRM page's panel stopped working")
	}
}

// TestScreenPopGoesToTheAgentsCRMTab covers issue 11, item 15: the agent
// calls a customer from the CRM tab's panel, then another site's tab takes
// the focus; when the customer answers, the customer code is typed into the
// CRM tab's search, never into the other site.
func TestScreenPopGoesToTheAgentsCRMTab(t *testing.T) {
	r := newRig(t, "customerLoad", "search")
	crmTab := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "dave")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	r.sys.Sim.SetAutoAnswer(0)
	do(t, panel, chromedp.SendKeys(chromedp.CSS("#dial"), "georgiou\r"))
	until(t, panel, "results", `document.querySelectorAll("#results li button[title^='Call ']").length > 0`)
	code := eval[string](t, panel, `document.querySelector("#results li .who small").textContent.split(" · ")[0]`)
	do(t, panel, chromedp.Click(chromedp.CSS("#results li button[title^='Call ']")))
	until(t, panel, "dialing", `document.querySelector("#calls li.dialing") !== null`)

	// Another site (under the development patterns, its page gets the
	// content script too) opens and has the focus.
	other := crmAt(t, "127.0.0.1:0")
	otherTab := r.b.tab(other + "/")
	r.b.panel()
	until(t, otherTab, "other site loaded", `document.getElementById("cc-search") !== null`)

	calls := r.sys.Sim.Calls()
	if len(calls) != 1 {
		t.Fatalf("PBX calls: %+v", calls)
	}
	if err := r.sys.Sim.Answer(calls[0].CallID, calls[0].Called); err != nil {
		t.Fatal(err)
	}
	until(t, crmTab, "customer typed into the CRM tab's search", fmt.Sprintf(`document.getElementById("cc-search").value === %q`, code))
	if v := eval[string](t, otherTab, `document.getElementById("cc-search").value`); v != "" {
		t.Fatalf("the other site's page got %q typed into it", v)
	}
}
