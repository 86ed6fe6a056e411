package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"crmcti/gateway/democrm"
	"crmcti/gateway/devstack"
	"crmcti/gateway/pbxsim"
)

// extensionID is the unpacked extension's id, pinned by the key in
// manifest.json; the gateway's default -allowed-origins admits it.
const extensionID = "amkhmoonbbfpbpgpaciafkkodeiodbkg"

// RingTarget is whom the first-ring measurement rings: the benchmark's
// running gateway and switch, and an agent whose phone nothing else drives
// meanwhile (another client answering would race the panel).
type RingTarget struct {
	GatewayURL string
	Sim        *pbxsim.Sim
	User       string
	Password   string
	Ext        string
}

// ringCaller is the outside number that rings the agent: a demo customer's,
// so that the ring also goes through caller identification as in real life.
const ringCaller = "+35722123456"

// MeasureFirstRings measures, samples times, the first ring after a cold
// start: the switch starting an inbound call to rt's phone until the panel
// in the CRM page shows it ringing.
//
// The cold start is the browser started again on the same profile, as an
// agent's browser is each morning: the options persist (storage.local),
// the service worker and its wasm core start from nothing, and the agent
// logs in again (the token lives in storage.session, which a browser
// start clears); the call comes as soon as the panel says connected. Not
// chosen: stopping the worker through DevTools (ServiceWorker.stopAllWorkers)
// in a live browser. Chrome does not stop a worker that holds the
// gateway's WebSocket (the heartbeat keeps it alive); a stopped one is
// started again by the panel's reconnection, which the e2e test
// TestPanelOutlivesAStoppedWorker covers.
func MeasureFirstRings(ctx context.Context, extDir string, rt RingTarget, samples int) ([]float64, error) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		return nil, errors.New("chromium not found: apt-get install -y chromium")
	}
	cs, err := democrm.ParseCSV(strings.NewReader(devstack.DemoContactsCSV))
	if err != nil {
		return nil, fmt.Errorf("demo CRM contacts: %w", err)
	}
	crm := httptest.NewServer(democrm.New(cs))
	defer crm.Close()
	profile, err := os.MkdirTemp("", "crmcti-bench-ring-")
	if err != nil {
		return nil, fmt.Errorf("browser profile: %w", err)
	}
	defer os.RemoveAll(profile)
	var out []float64
	for i := range samples {
		ms, err := firstRingSample(ctx, bin, extDir, profile, crm.URL, rt, i == 0)
		if err != nil {
			return out, fmt.Errorf("first ring, browser start %d: %w", i+1, err)
		}
		out = append(out, ms)
	}
	return out, nil
}

// firstRingSample starts the browser on profile (configuring the
// extension on the first start, as the agent did once), logs the agent in
// through the panel and measures one ring.
func firstRingSample(ctx context.Context, bin, extDir, profile, crmURL string, rt RingTarget, first bool) (float64, error) {
	bctx, stop, err := launch(ctx, bin, extDir, profile)
	if err != nil {
		return 0, fmt.Errorf("start chromium: %w", err)
	}
	defer stop()
	if first {
		if err := configureExtension(bctx, rt.GatewayURL, crmURL); err != nil {
			return 0, err
		}
	}
	panel, err := openPanel(bctx, crmURL)
	if err != nil {
		return 0, err
	}
	if err := loginPanel(panel, rt); err != nil {
		return 0, err
	}
	return ringOnce(panel, rt)
}

// configureExtension stores the options (this benchmark's gateway and CRM)
// through the extension's own options page, as a user would.
func configureExtension(bctx context.Context, gatewayURL, crmURL string) error {
	opts, cancel := chromedp.NewContext(bctx)
	defer cancel()
	if err := chromedp.Do(opts, chromedp.Navigate("chrome-extension://"+extensionID+"/extension/options.html")); err != nil {
		return fmt.Errorf("open the options page: %w", err)
	}
	js := fmt.Sprintf(`chrome.storage.local.set({options: {gatewayUrl: %q, contactUrlTemplate: %q}}).then(() => true)`,
		gatewayURL, strings.TrimSuffix(crmURL, "/")+"/customers/{code}")
	if ok, err := chromedp.Run(opts, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)); err != nil || !ok {
		return fmt.Errorf("store the options: %v", err)
	}
	return nil
}

// openPanel opens the CRM page and returns the panel frame the content
// script put in it.
func openPanel(bctx context.Context, crmURL string) (context.Context, error) {
	page, _ := chromedp.NewContext(bctx)
	if err := chromedp.Do(page, chromedp.Navigate(crmURL+"/")); err != nil {
		return nil, fmt.Errorf("open the CRM page: %w", err)
	}
	panel, err := pollTarget(bctx, func(in *target.Info) bool {
		return strings.Contains(in.URL, "/extension/panel.html")
	})
	if err != nil {
		return nil, fmt.Errorf("find the panel: %w", err)
	}
	return panel, nil
}

// loginPanel logs rt's agent in through the panel's form and waits until
// the panel says connected.
func loginPanel(panel context.Context, rt RingTarget) error {
	if err := pollTrue(panel, fmt.Sprintf(`typeof view !== "undefined" && view && view.settings.gatewayUrl === %q`, rt.GatewayURL)); err != nil {
		return fmt.Errorf("panel configured: %w", err)
	}
	if err := chromedp.Do(panel, chromedp.SendKeys(chromedp.CSS("#username"), rt.User),
		chromedp.SendKeys(chromedp.CSS("#password"), rt.Password), chromedp.Click(chromedp.CSS("#login-btn"))); err != nil {
		return fmt.Errorf("fill in the login form: %w", err)
	}
	if err := pollTrue(panel, `document.getElementById("link").textContent === "connected" && !document.getElementById("main").hidden`); err != nil {
		return fmt.Errorf("log %s in: %w", rt.User, err)
	}
	return nil
}

// ringWatch records, in the panel, the moment a ringing call first
// appears. A MutationObserver with the page's own wall clock (the same
// machine clock as Go's) times the render itself, not a poll interval.
const ringWatch = `(() => {
  window.crmctiRingAt = 0;
  const seen = () => {
    if (!window.crmctiRingAt && document.querySelector("#calls li.ringing")) {
      window.crmctiRingAt = performance.timeOrigin + performance.now();
    }
  };
  new MutationObserver(seen).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
  seen();
  return window.crmctiRingAt === 0;
})()`

// ringOnce rings the agent's phone and returns the milliseconds from the
// switch starting the call until the panel showed it; it hangs the call
// up afterwards.
func ringOnce(panel context.Context, rt RingTarget) (float64, error) {
	if ok, err := chromedp.Run(panel, chromedp.Evaluate[bool](ringWatch)); err != nil || !ok {
		return 0, fmt.Errorf("watch the panel (a call already rings: %v): %v", !ok, err)
	}
	start := time.Now()
	res, err := rt.Sim.StartInbound(ringCaller, rt.Ext)
	if err != nil {
		return 0, fmt.Errorf("ring %s: %w", rt.Ext, err)
	}
	if res.Outcome != pbxsim.OutcomeAlerting {
		return 0, fmt.Errorf("ring %s: the switch says %s", rt.Ext, res.Outcome)
	}
	defer rt.Sim.Hangup(res.CallID, ringCaller)
	at, err := pollNumber(panel, `window.crmctiRingAt || 0`)
	if err != nil {
		return 0, fmt.Errorf("the ring never showed in the panel: %w", err)
	}
	return at - float64(start.UnixNano())/1e6, nil
}

// pollTrue evaluates expr in ctx until it is true, for 15 s.
func pollTrue(ctx context.Context, expr string) error {
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("never true: %s (last error %v)", expr, last)
}

// firstRings measures the first ring after a cold start against the
// benchmark's own gateway and switch, once the load runs are over: it rings
// the first logged-in agent, whose simulated browser is told to stop
// answering so that only the panel reacts. A failure is reported and kept
// in the report; the rest of the benchmark carries on.
func (cfg *Config) firstRings(ctx context.Context, env *environment, gatewayURL string, agents []*agent, rep *Report) {
	if cfg.ExtensionDir == "" {
		return
	}
	var a *agent
	for _, x := range agents {
		if x != nil {
			a = x
			break
		}
	}
	if a == nil {
		rep.Extension.FirstRingError = "no agent logged in to ring"
		cfg.say("first ring after a cold start: %s (the benchmark carries on)", rep.Extension.FirstRingError)
		return
	}
	a.watchCalls(func(callEvent) {})
	cfg.say("measuring the first ring after a cold start in headless Chromium (%s, phone %s)", a.user, a.ext)
	rt := RingTarget{GatewayURL: gatewayURL, Sim: env.sim, User: a.user, Password: "bench", Ext: a.ext}
	rings, err := MeasureFirstRings(ctx, cfg.ExtensionDir, rt, 5)
	rep.Extension.FirstRings = rings
	if err != nil {
		rep.Extension.FirstRingError = err.Error()
		cfg.say("first ring after a cold start: %v (the benchmark carries on)", err)
	}
}
