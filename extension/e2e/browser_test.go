package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// extensionID is pinned by the manifest key.
const extensionID = "amkhmoonbbfpbpgpaciafkkodeiodbkg"

// repoRoot is the unpacked extension (manifest.json at the root).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifest.json", "extension/core.wasm", "extension/wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Fatalf("%s missing: run make build first (%v)", f, err)
		}
	}
	return root
}

type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	panels map[target.ID]bool
}

// startBrowser runs headless Debian Chromium with the unpacked extension.
// chromedp's default options disable extensions, so the list is our own.
func startBrowser(t *testing.T) *browser { return startBrowserWith(t, repoRoot(t)) }

// startBrowserWith loads the unpacked extension in dir.
func startBrowserWith(t *testing.T, dir string) *browser {
	t.Helper()
	return launchChromium(t,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions-except", dir),
		chromedp.Flag("load-extension", dir))
}

// launchChromium runs headless Debian Chromium with a fresh profile, the
// options every browser test shares, and extra. chromedp's default
// options disable extensions, so the list is our own.
func launchChromium(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: apt-get install -y chromium (or make deps)")
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", "new"), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.WindowSize(1280, 900),
	}, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	shots := filepath.Join(repoRoot(t), "test-output", "screenshots")
	os.MkdirAll(shots, 0o755)
	return &browser{t: t, ctx: ctx, shots: shots, panels: map[target.ID]bool{}}
}

// tab opens url in a new tab.
func (b *browser) tab(url string) context.Context {
	b.t.Helper()
	ctx, _ := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
	return ctx
}

// configure stores the extension's options (the gateway and CRM of this
// test) through its own options page, as a user would.
func (b *browser) configure(gatewayURL, crmURL string, extra ...string) {
	b.t.Helper()
	ctx := b.tab("chrome-extension://" + extensionID + "/extension/options.html")
	more := ""
	for i := 0; i+1 < len(extra); i += 2 {
		more += fmt.Sprintf(", %q: %q", extra[i], extra[i+1])
	}
	js := fmt.Sprintf(`chrome.storage.local.set({options: {gatewayUrl: %q, contactUrlTemplate: %q%s}}).then(() => true)`,
		gatewayURL, strings.TrimSuffix(crmURL, "/")+"/customers/{code}", more)
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)); err != nil || !ok {
		b.t.Fatalf("configure: %v", err)
	}
	chromedp.Cancel(ctx)
}

// panel finds the CTI panel frame that appeared in a tab (a new one each
// call) and returns a context to drive it.
func (b *browser) panel() context.Context {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, in := range infos {
			if strings.Contains(in.URL, "/extension/panel.html") && !b.panels[in.TargetID] {
				b.panels[in.TargetID] = true
				ctx, _ := chromedp.NewContext(b.ctx, chromedp.WithTargetID(in.TargetID))
				if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
					b.t.Fatal(err)
				}
				return ctx
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatal("no CTI panel appeared in the page")
	return nil
}

// worker returns a context in the extension's service worker.
func (b *browser) worker() context.Context {
	b.t.Helper()
	return b.workerWithin(0)
}

// workerWithin is worker, waiting up to d for a stopped worker to start
// again.
func (b *browser) workerWithin(d time.Duration) context.Context {
	b.t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, in := range infos {
			if in.Type == "service_worker" && strings.Contains(in.URL, extensionID) {
				ctx, _ := chromedp.NewContext(b.ctx, chromedp.WithTargetID(in.TargetID))
				return ctx
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatal("no service worker")
		}
	}
}

// screenshot saves the tab as test-output/screenshots/name.png.
func (b *browser) screenshot(ctx context.Context, name string) {
	b.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644)
}

// until evaluates a JavaScript expression in ctx until it is truthy.
func until(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Promise.resolve("+expr+").then(v => !!v)", chromedp.EvalAwaitPromise))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("never: %s (%s), last error %v", what, expr, last)
}

// eval returns a JavaScript value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// do runs actions or fails the test.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// await evaluates a JavaScript expression that returns a promise.
func await[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}
