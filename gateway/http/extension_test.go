package http_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	cthttp "crmcti/gateway/http"
)

func TestExtensionHandlerServesTheReleaseWithBrowserContentTypes(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"updates.xml":  "<gupdate/>",
		"crmcti.crx":   "Cr24...",
		"updates.json": "{}",
		"crmcti.xpi":   "PK...",
		"key.pem":      "-----BEGIN PRIVATE KEY-----",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+cthttp.ExtensionPrefix, cthttp.ExtensionHandler(dir))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, c := range []struct{ path, ctype, body string }{
		{"/extension/updates.xml", "application/xml", "<gupdate/>"},
		{"/extension/crmcti.crx?v=0.1.0", "application/x-chrome-extension", "Cr24..."},
		{"/extension/updates.json", "application/json", "{}"},
		{"/extension/crmcti.xpi", "application/x-xpinstall", "PK..."},
	} {
		res, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || string(body) != c.body {
			t.Errorf("GET %s: %d %q %q, want 200 %q %q", c.path, res.StatusCode, res.Header.Get("Content-Type"), body, c.ctype, c.body)
		}
	}
	for _, p := range []string{"/extension/key.pem", "/extension/../extension/key.pem", "/extension/", "/extension/sub/updates.xml"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", p, res.StatusCode, body)
		}
	}
}

// A new release written into the directory is served at once: browsers
// see the higher version on their next check, without a gateway restart.
func TestExtensionHandlerServesANewReleaseWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	h := cthttp.ExtensionHandler(dir)
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/extension/updates.xml", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 404 || body == "" {
		t.Fatalf("before publishing: %d %q, want 404 with a reason", code, body)
	}
	os.WriteFile(filepath.Join(dir, "updates.xml"), []byte("version='1'"), 0o644)
	if _, body := get(); body != "version='1'" {
		t.Fatalf("got %q", body)
	}
	os.WriteFile(filepath.Join(dir, "updates.xml"), []byte("version='2'"), 0o644)
	if _, body := get(); body != "version='2'" {
		t.Fatalf("after publishing 2: got %q", body)
	}
}
