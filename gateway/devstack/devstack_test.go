package devstack_test

import (
	"context"
	"os"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5"

	"crmcti/gateway/devstack"
)

func TestPostgresWriteReadStopStart(t *testing.T) {
	ctx := context.Background()
	pg := devstack.PostgresForTest(t)

	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// Stopping and starting again keeps the data: tests rely on this to
	// make the database vanish mid-call.
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, pg.URL()); err == nil {
		t.Fatal("connected to a stopped server")
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, `SELECT v FROM t`).Scan(&v); err != nil || v != "kept" {
		t.Fatalf("read back %q, %v; want kept", v, err)
	}
}

func TestPostgresCloseLeavesNothing(t *testing.T) {
	ctx := context.Background()
	pg, err := devstack.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url, dir := pg.URL(), pg.Dir()
	if err := pg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Fatal("server still answers after Close")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data dir %s still there after Close (%v)", dir, err)
	}
}

func TestLDAPBindAndSearchDemoDirectory(t *testing.T) {
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{})
	c, err := ldap.DialURL(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("uid=alice,"+devstack.DemoPeople, devstack.DemoPassword); err != nil {
		t.Fatalf("alice bind: %v", err)
	}
	if err := c.Bind("uid=alice,"+devstack.DemoPeople, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("wrong password: got %v, want invalid credentials", err)
	}
	if err := c.Bind(devstack.DemoBindDN, devstack.DemoBindPassword); err != nil {
		t.Fatalf("service bind: %v", err)
	}
	res, err := c.Search(ldap.NewSearchRequest(devstack.DemoCTIGroup, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(member=uid=nigel,"+devstack.DemoPeople+")", []string{"cn"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("nigel in CTI group: %v entries, %v", len(res.Entries), err)
	}
	res, err = c.Search(ldap.NewSearchRequest(devstack.DemoPeople, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=bob)", []string{"telephoneNumber"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("telephoneNumber") != "1002" {
		t.Fatalf("bob's extension: %+v, %v", res.Entries, err)
	}
}

func TestLDAPCustomData(t *testing.T) {
	l := devstack.LDAPForTest(t, devstack.LDAPOptions{Suffix: "dc=test", LDIF: "dn: dc=test\nobjectClass: dcObject\nobjectClass: organization\no: t\ndc: test\n"})
	c, err := ldap.DialURL(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(l.AdminDN, l.AdminPassword); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ldap.NewSearchRequest("dc=test", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(o=t)", nil, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("got %d entries, %v", len(res.Entries), err)
	}
}
