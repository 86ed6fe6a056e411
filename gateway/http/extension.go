package http

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ExtensionPrefix is where the gateway serves the packed extension; the
// update URL in every browser's policy is ExtensionPrefix+"updates.xml".
const ExtensionPrefix = "/extension/"

// extensionFiles are the files a release directory (ctipack's output) may
// serve, with the content types browsers insist on: Chrome installs a CRX
// served as application/x-chrome-extension, and Firefox an .xpi served as
// application/x-xpinstall. Nothing else in the directory is reachable, so
// pointing -extension-dir at a directory that also holds a key by mistake
// exposes nothing.
var extensionFiles = map[string]string{
	"updates.xml":  "application/xml",
	"crmcti.crx":   "application/x-chrome-extension",
	"updates.json": "application/json",
	"crmcti.xpi":   "application/x-xpinstall",
}

// ExtensionHandler serves the release in dir under ExtensionPrefix:
// updates.xml (the gupdate manifest Chrome and Edge poll), crmcti.crx,
// and for Firefox updates.json and crmcti.xpi. Each request opens the file
// anew, so publishing a release (ctipack writes the packages first, then
// the manifests, each by rename) takes effect on the browsers' next check
// without restarting the gateway. The update manifests are never cached;
// packages may be, as their URL carries the version.
func ExtensionHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, ExtensionPrefix)
		ctype, ok := extensionFiles[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serveExtensionFile(w, r, filepath.Join(dir, name), ctype)
	})
}

func serveExtensionFile(w http.ResponseWriter, r *http.Request, path, ctype string) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "no extension release published here (ctipack output missing)", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "extension release unreadable", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if ctype == "application/xml" || ctype == "application/json" {
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, "", st.ModTime().Truncate(time.Second), f)
}
