package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"crmcti/gateway/app"
	"crmcti/gateway/extpack"
	"crmcti/gateway/gatewaytest"
)

// bidi is a minimal WebDriver BiDi client: Firefox ESR speaks it on
// --remote-debugging-port, and Debian ships no geckodriver.
type bidi struct {
	t    *testing.T
	conn *websocket.Conn
	mu   sync.Mutex
	next int
	wait map[int]chan json.RawMessage
}

type bidiReply struct {
	ID      int             `json:"id"`
	Type    string          `json:"type"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// startFirefox runs headless Firefox ESR with a fresh profile and opens a
// BiDi session to it, or skips when Firefox is not installed.
func startFirefox(t *testing.T) *bidi {
	t.Helper()
	bin, err := exec.LookPath("firefox-esr")
	if err != nil {
		t.Skip("firefox-esr not installed (apt-get install -y firefox-esr): the Firefox build is checked by gateway/extpack only")
	}
	profile := t.TempDir()
	// No first-run pages, no background traffic to Mozilla.
	prefs := `user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("app.update.disabledForTesting", true);
user_pref("remote.prefs.recommended", true);
`
	os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port", "0", "about:blank")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start firefox: %v", err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	url := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				url <- m[1]
			}
		}
	}()
	var ws string
	select {
	case ws = <-url:
	case <-time.After(60 * time.Second):
		t.Fatal("firefox never announced its WebDriver BiDi address")
	}
	conn, _, err := websocket.Dial(context.Background(), ws+"/session", nil)
	if err != nil {
		t.Fatalf("bidi dial %s: %v", ws, err)
	}
	conn.SetReadLimit(64 << 20)
	b := &bidi{t: t, conn: conn, wait: map[int]chan json.RawMessage{}}
	go b.read()
	t.Cleanup(func() { conn.CloseNow() })
	b.call("session.new", map[string]any{"capabilities": map[string]any{}})
	return b
}

func (b *bidi) read() {
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			return
		}
		var r bidiReply
		if json.Unmarshal(data, &r) != nil || r.Type == "event" {
			continue
		}
		b.mu.Lock()
		ch := b.wait[r.ID]
		delete(b.wait, r.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- data
		}
	}
}

// call sends a command and returns its result, failing the test on error.
func (b *bidi) call(method string, params any) json.RawMessage {
	b.t.Helper()
	res, err := b.try(method, params)
	if err != nil {
		b.t.Fatal(err)
	}
	return res
}

func (b *bidi) try(method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan json.RawMessage, 1)
	b.wait[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, err
	}
	select {
	case data := <-ch:
		var r bidiReply
		json.Unmarshal(data, &r)
		if r.Type == "error" {
			return nil, fmt.Errorf("%s: %s: %s", method, r.Error, r.Message)
		}
		return r.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer", method)
	}
}

// eval evaluates expr (awaiting a promise) in a browsing context and
// returns its JSON value.
func (b *bidi) eval(context, expr string) (any, error) {
	res, err := b.try("script.evaluate", map[string]any{"expression": "(async () => JSON.stringify(await (" + expr + ")))()",
		"target": map[string]any{"context": context}, "awaitPromise": true})
	if err != nil {
		return nil, err
	}
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	json.Unmarshal(res, &r)
	if r.Type == "exception" {
		return nil, fmt.Errorf("%s: %s", expr, r.ExceptionDetails.Text)
	}
	var v any
	json.Unmarshal([]byte(r.Result.Value), &v)
	return v, nil
}

// until evaluates expr in the context found by find until it is true.
func (b *bidi) until(what string, find func() string, expr string) string {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if ctx := find(); ctx != "" {
			v, err := b.eval(ctx, expr)
			if v == true {
				return ctx
			}
			last = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.t.Fatalf("never: %s (%s), last error %v", what, expr, last)
	return ""
}

type bidiContext struct {
	Context  string        `json:"context"`
	URL      string        `json:"url"`
	Children []bidiContext `json:"children"`
}

// frame finds a browsing context (at any depth) whose URL contains part
// (the panel's URL ends in its nonce).
func (b *bidi) frame(part string) string {
	res, err := b.try("browsingContext.getTree", map[string]any{})
	if err != nil {
		return ""
	}
	var tree struct {
		Contexts []bidiContext `json:"contexts"`
	}
	json.Unmarshal(res, &tree)
	var walk func([]bidiContext) string
	walk = func(cs []bidiContext) string {
		for _, c := range cs {
			if strings.Contains(c.URL, part) {
				return c.Context
			}
			if f := walk(c.Children); f != "" {
				return f
			}
		}
		return ""
	}
	return walk(tree.Contexts)
}

// TestFirefoxPanelRingsInTheDemo loads the .xpi that make extension builds
// into Firefox ESR (a temporary add-on, as developers load it: Firefox
// runs only signed add-ons permanently) and works a call in the demo CRM
// page: the Firefox build runs the same Go wasm core.
func TestFirefoxPanelRingsInTheDemo(t *testing.T) {
	dir := t.TempDir()
	key, _, err := extpack.LoadOrCreateKey(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := extpack.Build(repoRoot(t), dir, extpack.Release{Key: key, BaseURL: "https://cti.example.com/extension/"}); err != nil {
		t.Fatal(err)
	}
	ff := startFirefox(t)
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) {
		c.AllowedOrigins = []string{"moz-extension://*"}
	}})
	crm := crmAt(t, "127.0.0.1:0")
	ff.call("webExtension.install", map[string]any{"extensionData": map[string]any{"type": "archivePath", "path": filepath.Join(dir, extpack.XPIName)}})

	var tree struct {
		Contexts []bidiContext `json:"contexts"`
	}
	json.Unmarshal(ff.call("browsingContext.getTree", map[string]any{}), &tree)
	top := tree.Contexts[0].Context
	ff.call("browsingContext.navigate", map[string]any{"context": top, "url": crm + "/", "wait": "complete"})
	ff.until("panel host in the CRM page", func() string { return top }, `document.getElementById("crmcti-host") !== null`)
	panel := func() string { return ff.frame("/extension/panel.html") }
	p := ff.until("login form in the panel", panel, `!document.getElementById("login").hidden`)

	// The test's gateway, stored as the user's options would be.
	if _, err := ff.eval(p, fmt.Sprintf(`chrome.storage.local.set({options: {gatewayUrl: %q}}).then(() => true)`, sys.URL())); err != nil {
		t.Fatal(err)
	}
	p = ff.until("core configured", panel, fmt.Sprintf(`typeof view !== "undefined" && view && view.settings.gatewayUrl === %q`, sys.URL()))
	login := `(() => { document.getElementById("username").value = "alice"; document.getElementById("password").value = "demo";
		document.getElementById("login-btn").click(); return true; })()`
	if _, err := ff.eval(p, login); err != nil {
		t.Fatal(err)
	}
	ff.until("logged in", panel, `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	if _, err := sys.Sim.StartInbound("+35722123456", "1001"); err != nil {
		t.Fatal(err)
	}
	// The call rings in the panel with Accept and the caller's two
	// matching customers, as in Chromium.
	ff.until("ringing card", panel, `document.querySelector("#calls li.ringing button.primary") !== null`)
	ff.until("the caller's two matches", panel, `document.querySelectorAll("#calls li.ringing .matches li").length === 2`)
}
