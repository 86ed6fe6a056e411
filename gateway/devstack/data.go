package devstack

import (
	"context"
	_ "embed"
	"net"
	"time"
)

// The demo directory and customers. Every person in the directory has the
// password DemoPassword; see demodata/directory.ldif for who is who.
const (
	DemoSuffix   = "dc=example,dc=com"
	DemoPeople   = "ou=people," + DemoSuffix
	DemoCTIGroup = "cn=cti-agents,ou=groups," + DemoSuffix
	// DemoBindDN is the gateway's service account, used to find users.
	DemoBindDN       = "cn=ctigateway,ou=services," + DemoSuffix
	DemoBindPassword = "gateway-secret"
	DemoPassword     = "demo"
)

// DemoLDIF holds agents alice..henry (extensions 1001-1008, CTI enabled),
// mallory (extension 1050, not in the CTI group) and nigel (in the group,
// no extension).
//
//go:embed demodata/directory.ldif
var DemoLDIF string

// DemoContactsCSV holds 320 customers with numbers in national and
// international formats; C000001 and C000002 share +357 22 123456.
//
//go:embed demodata/contacts.csv
var DemoContactsCSV string

func dialerFor(ctx context.Context) *net.Dialer {
	d := &net.Dialer{Timeout: 2 * time.Second}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	return d
}
