package csta

import (
	"fmt"
	"sort"
	"time"
)

// SessionStyle is how a link is opened and kept alive.
type SessionStyle string

const (
	// SessionOpenScape: the switch sends SystemStatus first; we answer and
	// send SystemRegister. The switch repeats SystemStatus as a heartbeat.
	SessionOpenScape SessionStyle = "openscape"
	// SessionECMA354: we send StartApplicationSession and keep the session
	// alive with ResetApplicationSessionTimer at half its duration.
	SessionECMA354 SessionStyle = "ecma354"
	// SessionNone: requests may be sent at once.
	SessionNone SessionStyle = "none"
)

// Profile is what differs between switches that matters to the link.
type Profile struct {
	Name      string
	Session   SessionStyle
	Namespace string // the edition we write until the peer shows its own
	// RequestsPerSecond paces outbound requests (0: unpaced); some switches
	// drop a link that sends faster than they can serve (Alcatel OXO: 2/s).
	RequestsPerSecond float64
	// SessionDuration is requested in StartApplicationSession.
	SessionDuration time.Duration
	// ApplicationID names us in StartApplicationSession.
	ApplicationID string
	// DMCC marks Avaya AES: the session carries SessionLoginInfo, and
	// devices are addressed by IDs from GetDeviceId, given back with
	// ReleaseDeviceId.
	DMCC bool
}

var profiles = map[string]Profile{
	"openscape": {Name: "openscape", Session: SessionOpenScape, Namespace: NamespaceEd4, RequestsPerSecond: 1000},
	"ecma354": {Name: "ecma354", Session: SessionECMA354, Namespace: NamespaceEd5, RequestsPerSecond: 100,
		SessionDuration: 180 * time.Second, ApplicationID: "CRM-CTI"},
	// Avaya AES (DMCC): ECMA-323 edition 3 with Avaya's private data
	// (priv2 is the oldest version every AES release grants).
	"avaya": {Name: "avaya", Session: SessionECMA354, Namespace: NamespaceEd3 + "/priv2",
		RequestsPerSecond: 200, SessionDuration: 180 * time.Second, ApplicationID: "CRM-CTI", DMCC: true},
	"alcatel-oxo": {Name: "alcatel-oxo", Session: SessionNone, Namespace: NamespaceEd3, RequestsPerSecond: 2},
	"none":        {Name: "none", Session: SessionNone, Namespace: NamespaceEd4},
}

// LookupProfile returns a built-in vendor profile by name.
func LookupProfile(name string) (Profile, error) {
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("csta: unknown vendor profile %q (known: %v)", name, ProfileNames())
	}
	return p, nil
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	var out []string
	for n := range profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
