package extpack_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway/extpack"
)

// The repository's manifest key gives the ID the README and the tests
// name: the ID computation is Chrome's.
func TestIDFromPublicKeyIsChromes(t *testing.T) {
	b, err := os.ReadFile("../../manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Key string }
	json.Unmarshal(b, &m)
	der, err := base64.StdEncoding.DecodeString(m.Key)
	if err != nil {
		t.Fatal(err)
	}
	if id := extpack.IDFromPublicKey(der); id != "amkhmoonbbfpbpgpaciafkkodeiodbkg" {
		t.Fatalf("ID %s", id)
	}
}

func testKey(t *testing.T) *extpack.Key {
	t.Helper()
	k, created, err := extpack.LoadOrCreateKey(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil || !created {
		t.Fatalf("key: %v created=%v", err, created)
	}
	return k
}

func TestCRXVerifiesAndTamperingIsCaught(t *testing.T) {
	k := testKey(t)
	zipData := []byte("PK\x03\x04 pretend archive")
	var buf bytes.Buffer
	if err := extpack.WriteCRX(&buf, k, zipData); err != nil {
		t.Fatal(err)
	}
	crx, err := extpack.ParseCRX(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if crx.ID != k.ID() || !bytes.Equal(crx.Zip, zipData) {
		t.Fatalf("parsed ID %s zip %q; want %s", crx.ID, crx.Zip, k.ID())
	}
	tampered := bytes.Clone(buf.Bytes())
	tampered[len(tampered)-1] ^= 1
	if _, err := extpack.ParseCRX(tampered); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("tampered archive: %v, want a signature error", err)
	}
	for _, bad := range [][]byte{nil, []byte("Cr24"), []byte("PK\x03\x04xxxxxxxxxx"), append([]byte("Cr24\x02\x00\x00\x00"), buf.Bytes()[8:]...),
		append([]byte("Cr24\x03\x00\x00\x00\xff\xff\xff\x00"), buf.Bytes()[12:]...)} {
		if _, err := extpack.ParseCRX(bad); err == nil {
			t.Errorf("ParseCRX(%q) accepted it", bad[:min(len(bad), 12)])
		}
	}
}

// A key on disk is read back as the same key; a second run never
// replaces it (the ID must not change between releases).
func TestKeyFileKeepsTheID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	k1, created, err := extpack.LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatal(err)
	}
	k2, created, err := extpack.LoadOrCreateKey(path)
	if err != nil || created || k2.ID() != k1.ID() {
		t.Fatalf("reload: %v created=%v id %s vs %s", err, created, k2.ID(), k1.ID())
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, _, err := extpack.LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("bad key file: %v, want an error naming the file", err)
	}
}

func buildTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write(t, root, "manifest.json", `{"manifest_version":3,"name":"x","version":"1.2.3","key":"dev","minimum_chrome_version":"116",
"background":{"service_worker":"extension/background.js"},"storage":{"managed_schema":"schema/managed_storage.json"},
"browser_specific_settings":{"gecko":{"id":"x@example.com"}}}`)
	write(t, root, "schema/managed_storage.json", `{"type":"object"}`)
	write(t, root, "extension/background.js", "js")
	write(t, root, "extension/register.js", "js")
	write(t, root, "extension/core.wasm", "\x00asm")
	write(t, root, "extension/wasm_exec.js", "js")
	return root
}

func readZipManifest(t *testing.T, b []byte) map[string]any {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildWritesASignedCRXTheUpdateManifestNames(t *testing.T) {
	root, out := buildTree(t), t.TempDir()
	k := testKey(t)
	rel := extpack.Release{Key: k, BaseURL: "https://cti.example.com/extension/"}
	built, err := extpack.Build(root, out, rel)
	if err != nil {
		t.Fatal(err)
	}
	if built.ID != k.ID() || built.Version != "1.2.3" || built.GeckoID != "x@example.com" {
		t.Fatalf("built %+v", built)
	}
	b, _ := os.ReadFile(filepath.Join(out, extpack.CRXName))
	crx, err := extpack.ParseCRX(b)
	if err != nil || crx.ID != k.ID() {
		t.Fatalf("crx: %v, id %v", err, crx)
	}
	m := readZipManifest(t, crx.Zip)
	der, _ := base64.StdEncoding.DecodeString(m["key"].(string))
	if extpack.IDFromPublicKey(der) != k.ID() || m["update_url"] != rel.UpdateURL() || m["browser_specific_settings"] != nil {
		t.Fatalf("packed manifest key/update_url/gecko: %v %v %v", m["key"], m["update_url"], m["browser_specific_settings"])
	}

	var g struct {
		Apps []struct {
			AppID string `xml:"appid,attr"`
			Check struct {
				Codebase string `xml:"codebase,attr"`
				Version  string `xml:"version,attr"`
				Min      string `xml:"prodversionmin,attr"`
			} `xml:"updatecheck"`
		} `xml:"app"`
	}
	ux, _ := os.ReadFile(filepath.Join(out, extpack.UpdatesXMLName))
	if err := xml.Unmarshal(ux, &g); err != nil || len(g.Apps) != 1 {
		t.Fatalf("updates.xml: %v\n%s", err, ux)
	}
	a := g.Apps[0]
	if a.AppID != k.ID() || a.Check.Version != "1.2.3" || a.Check.Min != "116" ||
		a.Check.Codebase != "https://cti.example.com/extension/crmcti.crx?v=1.2.3" {
		t.Fatalf("updates.xml: %+v", a)
	}
}

func TestFirefoxBuildRunsTheBackgroundAsScripts(t *testing.T) {
	root, out := buildTree(t), t.TempDir()
	if _, err := extpack.Build(root, out, extpack.Release{Key: testKey(t), BaseURL: "https://cti.example.com/extension/"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, extpack.XPIName))
	m := readZipManifest(t, b)
	bg, _ := json.Marshal(m["background"])
	if string(bg) != `{"scripts":["extension/register.js","extension/wasm_exec.js","extension/background.js"]}` {
		t.Fatalf("background %s", bg)
	}
	gecko, _ := json.Marshal(m["browser_specific_settings"])
	if string(gecko) != `{"gecko":{"id":"x@example.com","update_url":"https://cti.example.com/extension/updates.json"}}` {
		t.Fatalf("gecko %s", gecko)
	}
	for _, k := range []string{"key", "minimum_chrome_version", "update_url"} {
		if m[k] != nil {
			t.Errorf("xpi manifest keeps Chrome-only %q", k)
		}
	}
	var u map[string]map[string]struct {
		Updates []struct{ Version, Update_link string }
	}
	uj, _ := os.ReadFile(filepath.Join(out, extpack.UpdatesJSONName))
	if err := json.Unmarshal(uj, &u); err != nil || u["addons"]["x@example.com"].Updates[0].Update_link != "https://cti.example.com/extension/crmcti.xpi" {
		t.Fatalf("updates.json %v %s", err, uj)
	}
}

func TestBuildRefusesABaseURLBrowsersCannotUse(t *testing.T) {
	for _, base := range []string{"", "cti.example.com/extension/", "https://cti.example.com/extension", "ftp://x/"} {
		_, err := extpack.Build(buildTree(t), t.TempDir(), extpack.Release{Key: testKey(t), BaseURL: base})
		if err == nil || !strings.Contains(err.Error(), "base URL") {
			t.Errorf("base %q: %v", base, err)
		}
	}
}
