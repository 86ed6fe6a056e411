package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmcti/gateway/devstack"
	"crmcti/gateway/postgres"
)

func capture(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stdout
	os.Stdout = w
	err := f()
	w.Close()
	os.Stdout = old
	b, _ := io.ReadAll(r)
	return string(b), err
}

func TestMigrateAndImportContacts(t *testing.T) {
	pg := devstack.PostgresForTest(t)
	t.Setenv("CTI_DATABASE_URL", pg.URL())
	out, err := capture(t, func() error { return run([]string{"migrate"}) })
	if err != nil || !strings.Contains(out, "applied 001_init.sql") {
		t.Fatalf("migrate: %q %v", out, err)
	}
	out, _ = capture(t, func() error { return run([]string{"migrate"}) })
	if !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %q", out)
	}
	file := filepath.Join(t.TempDir(), "contacts.csv")
	os.WriteFile(file, []byte(devstack.DemoContactsCSV+",No Code,Individual,,,,,\n"), 0o644)
	for range 2 { // idempotent
		out, err = capture(t, func() error { return run([]string{"import-contacts", file}) })
		if err != nil || !strings.Contains(out, "accepted 320 contacts, rejected 1 rows") || !strings.Contains(out, "no code") {
			t.Fatalf("import: %q %v", out, err)
		}
	}
	db, err := postgres.Open(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := db.LookupNumber(context.Background(), "+35722123456", "22123456")
	if err != nil || len(ms) != 2 {
		t.Fatalf("after import: %+v %v", ms, err)
	}
}

func TestBadConfigIsRefusedClearly(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "-default-region", "XX"},
		{"serve", "-log-level", "loud"},
		{"frobnicate"},
		{"import-contacts"},
		{"serve", "-pbx-profile", "avaya", "-pbx-user", "cti"},
		{"serve", "-pbx-device-template", "+3572210"},
		{"serve", "-pbx-profile", "siemens"},
	} {
		if _, err := capture(t, func() error { return run(args) }); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := capture(t, func() error { return run([]string{"-h"}) }); err == nil {
		t.Error("-h should return flag.ErrHelp")
	}
}
