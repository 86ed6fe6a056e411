package devstack

import (
	"context"
	"testing"
	"time"
)

// PostgresForTest starts a private PostgreSQL for one test (or, from
// TestMain-held state, a package) and stops it at cleanup. A missing server
// binary fails the test with the install command; it never skips.
func PostgresForTest(tb testing.TB) *Postgres {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg, err := StartPostgres(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := pg.Close(); err != nil {
			tb.Error(err)
		}
	})
	return pg
}

// LDAPForTest starts a private slapd loaded with opts (zero value: the demo
// directory) and stops it at cleanup.
func LDAPForTest(tb testing.TB, opts LDAPOptions) *LDAP {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := StartLDAP(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Error(err)
		}
	})
	return l
}
