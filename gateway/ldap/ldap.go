// Package ldap authenticates agents against the company directory: find
// the user's entry with a service account (the filter escaped), bind as
// the user with their password, then check membership of the CTI group
// and read the extension attribute (R1, R12).
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/text/unicode/norm"

	"crmcti/gateway"
)

// Config says where the directory is and how agents are described in it.
type Config struct {
	URL      string // ldap://host:389 or ldaps://host:636
	StartTLS bool   // upgrade ldap:// with StartTLS
	// TLS is the base TLS configuration for ldaps:// and StartTLS. Its
	// ServerName defaults to the URL's host: StartTLS has no host of its
	// own to verify the certificate against.
	TLS *tls.Config
	// CAFile is a PEM file of the certificate authorities that sign the
	// directory's certificate (a company CA), instead of the system's.
	CAFile string
	// BindDN and BindPassword are the service account that searches for
	// users; empty means an anonymous search.
	BindDN, BindPassword string
	UserBase             string // e.g. ou=people,dc=example,dc=com
	UserAttr             string // the login name attribute: uid, sAMAccountName (default uid)
	GroupDN              string // members of this group are CTI enabled
	MemberAttr           string // the group's member attribute (default member)
	ExtensionAttr        string // the phone extension: telephoneNumber, ipPhone (default telephoneNumber)
	DisplayAttr          string // the name shown: cn, displayName (default cn)
	Timeout              time.Duration
	// MaxConcurrent caps the logins checked at once (default 32): in a
	// login storm, ten thousand connections to the directory at once would
	// exhaust its connection table and slow every one of them; the others
	// wait their turn, within their context's deadline.
	MaxConcurrent int
}

// Directory authenticates agents.
type Directory struct {
	cfg    Config
	tls    *tls.Config // nil for plain ldap://
	tlsErr error       // a bad CAFile, reported by every dial
	slots  chan struct{}
	// idle keeps connections bound as the service account, for the next
	// login's search and group check: a login then skips the dial and the
	// service bind (and the directory its connection set-up).
	idle chan *ldap.Conn
	// binders keeps connections used only for the users' own binds: a
	// user bind there leaves the service connection bound as the service,
	// so that a login is three operations on the directory, not four
	// (search, user bind, group check; no rebind as the service). A
	// binder is never searched on, whoever it was last bound as.
	binders chan *ldap.Conn
}

// New returns a Directory; it does not connect until asked.
func New(cfg Config) *Directory {
	if cfg.UserAttr == "" {
		cfg.UserAttr = "uid"
	}
	if cfg.MemberAttr == "" {
		cfg.MemberAttr = "member"
	}
	if cfg.ExtensionAttr == "" {
		cfg.ExtensionAttr = "telephoneNumber"
	}
	if cfg.DisplayAttr == "" {
		cfg.DisplayAttr = "cn"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 32
	}
	d := &Directory{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent), idle: make(chan *ldap.Conn, cfg.MaxConcurrent),
		binders: make(chan *ldap.Conn, cfg.MaxConcurrent)}
	d.tls, d.tlsErr = tlsConfig(cfg)
	return d
}

// tlsConfig builds the TLS configuration once: the base one, the server
// name from the URL and the private CA.
func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.TLS == nil && cfg.CAFile == "" && !cfg.StartTLS && !strings.HasPrefix(cfg.URL, "ldaps://") {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	}
	if tc.ServerName == "" {
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("ldap: url: %w", err)
		}
		tc.ServerName = u.Hostname()
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func (d *Directory) dial(ctx context.Context) (*ldap.Conn, error) {
	dl := time.Now().Add(d.cfg.Timeout)
	if t, ok := ctx.Deadline(); ok && t.Before(dl) {
		dl = t
	}
	if d.tlsErr != nil {
		return nil, d.tlsErr
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(&net.Dialer{Deadline: dl})}
	if d.tls != nil {
		opts = append(opts, ldap.DialWithTLSConfig(d.tls))
	}
	c, err := ldap.DialURL(d.cfg.URL, opts...)
	if err != nil {
		return nil, err
	}
	c.SetTimeout(time.Until(dl))
	if d.cfg.StartTLS {
		if err := c.StartTLS(d.tls); err != nil {
			c.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	return c, nil
}

func (d *Directory) serviceBind(c *ldap.Conn) error {
	if d.cfg.BindDN == "" {
		return nil
	}
	return c.Bind(d.cfg.BindDN, d.cfg.BindPassword)
}

func unavailable(err error) error {
	return gateway.Wrap(gateway.CodeDirectoryDown, fmt.Errorf("ldap: %w", err), "the directory is not reachable; try again shortly")
}

var badCredentials = gateway.Errorf(gateway.CodeBadCredentials, "wrong username or password")

// validUsername refuses what no directory name holds, before it reaches
// a filter (which is escaped anyway).
func validUsername(u string) bool {
	if u == "" || len(u) > 256 {
		return false
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Authenticate checks username and password and returns the agent, or an
// *gateway.Error with code bad_credentials, not_cti_enabled, no_extension
// or directory_unavailable. The agent's Username is the directory's
// spelling of the name (see canonicalName), whatever the agent typed.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (gateway.Agent, error) {
	// NFKC makes a fullwidth "ｂｏｂ" the "bob" the directory holds; case is
	// the directory's matching rule's business (uid and sAMAccountName
	// ignore it).
	username = norm.NFKC.String(strings.TrimSpace(username))
	// An empty password would be an "unauthenticated bind", which many
	// servers accept as success: never send one.
	if !validUsername(username) || password == "" {
		return gateway.Agent{}, badCredentials
	}
	select {
	case d.slots <- struct{}{}:
		defer func() { <-d.slots }()
	case <-ctx.Done():
		return gateway.Agent{}, unavailable(fmt.Errorf("waiting for a connection: %w", ctx.Err()))
	}
	a, reused, err := d.authenticate(ctx, username, password, false)
	if reused && gateway.ErrorCode(err) == gateway.CodeDirectoryDown {
		// A kept connection may have died with the directory's restart:
		// try once more on new ones.
		a, _, err = d.authenticate(ctx, username, password, true)
	}
	return a, err
}

// authenticate is one attempt of Authenticate, on kept connections unless
// fresh; reused says whether it used one.
func (d *Directory) authenticate(ctx context.Context, username, password string, fresh bool) (a gateway.Agent, reused bool, err error) {
	svc, kept, err := d.conn(ctx, d.idle, fresh, d.serviceBind)
	if err != nil {
		return a, kept, unavailable(fmt.Errorf("service bind: %w", err))
	}
	reused = kept
	ok := false
	defer func() { d.keep(d.idle, svc, ok) }()
	entry, err := d.findUser(svc, username)
	if err != nil {
		ok = gateway.ErrorCode(err) == gateway.CodeBadCredentials
		return a, reused, err
	}
	ok = true
	b, kept, err := d.conn(ctx, d.binders, fresh, nil)
	if err != nil {
		return a, reused, unavailable(err)
	}
	reused = reused || kept
	err = b.Bind(entry.DN, password)
	// A failed bind leaves the connection anonymous: still good for the
	// next user's bind.
	d.keep(d.binders, b, err == nil || ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		ok = true
		return a, reused, badCredentials
	case err != nil:
		return a, reused, unavailable(fmt.Errorf("user bind: %w", err))
	}
	a, err = d.agent(svc, entry)
	ok = err == nil || gateway.ErrorCode(err) != gateway.CodeDirectoryDown
	return a, reused, err
}

// conn takes a kept connection from pool, with its timeout set for this
// login, or (fresh, or none kept) dials one and runs setup on it; kept
// says which.
func (d *Directory) conn(ctx context.Context, pool chan *ldap.Conn, fresh bool, setup func(*ldap.Conn) error) (c *ldap.Conn, kept bool, err error) {
	if !fresh {
		if c := d.reuse(ctx, pool); c != nil {
			return c, true, nil
		}
	}
	if c, err = d.dial(ctx); err != nil {
		return nil, false, err
	}
	if setup != nil {
		if err := setup(c); err != nil {
			c.Close()
			return nil, false, err
		}
	}
	return c, false, nil
}

// keep returns c to pool for the next login if good, else closes it.
func (d *Directory) keep(pool chan *ldap.Conn, c *ldap.Conn, good bool) {
	if good {
		select {
		case pool <- c:
			return
		default:
		}
	}
	c.Close()
}

// reuse takes a kept connection from pool, with its timeout set for this
// login, or returns nil.
func (d *Directory) reuse(ctx context.Context, pool chan *ldap.Conn) *ldap.Conn {
	for {
		select {
		case c := <-pool:
			if c.IsClosing() {
				c.Close()
				continue
			}
			dl := time.Now().Add(d.cfg.Timeout)
			if t, ok := ctx.Deadline(); ok && t.Before(dl) {
				dl = t
			}
			c.SetTimeout(time.Until(dl))
			return c
		default:
			return nil
		}
	}
}

// findUser finds the user's entry, as the service account.
func (d *Directory) findUser(c *ldap.Conn, username string) (*ldap.Entry, error) {
	filter := fmt.Sprintf("(%s=%s)", ldap.EscapeFilter(d.cfg.UserAttr), ldap.EscapeFilter(username))
	res, err := c.Search(ldap.NewSearchRequest(d.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		filter, []string{d.cfg.UserAttr, d.cfg.ExtensionAttr, d.cfg.DisplayAttr}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, unavailable(fmt.Errorf("search user: %w", err))
	}
	if res == nil || len(res.Entries) != 1 {
		// Unknown and ambiguous names look like a wrong password, so that
		// the login form does not tell who exists.
		return nil, badCredentials
	}
	return res.Entries[0], nil
}

// agent checks the CTI group and reads the agent from the entry.
func (d *Directory) agent(c *ldap.Conn, entry *ldap.Entry) (gateway.Agent, error) {
	member, err := d.isMember(c, entry.DN)
	if err != nil {
		return gateway.Agent{}, unavailable(err)
	}
	if !member {
		return gateway.Agent{}, gateway.Errorf(gateway.CodeNotCTIEnabled, "your account is not enabled for CTI; ask your administrator")
	}
	name, err := canonicalName(entry, d.cfg.UserAttr)
	if err != nil {
		return gateway.Agent{}, unavailable(err)
	}
	a := gateway.Agent{
		Username:    name,
		DisplayName: entry.GetEqualFoldAttributeValue(d.cfg.DisplayAttr),
		Extension:   strings.TrimSpace(entry.GetEqualFoldAttributeValue(d.cfg.ExtensionAttr)),
	}
	if a.DisplayName == "" {
		a.DisplayName = name
	}
	if a.Extension == "" {
		return a, gateway.Errorf(gateway.CodeNoExtension, "your account has no phone extension; ask your administrator")
	}
	return a, nil
}

// canonicalName is the agent's identity: the login attribute's value as
// the directory stores it, so that "BOB", "bob" and "ｂｏｂ" are one agent
// for sessions, admin overrides, the lockout and the call log. Where the
// attribute has several values, the first is the identity and the others
// are aliases of it.
func canonicalName(entry *ldap.Entry, attr string) (string, error) {
	v := strings.TrimSpace(entry.GetEqualFoldAttributeValue(attr))
	if !validUsername(v) {
		return "", errors.New("ldap: the user entry's login attribute is empty or not text")
	}
	return v, nil
}

func (d *Directory) isMember(c *ldap.Conn, dn string) (bool, error) {
	filter := fmt.Sprintf("(%s=%s)", ldap.EscapeFilter(d.cfg.MemberAttr), ldap.EscapeFilter(dn))
	res, err := c.Search(ldap.NewSearchRequest(d.cfg.GroupDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		filter, []string{"dn"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false, fmt.Errorf("ldap: CTI group %q does not exist", d.cfg.GroupDN)
	}
	if err != nil {
		return false, fmt.Errorf("ldap: group check: %w", err)
	}
	return len(res.Entries) == 1, nil
}

// Ping checks the directory answers and the service account binds, for
// /readyz.
func (d *Directory) Ping(ctx context.Context) error {
	c, err := d.dial(ctx)
	if err != nil {
		return fmt.Errorf("ldap: %w", err)
	}
	defer c.Close()
	if err := d.serviceBind(c); err != nil {
		return fmt.Errorf("ldap: service bind: %w", err)
	}
	return nil
}
