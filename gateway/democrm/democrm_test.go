package democrm_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crmcti/gateway/democrm"
	"crmcti/gateway/devstack"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	cs, err := democrm.ParseCSV(strings.NewReader(devstack.DemoContactsCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) < 300 {
		t.Fatalf("demo fixture has %d customers, want a few hundred", len(cs))
	}
	srv := httptest.NewServer(democrm.New(cs))
	t.Cleanup(srv.Close)
	return srv
}

func TestPageHasStrictCSP(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/", "/customers/C000001", "/static/app.js"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") != "script-src 'self'" {
			t.Errorf("%s: status %d, CSP %q", path, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
	}
}

func TestSearchByNameCodeAndNumber(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		q    string
		want []string
	}{
		{"C000003", []string{"C000003"}},
		{"constantinou trading", []string{"C000002"}},
		// The shared number: a person and their company.
		{"22 123 456", []string{"C000001", "C000002"}},
		{"+357 22123456", []string{"C000001", "C000002"}},
	}
	for _, c := range cases {
		var got []democrm.Customer
		res, err := http.Get(srv.URL + "/api/customers?q=" + strings.ReplaceAll(c.q, " ", "%20"))
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		var codes []string
		for _, g := range got {
			codes = append(codes, g.Code)
		}
		if strings.Join(codes, ",") != strings.Join(c.want, ",") {
			t.Errorf("search %q = %v, want %v", c.q, codes, c.want)
		}
	}
}

func TestUnknownCustomerIs404(t *testing.T) {
	srv := newServer(t)
	res, err := http.Get(srv.URL + "/api/customers/NOPE")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("status %d", res.StatusCode)
	}
}
