package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAP is a throwaway OpenLDAP slapd: its own config and MDB database in a
// temp dir, loaded from LDIF before start, listening only on a random
// loopback port.
type LDAP struct {
	Port int
	// LDAPSPort serves ldaps:// when the options gave a certificate.
	LDAPSPort int
	Suffix    string
	// AdminDN and AdminPassword are the database's rootdn, for tests that
	// need to change the directory while it runs.
	AdminDN       string
	AdminPassword string

	dir  string
	mu   sync.Mutex
	proc *process
	done bool
}

// LDAPOptions says what the directory holds. The zero value is the demo
// directory.
type LDAPOptions struct {
	Suffix string // default DemoSuffix
	LDIF   string // default the demo directory
	// TLSCertFile and TLSKeyFile (PEM) make slapd offer StartTLS on its
	// ldap:// port and listen on an ldaps:// port too, for tests of the
	// gateway's TLS to the directory.
	TLSCertFile, TLSKeyFile string
}

const slapdConf = `# Private slapd for CRM CTI tests and the demo; generated, not for production.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {{dir}}/slapd.pid
argsfile {{dir}}/slapd.args
sizelimit 1000

database mdb
maxsize 268435456
suffix "{{suffix}}"
rootdn "cn=admin,{{suffix}}"
rootpw {{rootpw}}
directory {{dir}}/data
index objectClass eq
index uid eq
index member eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
`

// StartLDAP writes the config, loads the LDIF with slapadd and starts slapd.
func StartLDAP(ctx context.Context, opts LDAPOptions) (*LDAP, error) {
	if opts.Suffix == "" {
		opts.Suffix = DemoSuffix
	}
	if opts.LDIF == "" {
		opts.LDIF = DemoLDIF
	}
	slapd, err := lookBin("slapd", "slapd", "/usr/sbin/slapd")
	if err != nil {
		return nil, err
	}
	slapadd, err := lookBin("slapd", "slapadd", "/usr/sbin/slapadd")
	if err != nil {
		return nil, err
	}
	l := &LDAP{Suffix: opts.Suffix, AdminDN: "cn=admin," + opts.Suffix, AdminPassword: "admin-secret"}
	if l.dir, err = os.MkdirTemp("", "crmcti-ldap-"); err != nil {
		return nil, fmt.Errorf("devstack: slapd: %w", err)
	}
	conf := strings.NewReplacer("{{dir}}", l.dir, "{{suffix}}", l.Suffix, "{{rootpw}}", l.AdminPassword).Replace(slapdConf)
	if opts.TLSCertFile != "" {
		conf = fmt.Sprintf("TLSCertificateFile %s\nTLSCertificateKeyFile %s\n", opts.TLSCertFile, opts.TLSKeyFile) + conf
	}
	confPath := filepath.Join(l.dir, "slapd.conf")
	ldifPath := filepath.Join(l.dir, "data.ldif")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err == nil {
		err = os.WriteFile(ldifPath, []byte(opts.LDIF), 0o600)
	}
	if err == nil {
		err = os.Mkdir(filepath.Join(l.dir, "data"), 0o700)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("devstack: slapd: %w", err)
	}
	if out, err := exec.CommandContext(ctx, slapadd, "-q", "-f", confPath, "-l", ldifPath).CombinedOutput(); err != nil {
		l.Close()
		return nil, fmt.Errorf("devstack: slapadd: %v: %s", err, strings.TrimSpace(string(out)))
	}
	for attempt := 0; ; attempt++ {
		if l.Port, err = freePort(); err != nil {
			break
		}
		if opts.TLSCertFile != "" {
			if l.LDAPSPort, err = freePort(); err != nil {
				break
			}
		}
		if err = l.start(ctx, slapd, confPath); err == nil || attempt == 2 || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *LDAP) start(ctx context.Context, slapd, confPath string) error {
	// -d 0 keeps slapd in the foreground as our child, logging nothing extra.
	urls := l.URL()
	if l.LDAPSPort != 0 {
		urls += " " + l.LDAPSURL()
	}
	p, err := startProcess("slapd", filepath.Join(l.dir, "slapd.log"), nil, syscall.SIGTERM,
		slapd, "-d", "0", "-f", confPath, "-h", urls)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := p.waitReady(ctx, func(ctx context.Context) error {
		c, err := ldap.DialURL(l.URL(), ldap.DialWithDialer(dialerFor(ctx)))
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Bind(l.AdminDN, l.AdminPassword)
	}); err != nil {
		_ = p.stop(syscall.SIGKILL, time.Second)
		return err
	}
	l.mu.Lock()
	l.proc = p
	l.mu.Unlock()
	return nil
}

// URL is the ldap:// URL the server listens on.
func (l *LDAP) URL() string { return fmt.Sprintf("ldap://127.0.0.1:%d", l.Port) }

// LDAPSURL is the ldaps:// URL, when the directory was started with a
// certificate.
func (l *LDAP) LDAPSURL() string { return fmt.Sprintf("ldaps://127.0.0.1:%d", l.LDAPSPort) }

// Close stops slapd and removes its files. Safe to call twice.
func (l *LDAP) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil
	}
	l.done = true
	var err error
	if l.proc != nil {
		err = l.proc.stop(syscall.SIGTERM, 10*time.Second)
	}
	if rmErr := os.RemoveAll(l.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("devstack: slapd: remove %s: %w", l.dir, rmErr)
	}
	return err
}

// ProcessGroup is the server's process group, for reading its CPU time.
func (l *LDAP) ProcessGroup() int { return l.proc.processGroup() }
