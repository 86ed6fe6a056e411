package app_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/app"
	"crmcti/gateway/gatewaytest"
	gwhttp "crmcti/gateway/http"
	"crmcti/gateway/wire"
)

// What ctigateway serve offers beside the agents' WebSocket: the CRM
// pushes a new customer through the directory API and an agent's lookup
// finds her at once; browsers fetch the update manifest from
// -extension-dir.
func TestServeMountsTheDirectoryAPIAndTheExtension(t *testing.T) {
	dir := t.TempDir()
	manifest := `<?xml version="1.0" encoding="UTF-8"?><gupdate xmlns="http://www.google.com/update2/response" protocol="2.0"></gupdate>`
	if err := os.WriteFile(filepath.Join(dir, "updates.xml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	sys := gatewaytest.Start(t, gatewaytest.Options{Configure: func(c *app.Config) { c.ExtensionDir = dir }})
	base := "http://" + sys.App.Addr

	res, err := http.Get(base + gwhttp.ExtensionPrefix + "updates.xml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "xml") || string(body) != manifest {
		t.Fatalf("update manifest: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}

	put := func(token string) int {
		req, _ := http.NewRequest(http.MethodPut, base+"/api/v1/contacts/CX900",
			strings.NewReader(`{"full_name":"Xenia Pushed","phones":[{"kind":"mobile","number":"+357 99 900900"}]}`))
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := put("not-a-token"); code != http.StatusUnauthorized {
		t.Fatalf("a PUT without a valid token: %d", code)
	}
	token, hash, err := gwhttp.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.App.DB.CreateAPIToken(context.Background(), "crm", gateway.ScopeDirectory, hash); err != nil {
		t.Fatal(err)
	}
	if code := put(token); code != http.StatusOK {
		t.Fatalf("PUT with the CRM's token: %d", code)
	}
	c := gatewaytest.Dial(t, sys.URL())
	c.Login("alice", "demo")
	var found wire.LookupResult
	c.Do(wire.TLookup, wire.Lookup{Number: "+35799900900"}, &found)
	if len(found.Matches) != 1 || found.Matches[0].Contact.Code != "CX900" {
		t.Fatalf("lookup after the push: %+v", found)
	}
}
