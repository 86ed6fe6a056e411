// Package extpack packs the browser extension into the zip that admins
// deploy and stores accept. It lives beside the gateway because the gateway
// will serve this package (with its update manifest) for force-install.
package extpack

import (
	"archive/zip"
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
	Name    string `json:"name"`
	Version string `json:"version"`
	Storage struct {
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
func Pack(root string, w io.Writer) error {
	files, err := Files(root)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := addFile(zw, root, f); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("extpack: %w", err)
	}
	return nil
}

func addFile(zw *zip.Writer, root, name string) error {
	src, err := os.Open(filepath.Join(root, name))
	if err != nil {
		return fmt.Errorf("extpack: %w", err)
	}
	defer src.Close()
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: fixedTime})
	if err != nil {
		return fmt.Errorf("extpack: %s: %w", name, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("extpack: %s: %w", name, err)
	}
	return nil
}

// fixedTime stamps every entry so that the same tree packs to the same bytes.
var fixedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
