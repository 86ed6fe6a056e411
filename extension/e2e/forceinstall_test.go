package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"crmcti/gateway/app"
	"crmcti/gateway/extpack"
	"crmcti/gateway/gatewaytest"
	cthttp "crmcti/gateway/http"
)

// chromiumPolicyDir is where Debian's Chromium reads machine policy.
const chromiumPolicyDir = "/etc/chromium/policies/managed"

// writablePolicyDir makes the policy directory, or skips the test saying
// why: writing machine policy needs root.
func writablePolicyDir(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll(chromiumPolicyDir, 0o755); err != nil {
		t.Skipf("cannot write Chromium policy (%v): run as root to test force-install", err)
	}
	f, err := os.CreateTemp(chromiumPolicyDir, ".probe-*")
	if err != nil {
		t.Skipf("cannot write Chromium policy in %s (%v): run as root to test force-install", chromiumPolicyDir, err)
	}
	f.Close()
	os.Remove(f.Name())
	holdPolicyDir(t)
}

// holdPolicyDir makes this test process the only writer of e2e policy
// until the test ends, and clears what an earlier run left behind.
// Chromium reads every file of the directory, and where two set
// ExtensionSettings it takes one of them: a file left by a killed run (or
// written by a run in another checkout at the same time) silently
// replaced this test's force-install, and the panel never came.
func holdPolicyDir(t *testing.T) {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(chromiumPolicyDir), ".crmcti-e2e.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("policy lock: %v", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("policy lock: %v", err)
	}
	t.Cleanup(func() { lock.Close() }) // closing releases the lock
	entries, err := os.ReadDir(chromiumPolicyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := filepath.Join(chromiumPolicyDir, e.Name())
		if strings.HasPrefix(e.Name(), "crmcti-e2e-") {
			t.Logf("removing %s, left by an earlier run", name)
			os.Remove(name)
			continue
		}
		if b, err := os.ReadFile(name); err == nil && strings.Contains(string(b), `"ExtensionSettings"`) {
			t.Fatalf("%s sets ExtensionSettings too, and Chromium would take one of the two files: move it away to run this test", name)
		}
	}
}

// publish builds a release of the checkout signed with a key of this test
// (so its ID collides with no other test) into a directory the gateway's
// ExtensionHandler serves, and returns the release.
func publish(t *testing.T) (extpack.Release, *extpack.Built, string) {
	t.Helper()
	dir := t.TempDir()
	mux := http.NewServeMux()
	mux.Handle("GET "+cthttp.ExtensionPrefix, cthttp.ExtensionHandler(dir))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	key, _, err := extpack.LoadOrCreateKey(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	rel := extpack.Release{Key: key, BaseURL: srv.URL + cthttp.ExtensionPrefix}
	built, err := extpack.Build(repoRoot(t), dir, rel)
	if err != nil {
		t.Fatal(err)
	}
	return rel, built, dir
}

// republish publishes the checkout again as the given version, the way an
// admin publishes an update: ctipack into the gateway's directory.
func republish(t *testing.T, rel extpack.Release, dir, version string) {
	t.Helper()
	src, tree := repoRoot(t), t.TempDir()
	files, err := extpack.Files(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "manifest.json" {
			var m map[string]any
			json.Unmarshal(b, &m)
			m["version"] = version
			b, _ = json.Marshal(m)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(tree, f)), 0o755)
		if err := os.WriteFile(filepath.Join(tree, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := extpack.Build(tree, dir, rel); err != nil {
		t.Fatal(err)
	}
}

// panelVersions are the extension versions of the panels open now.
func panelVersions(b *browser, id string) []string {
	infos, err := chromedp.Targets(b.ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, in := range infos {
		if strings.HasPrefix(in.URL, "chrome-extension://"+id+"/extension/panel.html") { // ?mode=…#nonce follow
			// Not cancelled: cancelling a chromedp context closes its target.
			ctx, _ := chromedp.NewContext(b.ctx, chromedp.WithTargetID(in.TargetID))
			v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`chrome.runtime.getManifest().version`))
			out = append(out, v)
		}
	}
	return out
}

// installPolicy writes the Linux template ctipack generates, for these
// settings, as machine policy, and removes it when the test ends. Unless
// nil, allowedHosts replaces the template's runtime_allowed_hosts.
func installPolicy(t *testing.T, rel extpack.Release, built *extpack.Built, settings map[string]any, allowedHosts []string) {
	t.Helper()
	pol, err := extpack.LoadPolicy(filepath.Join(repoRoot(t), "schema/managed_storage.json"), writeJSON(t, settings))
	if err != nil {
		t.Fatal(err)
	}
	pol.ID, pol.UpdateURL, pol.GeckoID, pol.XPIURL = built.ID, rel.UpdateURL(), built.GeckoID, rel.XPIURL()
	tpl, err := pol.Templates()
	if err != nil {
		t.Fatal(err)
	}
	// The test drives the panel over DevTools, which Chrome refuses on
	// policy-installed extensions unless DeveloperToolsAvailability is 1;
	// that one key is the test's, not part of what an admin deploys.
	var doc map[string]any
	if err := json.Unmarshal(tpl[extpack.LinuxPolicy], &doc); err != nil {
		t.Fatal(err)
	}
	doc["DeveloperToolsAvailability"] = 1
	if allowedHosts != nil {
		doc["ExtensionSettings"].(map[string]any)[built.ID].(map[string]any)["runtime_allowed_hosts"] = allowedHosts
	}
	b, _ := json.Marshal(doc)
	path := filepath.Join(chromiumPolicyDir, "crmcti-e2e-"+built.ID+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, _ := json.Marshal(v)
	p := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startManagedBrowser runs Chromium with no extension on its command
// line: whatever extension it has came from policy. Background networking
// stays on, since that is how it downloads force-installed extensions.
func startManagedBrowser(t *testing.T) *browser {
	t.Helper()
	return launchChromium(t)
}

// untilReloaded reloads the page in ctx until expr holds: the extension
// arrives some seconds after the browser starts.
func untilReloaded(t *testing.T, ctx context.Context, what, expr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		time.Sleep(time.Second)
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); ok {
			return
		}
		chromedp.Do(ctx, chromedp.Reload())
	}
	t.Fatalf("never: %s (%s)", what, expr)
}

// TestForceInstalledByPolicy is the admin's roll-out end to end: the
// gateway serves the signed CRX and updates.xml, a machine policy (the
// template ctipack generates) force-installs it, and Chromium, started
// without --load-extension, shows the panel on a CRM at an address of
// its own, with the policy's settings in effect, narrowed to the CRM's
// host by runtime_blocked_hosts/runtime_allowed_hosts; then a higher
// version published to the same directory replaces it.
func TestForceInstalledByPolicy(t *testing.T) {
	writablePolicyDir(t)
	rel, built, dir := publish(t)
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.AllowedOrigins = []string{"chrome-extension://" + built.ID}
	}})
	own := crmAt(t, "127.0.0.2:0")
	loop := crmAt(t, "127.0.0.1:0")
	installPolicy(t, rel, built, map[string]any{
		"gatewayUrl": sys.URL(),
		// localhost is named too, but the admin allows the extension only
		// on the CRM's host: the runtime host policy must keep it off.
		"crmUrlPatterns":     []string{"http://127.0.0.2/*", "http://localhost/*"},
		"customerLoad":       "url",
		"contactUrlTemplate": own + "/customers/{code}",
		"defaultCountry":     "CY",
		"matchPolicy":        "list",
	}, []string{"http://127.0.0.2"})
	b := startManagedBrowser(t)

	page := b.tab(own + "/")
	untilReloaded(t, page, "force-installed panel in the CRM page", hasPanel, 90*time.Second)
	panel := b.panel()
	until(t, panel, "the policy's gateway in effect", fmt.Sprintf(`view && view.settings.gatewayUrl === %q`, sys.URL()))
	do(t, panel, chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("#login-btn")))
	until(t, panel, "logged in through the policy's gateway", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	if _, err := sys.Sim.StartInbound("+35722123456", "1001"); err != nil {
		t.Fatal(err)
	}
	until(t, panel, "ringing card with two matches", `document.querySelectorAll("#calls li.ringing .matches li").length === 2`)
	b.screenshot(page, "force-installed-ringing")

	// What an admin ships has no loopback patterns: a page on 127.0.0.1
	// (where the development install puts the panel) gets none; and a
	// host the patterns name but runtime_allowed_hosts does not, none.
	other := b.tab(loop + "/")
	blocked := b.tab(strings.Replace(loop, "127.0.0.1", "localhost", 1) + "/")
	fresh := b.tab(own + "/customers/C000003")
	until(t, fresh, "panel on another CRM tab", hasPanel)
	noPanel(t, other, loop+" in a force-installed browser")
	until(t, blocked, "the CRM page loaded on localhost", `document.getElementById("cc-search") !== null`)
	noPanel(t, blocked, "localhost, outside runtime_allowed_hosts")

	// The admin publishes a higher version: the browser takes it on its
	// next update check, from the same update URL. Browsers check every
	// few hours; the test makes the check now, as the Update button of
	// chrome://extensions does.
	republish(t, rel, dir, "99.0.0")
	ext := b.tab("chrome://extensions/")
	if _, err := chromedp.Run(ext, chromedp.Evaluate[bool](`chrome.developerPrivate.autoUpdate().then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("update check: %v", err)
	}
	page = b.tab(own + "/")
	deadline := time.Now().Add(2 * time.Minute)
	for !slices.Contains(panelVersions(b, built.ID), "99.0.0") {
		if time.Now().After(deadline) {
			t.Fatalf("panels run %q two minutes after publishing 99.0.0", panelVersions(b, built.ID))
		}
		time.Sleep(3 * time.Second)
		chromedp.Do(page, chromedp.Reload())
	}
}
