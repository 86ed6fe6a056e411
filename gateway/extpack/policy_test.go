package extpack_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"crmcti/gateway/extpack"
)

var update = flag.Bool("update", false, "rewrite schema/policy/ from the generator")

// examplePolicy is what schema/policy/ holds: the templates for the
// repository's development ID and the example settings.
func examplePolicy(t *testing.T) extpack.Policy {
	t.Helper()
	p, err := extpack.LoadPolicy("../../schema/managed_storage.json", "../../schema/policy/settings.example.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("../../manifest.json")
	var m struct{ Key string }
	json.Unmarshal(b, &m)
	der, _ := base64.StdEncoding.DecodeString(m.Key)
	p.ID = extpack.IDFromPublicKey(der)
	if p.GeckoID, err = extpack.GeckoID(b); err != nil {
		t.Fatal(err)
	}
	rel := extpack.Release{BaseURL: "https://cti.example.com/extension/"}
	p.UpdateURL, p.XPIURL = rel.UpdateURL(), rel.XPIURL()
	return p
}

// Every template carries every setting of the example, each one valid
// against the managed-storage schema, and the install entry pointing at
// the gateway. Each format is read back the way the browser would.
func TestEveryTemplateCarriesTheSchemasSettings(t *testing.T) {
	p := examplePolicy(t)
	for _, k := range p.Schema.Keys() {
		if _, ok := p.Settings[k]; !ok {
			t.Errorf("settings.example.json does not document %q", k)
		}
	}
	tpl, err := p.Templates()
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func([]byte, extpack.Policy) (map[string]any, map[string]any, error){
		extpack.LinuxPolicy: readLinux, extpack.FirefoxPolicy: readFirefox,
		extpack.WindowsChromePolicy: readReg, extpack.WindowsEdgePolicy: readReg,
		extpack.MacChromePolicy: readMobileconfig("com.google.Chrome"), extpack.MacEdgePolicy: readMobileconfig("com.microsoft.Edge"),
	} {
		settings, install, err := read(tpl[name], p)
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, tpl[name])
			continue
		}
		if err := p.Schema.Validate(settings); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(settings, p.Settings) {
			t.Errorf("%s settings:\n%v\nwant\n%v", name, settings, p.Settings)
		}
		if install["installation_mode"] != "force_installed" || (install["update_url"] != p.UpdateURL && install["install_url"] != p.XPIURL) {
			t.Errorf("%s install entry %v", name, install)
		}
	}
}

// The examples in schema/policy/ are the generator's output (go test
// ./gateway/extpack -update rewrites them), so they never drift from the
// schema.
func TestCommittedExamplesAreGenerated(t *testing.T) {
	tpl, err := examplePolicy(t).Templates()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range tpl {
		path := filepath.Join("../../schema/policy", name)
		if *update {
			os.WriteFile(path, want, 0o644)
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator; run go test ./gateway/extpack -update", path)
		}
	}
}

func TestSettingsOutsideTheSchemaAreRefusedAllAtOnce(t *testing.T) {
	p := examplePolicy(t)
	p.Settings = map[string]any{"gatewayURL": "x", "matchPolicy": "first", "crmUrlPatterns": []any{"https://crm/*", 7}}
	_, err := p.Templates()
	for _, want := range []string{"gatewayURL: not a setting", `"first" is not one of`, "crmUrlPatterns: item 2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
	p.Settings = map[string]any{"gatewayUrl": "wss://x/ws"}
	if _, err := p.Templates(); err == nil || !strings.Contains(err.Error(), "crmUrlPatterns is required") {
		t.Errorf("no CRM patterns: %v", err)
	}
}

func TestRuntimeHostsFromCRMPatterns(t *testing.T) {
	got, err := extpack.RuntimeHosts([]any{"https://crm.example.com/*", "https://crm.example.com/app/*", "*://*.crm.com/*", "http://10.0.0.5:8080/*"})
	want := []string{"https://crm.example.com", "*://*.crm.com", "http://10.0.0.5"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%v %v, want %v", got, err, want)
	}
	if _, err := extpack.RuntimeHosts([]any{"crm.example.com"}); err == nil {
		t.Fatal("accepted a pattern without a scheme")
	}
}

func readLinux(b []byte, p extpack.Policy) (map[string]any, map[string]any, error) {
	var doc struct {
		ExtensionSettings map[string]map[string]any
		ThirdParty        struct{ Extensions map[string]map[string]any } `json:"3rdparty"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, err
	}
	return doc.ThirdParty.Extensions[p.ID], doc.ExtensionSettings[p.ID], nil
}

func readFirefox(b []byte, p extpack.Policy) (map[string]any, map[string]any, error) {
	var doc struct {
		Policies struct {
			ExtensionSettings map[string]map[string]any
			ThirdParty        struct{ Extensions map[string]map[string]any } `json:"3rdparty"`
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, err
	}
	return doc.Policies.ThirdParty.Extensions[p.GeckoID], doc.Policies.ExtensionSettings[p.GeckoID], nil
}

// readReg reads a .reg file the way Chrome's registry policy loader maps
// it: REG_SZ values, a subkey of numbered values for a list.
func readReg(b []byte, p extpack.Policy) (map[string]any, map[string]any, error) {
	text := string(b)
	if !strings.HasPrefix(text, "Windows Registry Editor Version 5.00\r\n") || strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") {
		return nil, nil, fmt.Errorf("not a REGEDIT5 file with CRLF lines")
	}
	keys := map[string]map[string]string{}
	var cur string
	for _, line := range strings.Split(text, "\r\n") {
		switch {
		case strings.HasPrefix(line, "[-"), line == "", strings.HasPrefix(line, ";"), strings.HasPrefix(line, "Windows Registry"):
		case strings.HasPrefix(line, "["):
			cur = strings.Trim(line, "[]")
			keys[cur] = map[string]string{}
		default:
			name, val, ok := strings.Cut(line, "=")
			if !ok || !strings.HasPrefix(val, `"`) {
				return nil, nil, fmt.Errorf("line %q", line)
			}
			keys[cur][unreg(name)] = unreg(val)
		}
	}
	settings := map[string]any{}
	var install map[string]map[string]any
	for key, vals := range keys {
		if v, ok := vals["ExtensionSettings"]; ok {
			if err := json.Unmarshal([]byte(v), &install); err != nil {
				return nil, nil, err
			}
		}
		_, after, ok := strings.Cut(key, `\3rdparty\extensions\`+p.ID+`\policy`)
		if !ok {
			continue
		}
		if after == "" {
			for k, v := range vals {
				settings[k] = v
			}
			continue
		}
		var list []any
		for i := 1; vals[fmt.Sprint(i)] != ""; i++ {
			list = append(list, vals[fmt.Sprint(i)])
		}
		settings[strings.TrimPrefix(after, `\`)] = list
	}
	return settings, install[p.ID], nil
}

func unreg(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	return strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(s)
}

// readMobileconfig decodes the profile's plist and finds the browser's
// ExtensionSettings payload and the extension's own domain payload.
func readMobileconfig(domain string) func([]byte, extpack.Policy) (map[string]any, map[string]any, error) {
	return func(b []byte, p extpack.Policy) (map[string]any, map[string]any, error) {
		d := xml.NewDecoder(bytes.NewReader(b))
		var root any
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, nil, err
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "dict" {
				if root, err = plistDecode(d, se); err != nil {
					return nil, nil, err
				}
				break
			}
		}
		profile, _ := root.(map[string]any)
		var settings, install map[string]any
		for _, pl := range profile["PayloadContent"].([]any) {
			pm := pl.(map[string]any)
			switch pm["PayloadType"] {
			case domain:
				install = pm["ExtensionSettings"].(map[string]any)[p.ID].(map[string]any)
			case domain + ".extensions." + p.ID:
				settings = map[string]any{}
				for k, v := range pm {
					if !strings.HasPrefix(k, "Payload") {
						settings[k] = v
					}
				}
			}
		}
		return settings, install, nil
	}
}

func plistDecode(d *xml.Decoder, se xml.StartElement) (any, error) {
	switch se.Name.Local {
	case "dict", "array":
		var keys []string
		var vals []any
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch tk := tok.(type) {
			case xml.EndElement:
				if se.Name.Local == "array" {
					return vals, nil
				}
				m := map[string]any{}
				for i, k := range keys {
					m[k] = vals[i]
				}
				return m, nil
			case xml.StartElement:
				if tk.Name.Local == "key" {
					var k string
					d.DecodeElement(&k, &tk)
					keys = append(keys, k)
					continue
				}
				v, err := plistDecode(d, tk)
				if err != nil {
					return nil, err
				}
				vals = append(vals, v)
			}
		}
	case "true", "false":
		d.Skip()
		return se.Name.Local == "true", nil
	default:
		var s string
		if err := d.DecodeElement(&s, &se); err != nil {
			return nil, err
		}
		if se.Name.Local == "integer" {
			var n float64
			fmt.Sscan(s, &n)
			return n, nil
		}
		return s, nil
	}
}
