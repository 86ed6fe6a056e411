package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway/devstack"
	gwhttp "crmcti/gateway/http"
	"crmcti/gateway/postgres"
)

func TestImportContactsModes(t *testing.T) {
	pg := devstack.PostgresForTest(t)
	t.Setenv("CTI_DATABASE_URL", pg.URL())
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var rows strings.Builder
	rows.WriteString("code,full_name,mobile\n")
	for i := range 30 {
		rows.WriteString("C" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + ",Customer,+357 99 1000" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "\n")
	}
	full := rows.String()
	// A batch with a NUL, a control character and a Latin-1 byte among good rows.
	bad := full + "X1,Nul\x00,\nX2,Bell\a,\nX3,Caf\xe9,\nX4,Good One,+357 22 999999\n"
	out, err := capture(t, func() error { return run([]string{"import-contacts", "-full", write("bad.csv", bad)}) })
	if err != nil {
		t.Fatalf("%q %v", out, err)
	}
	for _, want := range []string{
		"rejected line 32 X1: full_name contains a NUL",
		"rejected line 33 X2: full_name contains the control character U+0007",
		"rejected line 34 X3: full_name is not valid UTF-8",
		"accepted 31 contacts, rejected 3 rows: added 31, updated 0, unchanged 0, removed 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A truncated export is refused, and changes nothing.
	truncated := write("truncated.csv", strings.Join(strings.SplitAfter(full, "\n")[:10], ""))
	out, err = capture(t, func() error { return run([]string{"import-contacts", "-full", truncated}) })
	if err == nil || !strings.Contains(err.Error(), "would remove 22 of 31 contacts") {
		t.Fatalf("truncated export: %q %v", out, err)
	}
	// NDJSON, incremental, with an explicit deletion.
	nd := write("changes.ndjson", `{"code":"X4","action":"delete"}`+"\n"+`{"code":"CAa","full_name":"Renamed","phones":[{"kind":"mobile","number":"+357 99 100000"}]}`+"\n")
	out, err = capture(t, func() error { return run([]string{"import-contacts", nd}) })
	if err != nil || !strings.Contains(out, "added 0, updated 1, unchanged 0, removed 1") {
		t.Fatalf("ndjson: %q %v", out, err)
	}
	// The full export again, forced: the bad rows' contacts stay out, X4 is gone.
	out, err = capture(t, func() error {
		return run([]string{"import-contacts", "-full", "-max-remove", "0.5", write("full.csv", full)})
	})
	if err != nil || !strings.Contains(out, "added 0, updated 1, unchanged 29, removed 0") {
		t.Fatalf("full again: %q %v", out, err)
	}
	db, err := postgres.Open(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if ms, err := db.LookupNumber(context.Background(), "+35722999999", "22999999"); err != nil || len(ms) != 0 {
		t.Fatalf("deleted contact still identifies: %+v %v", ms, err)
	}
	if _, err := capture(t, func() error { return run([]string{"import-contacts", "-format", "xml", nd}) }); err == nil {
		t.Fatal("-format xml accepted")
	}
}

func TestTokenCommands(t *testing.T) {
	pg := devstack.PostgresForTest(t)
	t.Setenv("CTI_DATABASE_URL", pg.URL())
	out, err := capture(t, func() error { return run([]string{"token", "create", "crm"}) })
	token := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(token, "cti_") || len(token) < 40 {
		t.Fatalf("create: %q %v", out, err)
	}
	if _, err := capture(t, func() error { return run([]string{"token", "create", "crm"}) }); err == nil {
		t.Fatal("a second valid token with the same name was created")
	}
	out, err = capture(t, func() error { return run([]string{"token", "list"}) })
	if err != nil || !strings.Contains(out, "crm") || strings.Contains(out, token) {
		t.Fatalf("list: %q %v", out, err)
	}
	db, err := postgres.Open(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.APIToken(context.Background(), gwhttp.HashAPIToken(token)); err != nil {
		t.Fatalf("the printed token does not authenticate: %v", err)
	}
	if _, err := capture(t, func() error { return run([]string{"token", "revoke", "crm"}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.APIToken(context.Background(), gwhttp.HashAPIToken(token)); err == nil {
		t.Fatal("a revoked token still authenticates")
	}
	for _, args := range [][]string{{"token"}, {"token", "list", "x"}, {"token", "create"}, {"token", "revoke", "nosuch"}} {
		if _, err := capture(t, func() error { return run(args) }); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestPullContactsNeedsHTTPS(t *testing.T) {
	for _, args := range [][]string{{"pull-contacts"}, {"pull-contacts", "-pull-url", "http://crm.example.com/export.csv"}} {
		if _, err := capture(t, func() error { return run(args) }); err == nil || !strings.Contains(err.Error(), "https") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
