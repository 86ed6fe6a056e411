// Package democrm serves a small imitation of CRM.COM's Communication
// Centre screen. It exists so that the extension is developed and tested
// against a page it does not control: the page has its own CSS, its own
// keyboard handlers and a strict script-src CSP, like the real CRM.
package democrm

import (
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"crmcti/gateway/phone"
)

//go:embed static
var static embed.FS

// Customer is a CRM contact as the demo page shows it.
type Customer struct {
	Code     string  `json:"code"`
	FullName string  `json:"fullName"`
	Type     string  `json:"type"`
	Phones   []Phone `json:"phones"`
	Email    string  `json:"email,omitempty"`
	City     string  `json:"city,omitempty"`
}

// Phone is one of a customer's numbers, as typed into the CRM.
type Phone struct {
	Kind   string `json:"kind"`
	Number string `json:"number"`
}

// phoneColumns are the CSV columns that hold phone numbers; the import into
// the gateway's directory uses the same convention.
var phoneColumns = []string{"mobile", "work", "home"}

// ParseCSV reads contacts in the demo fixture's format: a header row with
// at least code and full_name; mobile, work and home hold phone numbers.
func ParseCSV(r io.Reader) ([]Customer, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("democrm: read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	if _, ok := col["code"]; !ok {
		return nil, errors.New("democrm: header has no code column")
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Customer
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("democrm: %w", err)
		}
		c := Customer{Code: get(rec, "code"), FullName: get(rec, "full_name"), Type: get(rec, "type"),
			Email: get(rec, "email"), City: get(rec, "city")}
		for _, k := range phoneColumns {
			if n := get(rec, k); n != "" {
				c.Phones = append(c.Phones, Phone{Kind: k, Number: n})
			}
		}
		out = append(out, c)
	}
}

// Server is the demo CRM's HTTP handler.
type Server struct {
	byCode    map[string]Customer
	customers []Customer
	mux       *http.ServeMux
}

// New builds the handler over the given customers.
func New(customers []Customer) *Server {
	s := &Server{byCode: map[string]Customer{}, customers: customers, mux: http.NewServeMux()}
	for _, c := range customers {
		s.byCode[c.Code] = c
	}
	sub, _ := fs.Sub(static, "static")
	page := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && !strings.HasPrefix(r.URL.Path, "/customers/") {
			http.NotFound(w, r)
			return
		}
		http.ServeFileFS(w, r, sub, "index.html")
	}
	s.mux.HandleFunc("GET /", page)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	s.mux.HandleFunc("GET /api/customers", s.search)
	s.mux.HandleFunc("GET /api/customers/{code}", s.get)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return s
}

// ServeHTTP sets the page's own CSP on everything: the extension must work
// although the page allows only its own scripts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "script-src 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	c, ok := s.byCode[r.PathValue("code")]
	if !ok {
		http.Error(w, `{"error":"no such customer"}`, http.StatusNotFound)
		return
	}
	writeJSON(w, c)
}

// search matches a name or code (case-insensitive substring) or, when the
// query has at least three digits, the digits of any phone number.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	out := []Customer{}
	if q != "" {
		lq, dq := strings.ToLower(q), phone.Digits(q)
		for _, c := range s.customers {
			if strings.Contains(strings.ToLower(c.FullName), lq) || strings.EqualFold(c.Code, q) ||
				(len(dq) >= 3 && phoneMatch(c, dq)) {
				out = append(out, c)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.EqualFold(out[i].Code, q) && !strings.EqualFold(out[j].Code, q) })
	if len(out) > 50 {
		out = out[:50]
	}
	writeJSON(w, out)
}

// phoneMatch accepts part of a stored number, or a query that ends with a
// whole stored number (the query carries a country code the CRM user did
// not type).
func phoneMatch(c Customer, digits string) bool {
	for _, p := range c.Phones {
		pd := strings.TrimLeft(phone.Digits(p.Number), "0")
		if strings.Contains(pd, digits) || (len(pd) >= 6 && strings.HasSuffix(digits, pd)) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
