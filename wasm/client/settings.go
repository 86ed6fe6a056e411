package client

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Settings are the extension's effective settings: the admin's policy
// (chrome.storage.managed) over the user's options over the defaults.
type Settings struct {
	GatewayURL string `json:"gatewayUrl"`
	// GatewayURLs are the gateways of an active/standby pair (or more),
	// tried in order: when set, they replace GatewayURL (see Gateways).
	GatewayURLs []string `json:"gatewayUrls,omitempty"`
	// CustomerLoad is "url" (open ContactURLTemplate) or "search" (fill
	// the Communication Centre's search field and press its button).
	CustomerLoad         string   `json:"customerLoad"`
	ContactURLTemplate   string   `json:"contactUrlTemplate"`
	SearchFieldSelector  string   `json:"searchFieldSelector"`
	SearchSubmitSelector string   `json:"searchSubmitSelector"`
	CRMURLPatterns       []string `json:"crmUrlPatterns"`
	DefaultCountry       string   `json:"defaultCountry"`
	// MatchPolicy "list" shows every match; "single" also loads the
	// customer at once when exactly one matches.
	MatchPolicy string `json:"matchPolicy"`
	// PanelMode places the panel: "section" inside the CRM page at
	// PanelSelector (the page reflows around it), "dock" at the right
	// edge, pushing the page aside and collapsing to a badge, or "side"
	// in the browser's own side panel (opened from the toolbar button).
	PanelMode     string `json:"panelMode"`
	PanelSelector string `json:"panelSelector"`
	// ManagedKeys are the settings the admin's policy set: a problem in
	// one of them is the admin's to fix, and the message says so.
	ManagedKeys []string `json:"managedKeys,omitempty"`
}

// DefaultSettings work with `make demo`.
func DefaultSettings() Settings {
	return Settings{GatewayURL: "ws://127.0.0.1:7080/ws", CustomerLoad: "url",
		ContactURLTemplate: "http://127.0.0.1:7081/customers/{code}", SearchFieldSelector: "#cc-search",
		SearchSubmitSelector: "#cc-search-btn", CRMURLPatterns: []string{"http://127.0.0.1:7081/*"},
		DefaultCountry: "CY", MatchPolicy: "list", PanelMode: "section", PanelSelector: "#cc-cti"}
}

// Problem is one setting that cannot work, with what to do about it.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problems lists every setting that cannot work. The options page shows
// them before saving, and the core refuses to connect with them (instead
// of handing the browser a URL its WebSocket constructor throws on).
func (s Settings) Problems() []Problem {
	var out []Problem
	add := func(field, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if slices.Contains(s.ManagedKeys, field) {
			msg += " This value comes from your administrator's policy: ask them to correct it."
		}
		out = append(out, Problem{Field: field, Message: msg})
	}
	s.gatewayProblems(add)
	switch s.CustomerLoad {
	case "url":
		if msg := checkContactTemplate(s.ContactURLTemplate); msg != "" {
			add("contactUrlTemplate", "%s", msg)
		}
	case "search":
		if strings.TrimSpace(s.SearchFieldSelector) == "" || strings.TrimSpace(s.SearchSubmitSelector) == "" {
			add("searchFieldSelector", "Searching needs both the search field and the search button selectors.")
		}
	default:
		add("customerLoad", "Load customers by must be url or search, not %q.", s.CustomerLoad)
	}
	if !twoLetters(s.DefaultCountry) {
		add("defaultCountry", "Default country must be a two-letter country code such as CY or GB, not %q.", s.DefaultCountry)
	}
	if s.MatchPolicy != "list" && s.MatchPolicy != "single" {
		add("matchPolicy", "Several matches must be list or single, not %q.", s.MatchPolicy)
	}
	if s.PanelMode != "section" && s.PanelMode != "dock" && s.PanelMode != "side" {
		add("panelMode", "Panel placement must be section, dock or side, not %q.", s.PanelMode)
	}
	if s.PanelMode == "section" && strings.TrimSpace(s.PanelSelector) == "" {
		add("panelSelector", "A panel placed as a section needs the CSS selector of the element to put it in.")
	}
	return out
}

// Gateways is the list of gateways the core connects to, in order:
// GatewayURLs when it has any entry, else GatewayURL alone. Blank lines
// of the list (an options page textarea) are not gateways.
func (s Settings) Gateways() []string {
	if !s.hasList() {
		return []string{strings.TrimSpace(s.GatewayURL)}
	}
	var out []string
	for _, u := range s.GatewayURLs {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// hasList reports whether GatewayURLs names any gateway.
func (s Settings) hasList() bool {
	return slices.ContainsFunc(s.GatewayURLs, func(u string) bool { return strings.TrimSpace(u) != "" })
}

// gatewayProblems checks the gateways in effect: each entry of
// GatewayURLs, named by its place in the list, or GatewayURL when there
// is no list (an unused GatewayURL stops nothing).
func (s Settings) gatewayProblems(add func(field, format string, args ...any)) {
	urls := s.Gateways()
	if !s.hasList() {
		if msg := checkGatewayURL(s.GatewayURL); msg != "" {
			add("gatewayUrl", "%s", msg)
		}
		return
	}
	seen := map[string]bool{}
	for i, u := range urls {
		if msg := checkGatewayURL(u); msg != "" {
			add("gatewayUrls", "Gateway %d of %d: %s", i+1, len(urls), msg)
		} else if seen[u] {
			add("gatewayUrls", "Gateway %d of %d: %q is in the list twice.", i+1, len(urls), u)
		}
		seen[u] = true
	}
}

// checkGatewayURL says what is wrong with a gateway URL, or "".
func checkGatewayURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "Enter the gateway URL, e.g. wss://cti.example.com/ws."
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Sprintf("The gateway URL %q must start with wss:// (or ws:// on this computer), e.g. wss://cti.example.com/ws.", raw)
	}
	if strings.Contains(raw, "#") {
		return fmt.Sprintf("The gateway URL %q cannot have a #fragment.", raw)
	}
	return ""
}

func checkContactTemplate(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("The customer URL template %q must be an http:// or https:// address.", raw)
	}
	if !strings.Contains(raw, "{code}") {
		return "The customer URL template must contain {code}, where the customer's code goes."
	}
	return ""
}

// TokenStore keeps the session token across service-worker restarts
// (chrome.storage.session in the browser).
type TokenStore interface {
	Load() string
	Save(token string)
}

// MemoryTokens is a TokenStore for tests.
type MemoryTokens struct {
	mu  sync.Mutex
	tok string
}

// Load implements TokenStore.
func (m *MemoryTokens) Load() string { m.mu.Lock(); defer m.mu.Unlock(); return m.tok }

// Save implements TokenStore.
func (m *MemoryTokens) Save(t string) { m.mu.Lock(); m.tok = t; m.mu.Unlock() }

// twoLetters accepts an ISO 3166 alpha-2 code's shape. Whether the
// country exists is the gateway's to say (it holds libphonenumber); the
// core stays small.
func twoLetters(s string) bool {
	return len(s) == 2 && isLetter(s[0]) && isLetter(s[1])
}

func isLetter(b byte) bool { return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' }
