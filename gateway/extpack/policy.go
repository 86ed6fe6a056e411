package extpack

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Policy is the one source every policy template is generated from: the
// admin's settings (validated against the managed-storage schema), the
// extension IDs and where the gateway serves the packages.
type Policy struct {
	Schema    *Schema
	Settings  map[string]any
	ID        string // Chrome/Edge extension ID (from the admin's key)
	UpdateURL string // the gupdate manifest on the gateway
	GeckoID   string // Firefox add-on ID
	XPIURL    string // the .xpi on the gateway
}

// The template files, by name.
const (
	LinuxPolicy          = "linux.json"
	WindowsChromePolicy  = "windows-chrome.reg"
	WindowsEdgePolicy    = "windows-edge.reg"
	MacChromePolicy      = "macos-chrome.mobileconfig"
	MacEdgePolicy        = "macos-edge.mobileconfig"
	FirefoxPolicy        = "firefox-policies.json"
	ChromeADMXURL        = "https://chromeenterprise.google/browser/download/#manage-policies-tab"
	EdgeADMXURL          = "https://www.microsoft.com/edge/business/download"
	chromeWindowsRegRoot = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Google\Chrome`
	edgeWindowsRegRoot   = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Edge`
)

// Templates renders every policy template. The settings must name the
// CRM (crmUrlPatterns): the extension reaches no page but those, and the
// policy narrows its host access to their hosts (runtime_allowed_hosts).
func (p Policy) Templates() (map[string][]byte, error) {
	if err := p.Schema.Validate(p.Settings); err != nil {
		return nil, err
	}
	hosts, err := RuntimeHosts(p.Settings["crmUrlPatterns"])
	if err != nil {
		return nil, err
	}
	ext := p.extensionSettings(hosts)
	linux, err := jsonDoc(map[string]any{"ExtensionSettings": ext,
		"3rdparty": map[string]any{"extensions": map[string]any{p.ID: p.Settings}}})
	if err != nil {
		return nil, err
	}
	firefox, err := jsonDoc(map[string]any{"policies": map[string]any{
		"ExtensionSettings": map[string]any{p.GeckoID: map[string]any{
			"installation_mode": "force_installed", "install_url": p.XPIURL}},
		"3rdparty": map[string]any{"Extensions": map[string]any{p.GeckoID: p.Settings}}}})
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{LinuxPolicy: linux, FirefoxPolicy: firefox}
	for _, b := range []struct{ reg, mac, name, root, domain, admx string }{
		{WindowsChromePolicy, MacChromePolicy, "Google Chrome", chromeWindowsRegRoot, "com.google.Chrome", ChromeADMXURL},
		{WindowsEdgePolicy, MacEdgePolicy, "Microsoft Edge", edgeWindowsRegRoot, "com.microsoft.Edge", EdgeADMXURL},
	} {
		if out[b.reg], err = p.registry(b.name, b.root, b.admx, ext); err != nil {
			return nil, err
		}
		out[b.mac] = p.mobileconfig(b.name, b.domain, ext)
	}
	return out, nil
}

// extensionSettings is the ExtensionSettings entry of Chrome and Edge:
// force-install from the gateway, and host access narrowed at run time to
// the CRM's hosts. Policy-installed extensions keep their manifest host
// permissions (users cannot withhold them), so this is where an admin
// takes back what the broad manifest declares.
func (p Policy) extensionSettings(hosts []string) map[string]any {
	return map[string]any{p.ID: map[string]any{
		"installation_mode":     "force_installed",
		"update_url":            p.UpdateURL,
		"runtime_blocked_hosts": []string{"*://*"},
		"runtime_allowed_hosts": hosts,
	}}
}

// RuntimeHosts turns CRM match patterns into the scheme://host entries
// that runtime_allowed_hosts takes (no port, no path).
func RuntimeHosts(patterns any) ([]string, error) {
	list, _ := patterns.([]any)
	if len(list) == 0 {
		return nil, errors.New("extpack: settings: crmUrlPatterns is required: the CTI panel appears only on the CRM pages it names, e.g. [\"https://crm.example.com/*\"]")
	}
	seen := map[string]bool{}
	var hosts []string
	for _, v := range list {
		pat, _ := v.(string)
		scheme, rest, ok := strings.Cut(pat, "://")
		host, _, _ := strings.Cut(rest, "/")
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !ok || host == "" || (scheme != "https" && scheme != "http" && scheme != "*") {
			return nil, fmt.Errorf("extpack: settings: crmUrlPatterns: %q is not a match pattern like https://crm.example.com/*", pat)
		}
		if h := scheme + "://" + host; !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

func jsonDoc(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("extpack: policy: %w", err)
	}
	return append(b, '\n'), nil
}

// registry renders a .reg file: ExtensionSettings as the JSON string
// Chrome and Edge read on Windows, and the extension's settings under
// 3rdparty\extensions\<id>\policy, lists as numbered values of a subkey.
// The extension's key is deleted first, so a setting removed from the
// source does not linger in the registry.
func (p Policy) registry(browser, root, admx string, ext map[string]any) ([]byte, error) {
	extJSON, err := json.Marshal(ext)
	if err != nil {
		return nil, fmt.Errorf("extpack: policy: %w", err)
	}
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\n\n")
	fmt.Fprintf(&b, "; CRM CTI for %s, generated by ctipack from schema/managed_storage.json.\n", browser)
	fmt.Fprintf(&b, "; Import on a test machine (reg import), or set the same values by Group Policy\n")
	fmt.Fprintf(&b, "; with the vendor's ADMX templates: %s\n", admx)
	b.WriteString("; Off-store force-install works only on domain-joined or MDM/cloud-managed machines.\n")
	b.WriteString("; ExtensionSettings replaces the whole policy: merge in other extensions' entries.\n\n")
	fmt.Fprintf(&b, "[%s]\n\"ExtensionSettings\"=\"%s\"\n\n", root, regString(string(extJSON)))
	key := root + `\3rdparty\extensions\` + p.ID
	fmt.Fprintf(&b, "[-%s]\n\n[%s\\policy]\n", key, key)
	var lists []string
	for _, k := range sortedKeys(p.Settings) {
		if _, ok := p.Settings[k].([]any); ok {
			lists = append(lists, k)
			continue
		}
		b.WriteString(p.regComment(k) + regValue(k, p.Settings[k]) + "\n")
	}
	for _, k := range lists {
		fmt.Fprintf(&b, "\n%s[%s\\policy\\%s]\n", p.regComment(k), key, k)
		for i, v := range p.Settings[k].([]any) {
			b.WriteString(regValue(fmt.Sprint(i+1), v) + "\n")
		}
	}
	return []byte(strings.ReplaceAll(b.String(), "\n", "\r\n")), nil
}

// regComment names a setting by its schema title.
func (p Policy) regComment(k string) string {
	if t := p.Schema.Properties[k].Title; t != "" {
		return fmt.Sprintf("; %s: %s\n", k, t)
	}
	return ""
}

func regValue(name string, v any) string {
	switch v := v.(type) {
	case bool:
		d := 0
		if v {
			d = 1
		}
		return fmt.Sprintf("%q=dword:%08x", name, d)
	case float64:
		return fmt.Sprintf("%q=dword:%08x", name, uint32(v))
	default:
		return fmt.Sprintf("\"%s\"=\"%s\"", regString(name), regString(fmt.Sprint(v)))
	}
}

// regString escapes a string for a .reg file.
func regString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mobileconfig renders a macOS configuration profile with two payloads:
// the browser's ExtensionSettings, and the extension's settings in the
// browser's per-extension domain (<domain>.extensions.<id>). The UUIDs are
// derived from the content's identity, so regenerating does not make MDM
// see a new profile.
func (p Policy) mobileconfig(browser, domain string, ext map[string]any) []byte {
	extDomain := domain + ".extensions." + p.ID
	payload := func(ptype, name string, body map[string]any) map[string]any {
		d := map[string]any{"PayloadType": ptype, "PayloadVersion": 1, "PayloadDisplayName": name,
			"PayloadIdentifier": "crmcti." + ptype, "PayloadUUID": stableUUID(ptype)}
		for k, v := range body {
			d[k] = v
		}
		return d
	}
	profile := payload("Configuration", "CRM CTI for "+browser, map[string]any{
		"PayloadScope":       "System",
		"PayloadDescription": "Force-installs the CRM CTI extension from the gateway and sets its managed settings. Generated by ctipack.",
		"PayloadContent": []any{
			payload(domain, browser+": install CRM CTI", map[string]any{"ExtensionSettings": ext}),
			payload(extDomain, "CRM CTI settings", p.Settings),
		},
	})
	profile["PayloadIdentifier"] = "crmcti.profile." + domain
	profile["PayloadUUID"] = stableUUID("profile " + domain + " " + p.ID)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	plistValue(&b, profile, 0)
	b.WriteString("</plist>\n")
	return b.Bytes()
}

// stableUUID formats a hash of s as a version-4-shaped UUID.
func stableUUID(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// LoadPolicy reads the schema and the admin's settings file into a Policy
// (IDs and URLs still to fill in).
func LoadPolicy(schemaFile, settingsFile string) (Policy, error) {
	sb, err := os.ReadFile(schemaFile)
	if err != nil {
		return Policy{}, fmt.Errorf("extpack: %w", err)
	}
	schema, err := ParseSchema(sb)
	if err != nil {
		return Policy{}, err
	}
	b, err := os.ReadFile(settingsFile)
	if err != nil {
		return Policy{}, fmt.Errorf("extpack: %w", err)
	}
	var settings map[string]any
	if err := json.Unmarshal(b, &settings); err != nil {
		return Policy{}, fmt.Errorf("extpack: settings %s: %w", settingsFile, err)
	}
	if err := schema.Validate(settings); err != nil {
		return Policy{}, fmt.Errorf("%w\n(file %s)", err, settingsFile)
	}
	return Policy{Schema: schema, Settings: settings}, nil
}

// WriteTemplates renders p's templates into dir and returns their paths.
func WriteTemplates(p Policy, dir string) ([]string, error) {
	t, err := p.Templates()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, name := range sortedKeys(anyMap(t)) {
		path := filepath.Join(dir, name)
		if err := writeAtomic(path, t[name]); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}

func anyMap(m map[string][]byte) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
