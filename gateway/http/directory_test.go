package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"crmcti/gateway"
	"crmcti/gateway/devstack"
	gwhttp "crmcti/gateway/http"
	"crmcti/gateway/postgres"
)

type directoryEnv struct {
	t     *testing.T
	db    *postgres.DB
	pgURL string
	srv   *httptest.Server
	token string
}

func newDirectoryEnv(t *testing.T, cfg gwhttp.DirectoryConfig) *directoryEnv {
	t.Helper()
	pg := devstack.PostgresForTest(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	token, hash, err := gwhttp.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAPIToken(ctx, "crm", gateway.ScopeDirectory, hash); err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Region = db, "CY"
	srv := httptest.NewServer(gwhttp.DirectoryHandler(cfg))
	t.Cleanup(srv.Close)
	return &directoryEnv{t: t, db: db, pgURL: pg.URL(), srv: srv, token: token}
}

// do sends a request with the env's token (or tok, if given) and returns
// the status and the decoded JSON body.
func (e *directoryEnv) do(method, path, body string, tok ...string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	auth := e.token
	if len(tok) > 0 {
		auth = tok[0]
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, b)
	}
	return res.StatusCode, out
}

func (e *directoryEnv) who(number string) string {
	e.t.Helper()
	ms, err := e.db.LookupNumber(context.Background(), number, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Contact.Code+":"+m.Contact.FullName)
	}
	return strings.Join(names, ",")
}

func TestDirectoryPushAPI(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newDirectoryEnv(t, gwhttp.DirectoryConfig{Registerer: reg})
	put := `{"full_name":"Andreas Andreou","phones":[{"kind":"mobile","number":"+357 99 123456"}]}`
	for _, want := range []string{"added", "unchanged"} { // idempotent
		if st, body := e.do("PUT", "/api/v1/contacts/C1", put); st != 200 || body["result"] != want {
			t.Fatalf("put: %d %v, want %s", st, body, want)
		}
	}
	if got := e.who("+35799123456"); got != "C1:Andreas Andreou" {
		t.Fatalf("lookup after put: %q", got)
	}
	// Renumbered in the CRM: the old number stops identifying at once.
	st, body := e.do("PUT", "/api/v1/contacts/C1", `{"code":"C1","full_name":"Andreas Andreou","phones":[{"kind":"mobile","number":"+357 99 654321"}]}`)
	if st != 200 || body["result"] != "updated" || e.who("+35799123456") != "" || e.who("+35799654321") != "C1:Andreas Andreou" {
		t.Fatalf("renumber: %d %v", st, body)
	}
	for path, bad := range map[string]string{
		"/api/v1/contacts/C2": `{"full_name":"Nul\u0000"}`,
		"/api/v1/contacts/C3": `{"code":"C4","full_name":"Other code"}`,
		"/api/v1/contacts/C5": `{"fullname":"Typo"}`,
		"/api/v1/contacts/C6": "{\"full_name\":\"Caf\xe9\"}",
	} {
		if st, body := e.do("PUT", path, bad); st != 422 || body["error"] != "invalid_contact" {
			t.Errorf("PUT %s %q: %d %v", path, bad, st, body)
		}
	}
	for _, want := range []string{"removed", "absent"} {
		if st, body := e.do("DELETE", "/api/v1/contacts/C1", ""); st != 200 || body["result"] != want {
			t.Fatalf("delete: %d %v, want %s", st, body, want)
		}
	}
	if e.who("+35799654321") != "" {
		t.Fatal("a deleted contact still identifies callers")
	}
	if n := testCounter(t, reg, "added"); n != 1 {
		t.Errorf("added counter %v", n)
	}
	if got := e.auditActions(); !strings.Contains(got, "api:crm contacts.put C1 true") || !strings.Contains(got, "api:crm contacts.delete C1 true") ||
		!strings.Contains(got, "api:crm contacts.put false") {
		t.Errorf("audit:\n%s", got)
	}
}

func TestDirectoryBulk(t *testing.T) {
	e := newDirectoryEnv(t, gwhttp.DirectoryConfig{MaxBulkBytes: 4096})
	var nd strings.Builder
	for i := range 20 {
		fmt.Fprintf(&nd, `{"code":"C%02d","full_name":"Customer %d","phones":[{"kind":"mobile","number":"+357 99 1000%02d"}]}`+"\n", i, i, i)
	}
	nd.WriteString(`{"code":"BAD","full_name":"Bell` + "\\u0007" + `"}` + "\n")
	st, body := e.do("POST", "/api/v1/contacts?mode=full", nd.String())
	if st != 200 || body["added"] != 20.0 || body["rejected"] != 1.0 {
		t.Fatalf("bulk: %d %v", st, body)
	}
	rj := body["rejects"].([]any)[0].(map[string]any)
	if rj["line"] != 21.0 || !strings.Contains(rj["reason"].(string), "control character") {
		t.Fatalf("reject %v", rj)
	}
	// A truncated export is refused as a whole.
	if st, body := e.do("POST", "/api/v1/contacts?mode=full", `{"code":"C00","full_name":"Customer 0"}`); st != 409 || body["error"] != "too_many_removals" {
		t.Fatalf("truncated: %d %v", st, body)
	}
	// Incremental with a deletion.
	st, body = e.do("POST", "/api/v1/contacts", `{"code":"C01","action":"delete"}`+"\n"+`{"code":"C02","full_name":"Renamed"}`)
	if st != 200 || body["removed"] != 1.0 || body["updated"] != 1.0 || e.who("+35799100001") != "" {
		t.Fatalf("incremental: %d %v", st, body)
	}
	// Over the size limit: refused whole, nothing applied.
	big := strings.Repeat(`{"code":"C03","action":"delete"}`+"\n", 200)
	if st, body := e.do("POST", "/api/v1/contacts", big); st != 413 || e.who("+35799100003") != "C03:Customer 3" {
		t.Fatalf("too large: %d %v", st, body)
	}
}

func TestDirectoryAuth(t *testing.T) {
	e := newDirectoryEnv(t, gwhttp.DirectoryConfig{Rate: 1, Burst: 3})
	ctx := context.Background()
	put := `{"full_name":"X"}`
	if st, _ := e.do("PUT", "/api/v1/contacts/C1", put, ""); st != 401 {
		t.Errorf("no token: %d", st)
	}
	if st, _ := e.do("PUT", "/api/v1/contacts/C1", put, "cti_forged"); st != 401 {
		t.Errorf("forged token: %d", st)
	}
	other, hash, _ := gwhttp.NewAPIToken()
	if err := e.db.CreateAPIToken(ctx, "reports", "calls", hash); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.do("PUT", "/api/v1/contacts/C1", put, other); st != 403 {
		t.Errorf("wrong scope: %d", st)
	}
	// The limiter has allowed 3 requests from this address; the next waits.
	if st, body := e.do("PUT", "/api/v1/contacts/C1", put); st != 429 {
		t.Errorf("over the rate: %d %v", st, body)
	}
	if err := e.db.RevokeAPIToken(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	toks, err := e.db.APITokens(ctx)
	if err != nil || len(toks) != 2 || toks[0].Name != "reports" || toks[1].Revoked.IsZero() || toks[0].LastUsed.IsZero() {
		t.Fatalf("tokens %+v %v", toks, err)
	}
}

func (e *directoryEnv) auditActions() string {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.pgURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT username, action, allowed FROM audit ORDER BY id`)
	var b strings.Builder
	for rows.Next() {
		var u, a string
		var ok bool
		if err := rows.Scan(&u, &a, &ok); err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %v\n", u, a, ok)
	}
	return b.String()
}

func testCounter(t *testing.T, reg *prometheus.Registry, change string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ctigateway_directory_changes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == change {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}
