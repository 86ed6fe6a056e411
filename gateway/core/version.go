package core

import (
	"strconv"
	"strings"

	"crmcti/gateway"
)

// An administrator can require a minimum extension version
// (Config.MinExtensionVersion): a login or resume from an older one is
// refused with update_required, which the panel shows as "update the
// extension". An extension that sends no version predates version
// reporting, so it is older than any minimum and refused too when one is
// set; with no minimum every extension is accepted, as before.

// parseVersion reads a dotted numeric version ("1.4.2"; a leading "v"
// is allowed); ok is false for anything else.
func parseVersion(v string) (parts []int, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if v == "" {
		return nil, false
	}
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || len(parts) == 4 {
			return nil, false
		}
		parts = append(parts, n)
	}
	return parts, true
}

// ValidVersion reports whether v is a version the gateway understands: a
// dotted number of up to four parts ("1.4.0").
func ValidVersion(v string) bool {
	_, ok := parseVersion(v)
	return ok
}

// olderThan reports whether version a is before b, missing parts
// counting as 0.
func olderThan(a, b []int) bool {
	for i := range max(len(a), len(b)) {
		x, y := at(a, i), at(b, i)
		if x != y {
			return x < y
		}
	}
	return false
}

func at(v []int, i int) int {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// versionLabel is how a client's version is counted in the metrics:
// normalised, or "unknown".
func versionLabel(v string) string {
	parts, ok := parseVersion(v)
	if !ok {
		return "unknown"
	}
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ".")
}

// checkVersion refuses an extension older than the minimum configured.
func (s *Service) checkVersion(version string) error {
	if s.minVersion == nil {
		return nil
	}
	v, ok := parseVersion(version)
	if !ok || olderThan(v, s.minVersion) {
		have := version
		if have == "" {
			have = "an old version"
		}
		return gateway.Errorf(gateway.CodeUpdateRequired, "this gateway needs extension version %s or later (you have %s); update the extension", s.cfg.MinExtensionVersion, have)
	}
	return nil
}
