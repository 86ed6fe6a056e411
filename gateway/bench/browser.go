package bench

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"crmcti/gateway/democrm"
	"crmcti/gateway/devstack"
)

// ExtensionTiming is the extension's start-up as a person meets it.
type ExtensionTiming struct {
	// ColdStartMs is the service worker's start until the core runs
	// (median of the browser starts).
	ColdStartMs float64 `json:"coldStartMs"`
	// FirstRenderMs is the CRM page's DOMContentLoaded until the panel's
	// first render (median of the page loads).
	FirstRenderMs float64   `json:"firstRenderMs"`
	ColdStarts    []float64 `json:"coldStarts"`
	FirstRenders  []float64 `json:"firstRenders"`
	// Phases split each cold start (where the worker reports them).
	Phases []ColdPhases `json:"coldStartPhases,omitempty"`
	// FirstRings are, per browser start on one profile, the switch
	// starting an inbound call until the panel shows it ringing, the agent
	// logged in again after the start (MeasureFirstRings; where measured).
	FirstRings []float64 `json:"firstRingsMs,omitempty"`
	// FirstRingError is why the first rings were not (all) measured: the
	// benchmark reports it and carries on.
	FirstRingError string `json:"firstRingError,omitempty"`
	// Floor is the smallest standard-Go wasm program's cold start in the
	// same browser (MeasureColdFloor; nil where not measured, and
	// FloorError says why).
	Floor      *ColdFloor `json:"coldStartFloor,omitempty"`
	FloorError string     `json:"coldStartFloorError,omitempty"`
}

// ColdPhases is where a cold start's time went: fetching and compiling
// core.wasm, instantiating it, Go's start-up, and the core's start.
type ColdPhases struct {
	ScriptMs      float64 `json:"scriptMs"` // the worker's start until the fetch
	CompileMs     float64 `json:"compileMs"`
	InstantiateMs float64 `json:"instantiateMs"`
	GoStartMs     float64 `json:"goStartMs"`
	// SettingsMs is from Go's start until the core runs: the settings and
	// token (read while the core compiled), and the core's own start.
	SettingsMs float64 `json:"settingsMs"`
}

// MeasureExtension loads the unpacked extension in extDir into headless
// Chromium: starts times browsers for the cold start, and loads the demo
// CRM page loads times for the first render.
func MeasureExtension(ctx context.Context, extDir string, starts, loads int) (ExtensionTiming, error) {
	var t ExtensionTiming
	bin, err := exec.LookPath("chromium")
	if err != nil {
		return t, errors.New("chromium not found: apt-get install -y chromium")
	}
	cs, err := democrm.ParseCSV(strings.NewReader(devstack.DemoContactsCSV))
	if err != nil {
		return t, err
	}
	crm := httptest.NewServer(democrm.New(cs))
	defer crm.Close()
	// One profile for every start, as an agent's browser has: the first
	// start is the one after the install, the others the browser started
	// again (what an agent sees each morning).
	profile, err := os.MkdirTemp("", "crmcti-bench-chromium-")
	if err != nil {
		return t, err
	}
	defer os.RemoveAll(profile)
	for i := range starts {
		bctx, stop, err := launch(ctx, bin, extDir, profile)
		if err != nil {
			return t, err
		}
		cold, err := coldStart(bctx)
		if err == nil {
			if p, perr := coldPhases(bctx); perr == nil && p.CompileMs > 0 {
				t.Phases = append(t.Phases, p)
			}
		}
		if err == nil && i == starts-1 {
			t.FirstRenders, err = firstRenders(bctx, crm.URL, loads)
		}
		stop()
		if err != nil {
			return t, err
		}
		t.ColdStarts = append(t.ColdStarts, cold)
	}
	t.ColdStartMs, t.FirstRenderMs = median(t.ColdStarts), median(t.FirstRenders)
	return t, nil
}

func launch(ctx context.Context, bin, extDir, profile string) (context.Context, func(), error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(profile), chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-extensions-except", extDir), chromedp.Flag("load-extension", extDir),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		return nil, nil, err
	}
	return bctx, func() { bcancel(); acancel() }, nil
}

func pollTarget(bctx context.Context, match func(*target.Info) bool) (context.Context, error) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(bctx)
		if err != nil {
			return nil, err
		}
		for _, in := range infos {
			if match(in) {
				c, _ := chromedp.NewContext(bctx, chromedp.WithTargetID(in.TargetID))
				return c, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, errors.New("target never appeared")
}

func pollNumber(ctx context.Context, expr string) (float64, error) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](expr))
		if err == nil && v > 0 {
			return v, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, errors.New("never measured: " + expr)
}

func coldStart(bctx context.Context) (float64, error) {
	sw, err := pollTarget(bctx, func(in *target.Info) bool {
		return in.Type == "service_worker" && strings.Contains(in.URL, "background.js")
	})
	if err != nil {
		return 0, err
	}
	return pollNumber(sw, `globalThis.crmctiColdStartMs || 0`)
}

// coldPhases reads how the worker's cold start split (set with
// crmctiColdStartMs).
func coldPhases(bctx context.Context) (ColdPhases, error) {
	var p ColdPhases
	sw, err := pollTarget(bctx, func(in *target.Info) bool {
		return in.Type == "service_worker" && strings.Contains(in.URL, "background.js")
	})
	if err != nil {
		return p, err
	}
	return chromedp.Run(sw, chromedp.Evaluate[ColdPhases](`globalThis.crmctiColdStartPhases || {}`))
}

func firstRenders(bctx context.Context, url string, n int) ([]float64, error) {
	seen := map[target.ID]bool{}
	var out []float64
	for range n {
		page, cancel := chromedp.NewContext(bctx)
		if err := chromedp.Do(page, chromedp.Navigate(url)); err != nil {
			cancel()
			return nil, err
		}
		panel, err := pollTarget(bctx, func(in *target.Info) bool {
			if strings.Contains(in.URL, "/extension/panel.html") && !seen[in.TargetID] {
				seen[in.TargetID] = true
				return true
			}
			return false
		})
		if err != nil {
			cancel()
			return nil, err
		}
		rendered, err := pollNumber(panel, `window.crmctiFirstRender || 0`)
		if err != nil {
			cancel()
			return nil, err
		}
		dcl, err := pollNumber(page, `performance.timing.domContentLoadedEventEnd`)
		cancel()
		if err != nil {
			return nil, err
		}
		out = append(out, rendered-dcl)
	}
	return out, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
