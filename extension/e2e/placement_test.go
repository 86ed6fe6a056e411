package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// overlap measures the panel against the demo CRM's customer details and
// communications list, in the page's viewport.
const overlapJS = `(() => {
	const r = (el) => el.getBoundingClientRect();
	const host = document.getElementById("crmcti-host");
	const p = r(host);
	const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
	const out = { mode: host.dataset.mode, panel: [p.left, p.top, p.width, p.height], overlaps: [], squeezed: [],
		scrollsSideways: document.documentElement.scrollWidth > innerWidth + 1 };
	for (const [name, sel] of [["customer details", ".cc-customer"], ["communications", ".cc-comms"]]) {
		const b = r(document.querySelector(sel));
		if (hit(p, b)) out.overlaps.push(name);
		if (b.width < 200) out.squeezed.push(name);
	}
	return JSON.stringify(out);
})()`

type placement struct {
	Mode            string    `json:"mode"`
	Panel           []float64 `json:"panel"`
	Overlaps        []string  `json:"overlaps"`
	Squeezed        []string  `json:"squeezed"`
	ScrollsSideways bool      `json:"scrollsSideways"`
}

func measure(t *testing.T, page context.Context) placement {
	t.Helper()
	var p placement
	if err := json.Unmarshal([]byte(eval[string](t, page, overlapJS)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPanelCoversNoCRMContent: in the section (the default) and in the
// dock, expanded and collapsed, at 1366×768 and 1024×600, with a call
// ringing, the panel covers none of the customer's details and
// communications, and the page does not scroll sideways.
func TestPanelCoversNoCRMContent(t *testing.T) {
	for _, mode := range []string{"section", "dock"} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t, "panelMode", mode)
			page := r.b.tab(r.crm.URL + "/customers/C000001")
			panel := r.b.panel()
			r.login(panel, "alice")
			until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
			if _, err := r.sys.Sim.StartInbound("+35722123456", "1001"); err != nil {
				t.Fatal(err)
			}
			until(t, panel, "ringing", `document.querySelectorAll("#calls li.ringing .matches li").length === 2`)
			for _, size := range [][2]int64{{1366, 768}, {1024, 600}} {
				do(t, page, chromedp.EmulateViewport(size[0], size[1]))
				until(t, page, "customer shown", `document.getElementById("cc-customer-name") !== null`)
				check := func(state string) placement {
					p := measure(t, page)
					if p.Mode != mode || len(p.Overlaps) > 0 || len(p.Squeezed) > 0 || p.ScrollsSideways {
						t.Errorf("%s %dx%d: %+v", state, size[0], size[1], p)
					}
					return p
				}
				p := check("open")
				if p.Panel[2] < 300 || p.Panel[3] < 200 {
					t.Errorf("%dx%d: the panel is too small to use: %+v", size[0], size[1], p)
				}
				r.b.screenshot(page, fmt.Sprintf("placement-%s-%dx%d", mode, size[0], size[1]))
				if mode == "dock" {
					do(t, panel, chromedp.Click(chromedp.CSS("#collapse")))
					until(t, page, "collapsed to a badge", `document.getElementById("crmcti-host").getBoundingClientRect().width < 80`)
					until(t, panel, "badge shows the ringing call", `!document.getElementById("badge").hidden && !document.getElementById("badge-ring").hidden`)
					check("collapsed")
					r.b.screenshot(page, fmt.Sprintf("placement-dock-collapsed-%dx%d", size[0], size[1]))
					do(t, panel, chromedp.Click(chromedp.CSS("#badge")))
					until(t, page, "open again", `document.getElementById("crmcti-host").getBoundingClientRect().width >= 300`)
				}
			}
		})
	}
}

// TestSidePanelPlacement: with placement "side" the CRM page gets no panel
// of its own (the browser's side panel, opened from the toolbar button,
// narrows the page instead), click-to-dial still works, and the panel
// works as a page of its own.
func TestSidePanelPlacement(t *testing.T) {
	r := newRig(t, "panelMode", "side")
	page := r.b.tab(r.crm.URL + "/customers/C000003")
	until(t, page, "phones linked", `document.querySelectorAll("#cc-customer a.crmcti-dial").length >= 1`)
	if eval[bool](t, page, `document.getElementById("crmcti-host") !== null`) {
		t.Fatal("a panel was put in the page in side placement")
	}
	sw := r.b.worker()
	if path := await[string](t, sw, `chrome.sidePanel.getOptions({}).then(o => o.path || "")`); path != "extension/panel.html" {
		t.Fatalf("side panel path %q", path)
	}
	if !await[bool](t, sw, `chrome.sidePanel.getPanelBehavior().then(b => b.openPanelOnActionClick)`) {
		t.Fatal("the toolbar button does not open the side panel")
	}
	// The side panel is the panel page on its own.
	r.b.tab("chrome-extension://" + extensionID + "/extension/panel.html")
	panel := r.b.panel()
	r.login(panel, "henry")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	if !eval[bool](t, panel, `document.getElementById("collapse").hidden`) {
		t.Fatal("the side panel offers to collapse like the dock")
	}
	r.sys.Sim.SetAutoAnswer(0)
	do(t, page, chromedp.Click(chromedp.CSS("#cc-customer a.crmcti-dial")))
	until(t, panel, "dialing from the page", `document.querySelector("#calls li.dialing") !== null`)
	// What the side panel shows, at the width Chrome gives it.
	do(t, panel, chromedp.EmulateViewport(400, 640))
	r.b.screenshot(panel, "placement-side-400x640")
}
