package e2e

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway/democrm"
	"crmcti/gateway/devstack"
	"crmcti/gateway/extpack"

	"net/http/httptest"
)

// TestPackedExtensionLoads unpacks what `make extension` ships and loads
// it: the zip alone must be a working extension.
func TestPackedExtensionLoads(t *testing.T) {
	var buf bytes.Buffer
	if err := extpack.Pack(repoRoot(t), &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range zr.File {
		if strings.Contains(f.Name, "..") {
			t.Fatalf("unsafe path %s", f.Name)
		}
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		r.Close()
		os.WriteFile(p, b, 0o644)
	}
	cs, _ := democrm.ParseCSV(strings.NewReader(devstack.DemoContactsCSV))
	crm := httptest.NewServer(democrm.New(cs))
	defer crm.Close()
	b := startBrowserWith(t, dir)
	b.tab(crm.URL + "/")
	panel := b.panel()
	until(t, panel, "login form of the packed extension", `!document.getElementById("login").hidden`)
}
