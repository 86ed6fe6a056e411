package ldap

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"crmcti/gateway"
)

// maxNamesakes bounds the entries read for one extension: a shared
// extension names no one in particular, and a typo in the directory must
// not make the gateway read it whole.
const maxNamesakes = 5

// AgentsByExtension implements gateway.Colleagues: the directory users
// whose extension attribute is ext, so that a call from or to a colleague
// shows her name (B13). Group membership does not matter: a colleague
// without CTI still has a name. The value is escaped in the filter.
func (d *Directory) AgentsByExtension(ctx context.Context, ext string) ([]gateway.Agent, error) {
	return d.people(ctx, d.cfg.ExtensionAttr, strings.TrimSpace(ext))
}

// AgentByUsername implements gateway.Colleagues: the user's name and
// extension as the directory holds them, or gateway.ErrNotFound.
func (d *Directory) AgentByUsername(ctx context.Context, username string) (gateway.Agent, error) {
	as, err := d.people(ctx, d.cfg.UserAttr, strings.TrimSpace(username))
	if err != nil {
		return gateway.Agent{}, err
	}
	if len(as) != 1 {
		return gateway.Agent{}, fmt.Errorf("ldap: user %q: %w", username, gateway.ErrNotFound)
	}
	return as[0], nil
}

// people searches the user base for entries whose attr equals value.
func (d *Directory) people(ctx context.Context, attr, value string) ([]gateway.Agent, error) {
	if !validUsername(value) {
		return nil, nil
	}
	c, err := d.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("ldap: %w", err)
	}
	defer c.Close()
	if err := d.serviceBind(c); err != nil {
		return nil, fmt.Errorf("ldap: service bind: %w", err)
	}
	filter := fmt.Sprintf("(%s=%s)", ldap.EscapeFilter(attr), ldap.EscapeFilter(value))
	res, err := c.Search(ldap.NewSearchRequest(d.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, maxNamesakes, 0, false,
		filter, []string{d.cfg.UserAttr, d.cfg.ExtensionAttr, d.cfg.DisplayAttr}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("ldap: search %s: %w", attr, err)
	}
	var out []gateway.Agent
	for _, e := range res.Entries {
		name, err := canonicalName(e, d.cfg.UserAttr)
		if err != nil {
			continue
		}
		a := gateway.Agent{Username: name, DisplayName: strings.TrimSpace(e.GetEqualFoldAttributeValue(d.cfg.DisplayAttr)),
			Extension: strings.TrimSpace(e.GetEqualFoldAttributeValue(d.cfg.ExtensionAttr))}
		if a.DisplayName == "" || !gateway.ValidText(a.DisplayName, 200) {
			a.DisplayName = name
		}
		out = append(out, a)
	}
	return out, nil
}
