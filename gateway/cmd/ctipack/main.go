// Command ctipack builds what an admin deploys: the zip (for stores and
// manual installs), the signed CRX3 and .xpi with their update manifests
// (served by ctigateway serve -extension-dir), and the policy templates
// for Chrome, Edge and Firefox on every OS. It only wires gateway/extpack.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"crmcti/gateway/extpack"
)

type config struct {
	root, out, key, baseURL, settings string
}

func main() {
	var c config
	flag.StringVar(&c.root, "root", ".", "repository root holding manifest.json and extension/")
	flag.StringVar(&c.out, "out", "dist", "output directory")
	flag.StringVar(&c.key, "key", "", "the admin's signing key (PEM), kept outside the repository; created if absent. It fixes the extension ID: keep it and back it up")
	flag.StringVar(&c.baseURL, "base-url", "", "where the gateway serves the extension, e.g. https://cti.example.com/extension/")
	flag.StringVar(&c.settings, "settings", "", "the extension's managed settings for the policy templates (JSON; see schema/policy/settings.example.json)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ctipack:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	m, err := extpack.ReadManifest(c.root)
	if err != nil {
		return err
	}
	zipName, err := writeZip(c, m.Version)
	if err != nil {
		return err
	}
	fmt.Println(zipName)
	if c.key == "" {
		fmt.Println("no -key: built the zip only (a CRX for force-install needs your signing key)")
		return nil
	}
	key, err := loadKey(c)
	if err != nil {
		return err
	}
	rel := extpack.Release{Key: key, BaseURL: c.baseURL}
	if strings.HasPrefix(c.baseURL, "http://") {
		fmt.Fprintln(os.Stderr, "ctipack: warning: -base-url is http: Firefox installs add-ons only with https update URLs; serve the gateway with -tls-cert/-tls-key")
	}
	built, err := extpack.Build(c.root, c.out, rel)
	if err != nil {
		return err
	}
	for _, f := range built.Files {
		fmt.Println(f)
	}
	if c.settings != "" {
		if err := writePolicies(c, rel, built); err != nil {
			return err
		}
	}
	fmt.Printf("extension ID (Chrome, Edge): %s\nadd-on ID (Firefox): %s\nversion: %s\nupdate URL: %s\n",
		built.ID, built.GeckoID, built.Version, rel.UpdateURL())
	fmt.Printf("copy %s to the gateway's -extension-dir; allow the origin with -allowed-origins chrome-extension://%s\n", c.out, built.ID)
	return nil
}

func writeZip(c config, version string) (string, error) {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(c.out, fmt.Sprintf("crmcti-extension-%s.zip", version))
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	if err := extpack.Pack(c.root, f); err != nil {
		f.Close()
		os.Remove(name)
		return "", err
	}
	return name, f.Close()
}

// loadKey refuses a key inside the repository (it would end up committed)
// and says loudly when it made a new one.
func loadKey(c config) (*extpack.Key, error) {
	root, err1 := filepath.Abs(c.root)
	key, err2 := filepath.Abs(c.key)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(root, key); err == nil && !strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("-key %s is inside the repository %s: keep the signing key outside it (for example ~/.config/crmcti/extension-key.pem) so it is never committed", c.key, root)
	}
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		return nil, err
	}
	k, created, err := extpack.LoadOrCreateKey(key)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(os.Stderr, "ctipack: created a NEW signing key %s (extension ID %s).\n"+
			"  Back it up and keep it secret: every later release must be signed with it,\n"+
			"  or browsers see a different extension and policies stop matching.\n", key, k.ID())
	}
	return k, nil
}

func writePolicies(c config, rel extpack.Release, built *extpack.Built) error {
	schemaFile, err := managedSchemaPath(c.root)
	if err != nil {
		return err
	}
	pol, err := extpack.LoadPolicy(schemaFile, c.settings)
	if err != nil {
		return err
	}
	pol.ID, pol.UpdateURL, pol.GeckoID, pol.XPIURL = built.ID, rel.UpdateURL(), built.GeckoID, rel.XPIURL()
	files, err := extpack.WriteTemplates(pol, filepath.Join(c.out, "policy"))
	for _, f := range files {
		fmt.Println(f)
	}
	return err
}

func managedSchemaPath(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		return "", err
	}
	var m struct {
		Storage struct {
			ManagedSchema string `json:"managed_schema"`
		} `json:"storage"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Storage.ManagedSchema == "" {
		return "", fmt.Errorf("manifest.json names no storage.managed_schema (%v)", err)
	}
	return filepath.Join(root, m.Storage.ManagedSchema), nil
}
