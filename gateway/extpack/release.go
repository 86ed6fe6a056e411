package extpack

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// The names under which a release is written and the gateway serves it
// (ctigateway serve -extension-dir DIR: GET /extension/<name>). They are
// stable so that the update URL in every browser's policy never changes.
const (
	CRXName         = "crmcti.crx"
	XPIName         = "crmcti.xpi"
	UpdatesXMLName  = "updates.xml"
	UpdatesJSONName = "updates.json"
)

// Release is what an admin's build needs beyond the source tree.
type Release struct {
	// Key signs the CRX and fixes the Chrome/Edge extension ID.
	Key *Key
	// BaseURL is where the gateway serves the release, ending in "/",
	// e.g. https://cti.example.com/extension/.
	BaseURL string
}

// UpdateURL is the gupdate manifest's address: the update_url of the
// policy and of the packed manifest.
func (r Release) UpdateURL() string { return r.BaseURL + UpdatesXMLName }

// FirefoxUpdateURL is the Firefox update manifest's address.
func (r Release) FirefoxUpdateURL() string { return r.BaseURL + UpdatesJSONName }

// CRXURL is the packed extension's address, with the version in the query
// so that no cache between the gateway and a browser serves an old one.
func (r Release) CRXURL(version string) string {
	return r.BaseURL + CRXName + "?v=" + url.QueryEscape(version)
}

// XPIURL is the Firefox package's address (its install_url in policy).
func (r Release) XPIURL() string { return r.BaseURL + XPIName }

// CheckBaseURL refuses what browsers would not fetch an extension from.
func CheckBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
		return fmt.Errorf("extpack: base URL %q: want http(s)://host/path/ ending in a slash", base)
	}
	return nil
}

// ChromeManifest is the manifest packed into the CRX: the development
// "key" (which pins the ID of the unpacked checkout) is replaced by the
// admin's public key, so that the ID the browser computes from the CRX and
// the one the manifest claims agree, and "update_url" names the gateway so
// that browsers keep updating from it after the policy's first install.
func ChromeManifest(raw []byte, k *Key, updateURL string) ([]byte, error) {
	m, err := decodeManifest(raw)
	if err != nil {
		return nil, err
	}
	m["key"] = base64.StdEncoding.EncodeToString(k.PublicKeyDER())
	m["update_url"] = updateURL
	delete(m, "browser_specific_settings")
	return encodeManifest(m)
}

// FirefoxManifest is the manifest packed into the .xpi. Firefox has no
// extension service worker, so the background runs as scripts, listed in
// the order the service worker would import them: register.js first (it
// also stands in for importScripts, which event pages lack), then the Go
// wasm loader, then background.js. Chrome 116-120 reject
// background.scripts, which is why the Chrome manifest cannot carry both.
// updateURL, when set, is the gecko update manifest (updates.json).
func FirefoxManifest(raw []byte, updateURL string) ([]byte, error) {
	m, err := decodeManifest(raw)
	if err != nil {
		return nil, err
	}
	bg, _ := m["background"].(map[string]any)
	sw, _ := bg["service_worker"].(string)
	if sw == "" {
		return nil, errors.New("extpack: manifest.json has no background.service_worker")
	}
	dir := path.Dir(sw)
	m["background"] = map[string]any{"scripts": []string{
		path.Join(dir, "register.js"), path.Join(dir, "wasm_exec.js"), sw}}
	bss, _ := m["browser_specific_settings"].(map[string]any)
	gecko, _ := bss["gecko"].(map[string]any)
	if id, _ := gecko["id"].(string); id == "" {
		return nil, errors.New("extpack: manifest.json has no browser_specific_settings.gecko.id")
	}
	if updateURL != "" {
		gecko["update_url"] = updateURL
	}
	for _, k := range []string{"key", "minimum_chrome_version", "update_url"} {
		delete(m, k)
	}
	return encodeManifest(m)
}

// GeckoID is the Firefox add-on ID the manifest declares.
func GeckoID(raw []byte) (string, error) {
	var m struct {
		BSS struct {
			Gecko struct {
				ID string `json:"id"`
			} `json:"gecko"`
		} `json:"browser_specific_settings"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("extpack: manifest.json: %w", err)
	}
	if m.BSS.Gecko.ID == "" {
		return "", errors.New("extpack: manifest.json has no browser_specific_settings.gecko.id")
	}
	return m.BSS.Gecko.ID, nil
}

func decodeManifest(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("extpack: manifest.json: %w", err)
	}
	return m, nil
}

func encodeManifest(m map[string]any) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("extpack: manifest.json: %w", err)
	}
	return append(b, '\n'), nil
}

// UpdatesXML is the gupdate manifest Chrome and Edge poll (every few hours,
// and at browser start): a higher version than the installed one makes
// them fetch codebase. prodversionmin keeps browsers older than the
// manifest's minimum_chrome_version from trying.
func UpdatesXML(id, version, codebase, minChrome string) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0' encoding='UTF-8'?>\n")
	b.WriteString("<gupdate xmlns='http://www.google.com/update2/response' protocol='2.0'>\n")
	fmt.Fprintf(&b, "  <app appid='%s'>\n", attr(id))
	fmt.Fprintf(&b, "    <updatecheck codebase='%s' version='%s'", attr(codebase), attr(version))
	if minChrome != "" {
		fmt.Fprintf(&b, " prodversionmin='%s'", attr(minChrome))
	}
	b.WriteString(" />\n  </app>\n</gupdate>\n")
	return b.Bytes()
}

func attr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}

// UpdatesJSON is Firefox's update manifest for a self-hosted add-on.
func UpdatesJSON(geckoID, version, link string) ([]byte, error) {
	doc := map[string]any{"addons": map[string]any{geckoID: map[string]any{
		"updates": []any{map[string]string{"version": version, "update_link": link}}}}}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("extpack: updates.json: %w", err)
	}
	return append(b, '\n'), nil
}

// Built lists what Build wrote.
type Built struct {
	ID, GeckoID, Version string
	Files                []string
}

// Build writes a release of the extension at root into outDir: the signed
// CRX3, the .xpi, and both update manifests under their stable names.
func Build(root, outDir string, r Release) (*Built, error) {
	if err := CheckBaseURL(r.BaseURL); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("extpack: %w", err)
	}
	m, err := ReadManifest(root)
	if err != nil {
		return nil, err
	}
	gid, err := GeckoID(raw)
	if err != nil {
		return nil, err
	}
	crx, err := buildCRX(root, raw, r)
	if err != nil {
		return nil, err
	}
	xpi, err := buildXPI(root, raw, r)
	if err != nil {
		return nil, err
	}
	uj, err := UpdatesJSON(gid, m.Version, r.XPIURL())
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{
		CRXName: crx, XPIName: xpi, UpdatesJSONName: uj,
		UpdatesXMLName: UpdatesXML(r.Key.ID(), m.Version, r.CRXURL(m.Version), m.MinimumChromeVersion),
	}
	b := &Built{ID: r.Key.ID(), GeckoID: gid, Version: m.Version}
	// The update manifests go last: a browser polling while this runs
	// must never be told about a package not yet written.
	for _, name := range []string{CRXName, XPIName, UpdatesJSONName, UpdatesXMLName} {
		p := filepath.Join(outDir, name)
		if err := writeAtomic(p, out[name]); err != nil {
			return nil, err
		}
		b.Files = append(b.Files, p)
	}
	return b, nil
}

func buildCRX(root string, raw []byte, r Release) ([]byte, error) {
	cm, err := ChromeManifest(raw, r.Key, r.UpdateURL())
	if err != nil {
		return nil, err
	}
	var zipBuf, crx bytes.Buffer
	if err := PackManifest(root, &zipBuf, cm); err != nil {
		return nil, err
	}
	if err := WriteCRX(&crx, r.Key, zipBuf.Bytes()); err != nil {
		return nil, err
	}
	return crx.Bytes(), nil
}

func buildXPI(root string, raw []byte, r Release) ([]byte, error) {
	fm, err := FirefoxManifest(raw, r.FirefoxUpdateURL())
	if err != nil {
		return nil, err
	}
	var xpi bytes.Buffer
	if err := PackManifest(root, &xpi, fm); err != nil {
		return nil, err
	}
	return xpi.Bytes(), nil
}

// writeAtomic replaces path with b by renaming a temp file over it, so the
// gateway never serves a half-written file.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("extpack: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("extpack: %w", err)
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Chmod(0o644), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("extpack: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("extpack: %w", err)
	}
	return nil
}
