package extpack_test

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway/extpack"
)

func write(t *testing.T, root, name, body string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPackHoldsOnlyWhatTheExtensionNeeds(t *testing.T) {
	root := t.TempDir()
	write(t, root, "manifest.json", `{"name":"x","version":"1.2.3","storage":{"managed_schema":"schema/managed_storage.json"}}`)
	write(t, root, "schema/managed_storage.json", `{"type":"object"}`)
	write(t, root, "schema/001_init.sql", "not packed")
	write(t, root, "README.md", "not packed")
	write(t, root, "extension/background.js", "js")
	write(t, root, "extension/core.wasm", "\x00asm")
	write(t, root, "extension/wasm_exec.js", "js")
	write(t, root, "extension/panel/panel.html", "<p>")
	write(t, root, "extension/NOTES.md", "dev notes")
	write(t, root, "extension/.eslintrc", "{}")
	write(t, root, "extension/e2e/e2e_test.go", "package e2e")
	write(t, root, "extension/e2e/testdata/shot.png", "png")
	write(t, root, "gateway/main.go", "package main")

	m, err := extpack.ReadManifest(root)
	if err != nil || m.Version != "1.2.3" {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	var buf bytes.Buffer
	if err := extpack.Pack(root, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	got := strings.Join(names, " ")
	want := "manifest.json schema/managed_storage.json extension/background.js extension/core.wasm extension/panel/panel.html extension/wasm_exec.js"
	if got != want {
		t.Fatalf("zip holds %q\nwant %q", got, want)
	}
}

func TestPackWithoutBuildSaysSo(t *testing.T) {
	root := t.TempDir()
	write(t, root, "manifest.json", `{"name":"x","version":"1"}`)
	err := extpack.Pack(root, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("got %v, want an error that says to run make build", err)
	}
}
