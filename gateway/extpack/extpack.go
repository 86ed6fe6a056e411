// Package extpack packs the browser extension for admins: the zip stores
// accept, the signed CRX3 and update manifest the gateway serves for
// force-install by policy, the Firefox .xpi, and the policy templates for
// every browser and OS, all generated from one source so they never drift.
package extpack

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Manifest is the part of manifest.json that packing needs.
type Manifest struct {
	Name                 string `json:"name"`
	Version              string `json:"version"`
	MinimumChromeVersion string `json:"minimum_chrome_version"`
	Storage              struct {
		ManagedSchema string `json:"managed_schema"`
	} `json:"storage"`
}

// ReadManifest reads root/manifest.json.
func ReadManifest(root string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		return m, fmt.Errorf("extpack: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("extpack: manifest.json: %w", err)
	}
	if m.Version == "" {
		return m, errors.New("extpack: manifest.json has no version")
	}
	return m, nil
}

// required are the build outputs without which the zip would load but do
// nothing; their absence means "make build" has not run.
var required = []string{"extension/core.wasm", "extension/wasm_exec.js"}

// Files lists, relative to root and in a stable order, what the extension
// needs at run time: manifest.json, the managed-storage schema it names, and
// everything under extension/ except dotfiles, Markdown, Go sources and
// the tests (e2e/, testdata/).
func Files(root string) ([]string, error) {
	m, err := ReadManifest(root)
	if err != nil {
		return nil, err
	}
	for _, r := range required {
		if _, err := os.Stat(filepath.Join(root, r)); err != nil {
			return nil, fmt.Errorf("extpack: %s missing (run make build first): %w", r, err)
		}
	}
	files := []string{"manifest.json"}
	if m.Storage.ManagedSchema != "" {
		files = append(files, path.Clean(m.Storage.ManagedSchema))
	}
	err = fs.WalkDir(os.DirFS(root), "extension", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || (d.IsDir() && (name == "e2e" || name == "testdata")) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		switch ext := path.Ext(name); {
		case ext == ".md", ext == ".go", strings.HasSuffix(name, ".test.js"):
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("extpack: %w", err)
	}
	return files, nil
}

// Pack writes the zip of Files(root) to w.
func Pack(root string, w io.Writer) error { return PackManifest(root, w, nil) }

// PackManifest is Pack with manifest.json replaced by manifest (unless it
// is nil): the packed copies for Chrome and Firefox differ from the
// development manifest (see ChromeManifest and FirefoxManifest).
func PackManifest(root string, w io.Writer, manifest []byte) error {
	files, err := Files(root)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		var body io.Reader
		if f == "manifest.json" && manifest != nil {
			body = bytes.NewReader(manifest)
		}
		if err := addFile(zw, root, f, body); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("extpack: %w", err)
	}
	return nil
}

// addFile adds root/name, or body instead when it is not nil.
func addFile(zw *zip.Writer, root, name string, body io.Reader) error {
	if body == nil {
		src, err := os.Open(filepath.Join(root, name))
		if err != nil {
			return fmt.Errorf("extpack: %w", err)
		}
		defer src.Close()
		body = src
	}
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: fixedTime})
	if err != nil {
		return fmt.Errorf("extpack: %s: %w", name, err)
	}
	if _, err := io.Copy(dst, body); err != nil {
		return fmt.Errorf("extpack: %s: %w", name, err)
	}
	return nil
}

// fixedTime stamps every entry so that the same tree packs to the same bytes.
var fixedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
