package contactpull_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/contactpull"
	"crmcti/gateway/devstack"
	"crmcti/gateway/postgres"
)

// crm serves an export the test changes, with an ETag, answering 304 to a
// request that has the current one.
type crm struct {
	mu       sync.Mutex
	body     string
	version  int
	status   int
	requests int
	notMod   int
}

func (c *crm) set(body string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.body, c.version, c.status = body, c.version+1, 0
}

func (c *crm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if r.Header.Get("Authorization") != "Bearer export-secret" {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	if c.status != 0 {
		http.Error(w, "broken", c.status)
		return
	}
	etag := fmt.Sprintf(`"v%d"`, c.version)
	if r.Header.Get("If-None-Match") == etag {
		c.notMod++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Write([]byte(c.body))
}

func export(n int, skip ...int) string {
	var b strings.Builder
	b.WriteString("code,full_name,mobile\n")
	for i := range n {
		if len(skip) > 0 && i == skip[0] {
			continue
		}
		fmt.Fprintf(&b, "C%03d,Customer %d,+357 99 100%03d\n", i, i, i)
	}
	return b.String()
}

func TestPull(t *testing.T) {
	pg := devstack.PostgresForTest(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	src := &crm{}
	srv := httptest.NewTLSServer(src)
	defer srv.Close()
	if _, err := contactpull.New(contactpull.Config{URL: strings.Replace(srv.URL, "https", "http", 1) + "/x.csv"}); err == nil {
		t.Fatal("a plain http:// export URL was accepted")
	}
	p, err := contactpull.New(contactpull.Config{URL: srv.URL + "/export/contacts.csv", BearerToken: "export-secret",
		Region: "CY", Store: db, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Ready() == nil {
		t.Fatal("ready before any pull")
	}
	who := func(number string) int {
		ms, err := db.LookupNumber(ctx, number, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}

	src.set(export(50))
	rep, changed, err := p.Pull(ctx)
	if err != nil || !changed || rep.Added != 50 || p.Ready() != nil {
		t.Fatalf("first pull: %+v %v %v", rep, changed, err)
	}
	if _, changed, err := p.Pull(ctx); err != nil || changed || src.notMod != 1 {
		t.Fatalf("unchanged export: changed %v, %v, %d not-modified", changed, err, src.notMod)
	}
	// C007 deleted in the CRM: gone from caller identification on the next pull.
	src.set(export(50, 7))
	if rep, changed, err := p.Pull(ctx); err != nil || !changed || rep.Removed != 1 || rep.Unchanged != 49 || who("+35799100007") != 0 {
		t.Fatalf("deletion: %+v %v %v", rep, changed, err)
	}
	// A truncated export is refused, and the directory stays as it was.
	src.set(export(50)[:200])
	if _, _, err := p.Pull(ctx); !errors.Is(err, gateway.ErrTooManyRemovals) || who("+35799100049") != 1 {
		t.Fatalf("truncated: %v", err)
	}
	src.mu.Lock()
	src.status = http.StatusInternalServerError
	src.mu.Unlock()
	if _, _, err := p.Pull(ctx); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("server error: %v", err)
	}
	if p.Ready() != nil { // failures, but the directory is still fresh enough
		t.Fatalf("ready: %v", p.Ready())
	}
}
