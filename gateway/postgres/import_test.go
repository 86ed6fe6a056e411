package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"crmcti/gateway"
	"crmcti/gateway/phone"
	"crmcti/gateway/postgres"
)

// changes yields cs as an import's rows, numbered from line 2 as a CSV
// file's would be.
func changes(cs ...gateway.ContactChange) func() (gateway.ContactChange, error) {
	i := 0
	return func() (gateway.ContactChange, error) {
		if i == len(cs) {
			return gateway.ContactChange{}, io.EOF
		}
		i++
		ch := cs[i-1]
		if ch.Line == 0 {
			ch.Line = i + 1
		}
		return ch, nil
	}
}

func upsert(c gateway.Contact) gateway.ContactChange { return gateway.ContactChange{Contact: c} }

func del(code string) gateway.ContactChange {
	return gateway.ContactChange{Delete: true, Contact: gateway.Contact{Code: code}}
}

// who says which contacts a number identifies, as a caller would be shown.
func who(t *testing.T, db *postgres.DB, number string) string {
	t.Helper()
	n := phone.Normalize(number, "CY")
	ms, err := db.LookupNumber(context.Background(), n.E164, n.National)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Contact.Code+":"+m.Contact.FullName)
	}
	return strings.Join(names, ",")
}

func TestImportModes(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	var dir []gateway.ContactChange
	for i := range 20 {
		dir = append(dir, upsert(contact(fmt.Sprintf("C%02d", i), fmt.Sprintf("Customer %02d", i), fmt.Sprintf("+357 99 1000%02d", i))))
	}
	rep, err := db.ImportContacts(ctx, changes(dir...), gateway.ImportOptions{Full: true})
	if err != nil || rep != (gateway.ImportReport{Added: 20}) {
		t.Fatalf("first full import: %+v %v", rep, err)
	}

	t.Run("full import removes, renumbers, renames and adds", func(t *testing.T) {
		next := append([]gateway.ContactChange(nil), dir[2:]...)          // C00 and C01 deleted in the CRM
		next[0] = upsert(contact("C02", "Customer 02", "+357 99 200002")) // renumbered
		next[1] = upsert(contact("C03", "Renamed 03", "+357 99 100003"))  // renamed
		next = append(next, upsert(contact("C20", "New 20", "+357 99 100020")))
		rep, err := db.ImportContacts(ctx, changes(next...), gateway.ImportOptions{Full: true})
		if err != nil || rep != (gateway.ImportReport{Added: 1, Updated: 2, Unchanged: 16, Removed: 2}) {
			t.Fatalf("got %+v %v", rep, err)
		}
		for number, want := range map[string]string{
			"+357 99 100000": "", "+357 99 100001": "", // deleted contacts no longer identify callers
			"+357 99 100002": "", "+357 99 200002": "C02:Customer 02", // the old number is gone
			"+357 99 100003": "C03:Renamed 03", "+357 99 100020": "C20:New 20", "+357 99 100019": "C19:Customer 19",
		} {
			if got := who(t, db, number); got != want {
				t.Errorf("%s identifies %q, want %q", number, got, want)
			}
		}
		dir = next
	})

	t.Run("incremental import upserts and deletes explicitly", func(t *testing.T) {
		rep, err := db.ImportContacts(ctx, changes(
			upsert(contact("C04", "Customer 04", "+357 99 100004")),                   // unchanged
			upsert(contact("C05", "Customer 05", "+357 99 100005", "+357 22 100005")), // a number added
			del("C06"),
			del("NOSUCH"), // deleting what is not there is not an error: pushes repeat
			upsert(contact("C21", "New 21", "+357 99 100021")),
		), gateway.ImportOptions{})
		if err != nil || rep != (gateway.ImportReport{Added: 1, Updated: 1, Unchanged: 1, Removed: 1}) {
			t.Fatalf("got %+v %v", rep, err)
		}
		if who(t, db, "+357 99 100006") != "" || who(t, db, "+357 22 100005") != "C05:Customer 05" || who(t, db, "+357 99 100019") != "C19:Customer 19" {
			t.Fatal("incremental import not applied as asked")
		}
	})

	t.Run("a code twice keeps the first row", func(t *testing.T) {
		var rejects []gateway.RowReject
		rep, err := db.ImportContacts(ctx, changes(
			upsert(contact("C22", "First", "+357 99 100022")),
			upsert(contact("C22", "Second", "+357 99 100022")),
		), gateway.ImportOptions{OnReject: func(r gateway.RowReject) { rejects = append(rejects, r) }})
		if err != nil || rep.Added != 1 || rep.Rejected != 1 || len(rejects) != 1 ||
			rejects[0] != (gateway.RowReject{Line: 3, Code: "C22", Reason: "code already on line 2"}) {
			t.Fatalf("got %+v %+v %v", rep, rejects, err)
		}
		if got := who(t, db, "+357 99 100022"); got != "C22:First" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestFullImportSafetyLimit(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	var dir []gateway.ContactChange
	for i := range 100 {
		dir = append(dir, upsert(contact(fmt.Sprintf("C%03d", i), "Customer", fmt.Sprintf("+357 99 100%03d", i))))
	}
	if _, err := db.ImportContacts(ctx, changes(dir...), gateway.ImportOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	for name, rows := range map[string][]gateway.ContactChange{
		"empty export":     nil,
		"truncated export": dir[:50],
	} {
		_, err := db.ImportContacts(ctx, changes(rows...), gateway.ImportOptions{Full: true})
		if !errors.Is(err, gateway.ErrTooManyRemovals) {
			t.Fatalf("%s: %v", name, err)
		}
		if got := who(t, db, "+357 99 100099"); got != "C099:Customer" {
			t.Fatalf("%s touched the directory: %q", name, got)
		}
	}
	// Within the limit, or forced, it applies.
	rep, err := db.ImportContacts(ctx, changes(dir[:95]...), gateway.ImportOptions{Full: true, MaxRemoveShare: 0.05})
	if err != nil || rep.Removed != 5 {
		t.Fatalf("5%% removal: %+v %v", rep, err)
	}
	rep, err = db.ImportContacts(ctx, changes(dir[:10]...), gateway.ImportOptions{Full: true, Force: true})
	if err != nil || rep.Removed != 85 || who(t, db, "+357 99 100050") != "" {
		t.Fatalf("forced: %+v %v", rep, err)
	}
}

func TestImportSourceErrorChangesNothing(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if _, err := db.ImportContacts(ctx, changes(upsert(contact("C1", "Kept", "+357 99 100001"))), gateway.ImportOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk read error")
	rows := changes(upsert(contact("C1", "Changed", "+357 99 100001")), upsert(contact("C2", "New", "+357 99 100002")))
	n := 0
	_, err := db.ImportContacts(ctx, func() (gateway.ContactChange, error) {
		if n++; n == 3 {
			return gateway.ContactChange{}, boom
		}
		return rows()
	}, gateway.ImportOptions{Full: true})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if who(t, db, "+357 99 100001") != "C1:Kept" || who(t, db, "+357 99 100002") != "" {
		t.Fatal("a failed import changed the directory")
	}
}

// TestLookupsDuringFullImport runs caller identification while a full
// import renames every contact sharing one number: each lookup must see
// the directory entirely before or entirely after, never a mix.
func TestLookupsDuringFullImport(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	const n = 3000
	gen := func(prefix string) func() (gateway.ContactChange, error) {
		i := 0
		return func() (gateway.ContactChange, error) {
			if i == n {
				return gateway.ContactChange{}, io.EOF
			}
			i++
			return upsert(contact(fmt.Sprintf("C%05d", i), fmt.Sprintf("%s %05d", prefix, i), "+357 22 555555")), nil
		}
	}
	if _, err := db.ImportContacts(ctx, gen("Old"), gateway.ImportOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var lookups, sawNew atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				last := done.Load() // one more lookup after the import
				ms, err := db.LookupNumber(ctx, "+35722555555", "22555555")
				if err != nil {
					t.Error(err)
					return
				}
				lookups.Add(1)
				olds := 0
				for _, m := range ms {
					if strings.HasPrefix(m.Contact.FullName, "Old") {
						olds++
					}
				}
				if len(ms) != 50 || (olds != 0 && olds != len(ms)) {
					t.Errorf("a lookup saw a half-applied import: %d matches, %d old", len(ms), olds)
					return
				}
				if olds == 0 {
					sawNew.Add(1)
				}
				if last {
					return
				}
			}
		}()
	}
	rep, err := db.ImportContacts(ctx, gen("New"), gateway.ImportOptions{Full: true})
	done.Store(true)
	wg.Wait()
	if err != nil || rep.Updated != n {
		t.Fatalf("%+v %v", rep, err)
	}
	if sawNew.Load() == 0 {
		t.Fatal("no lookup saw the import once committed")
	}
	t.Logf("%d lookups during the import, %d after it", lookups.Load(), sawNew.Load())
}

// TestImportStreams imports more contacts than fit in the heap limit it
// checks: the rows must flow to the database, not pile up in memory.
func TestImportStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 100,000 contacts")
	}
	db, _ := openDB(t)
	const n = 100_000
	var peak uint64
	i := 0
	next := func() (gateway.ContactChange, error) {
		if i == n {
			return gateway.ContactChange{}, io.EOF
		}
		i++
		if i%20_000 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		// Built by hand: libphonenumber under -race would dominate the test.
		number := fmt.Sprintf("99%06d", i)
		return upsert(gateway.Contact{Code: fmt.Sprintf("C%07d", i), FullName: fmt.Sprintf("Customer number %07d of a large directory", i),
			Fields: map[string]string{"address": strings.Repeat("Street ", 40)},
			Phones: []gateway.Phone{{Kind: "mobile", Raw: number, E164: "+357" + number, National: number}}}), nil
	}
	rep, err := db.ImportContacts(context.Background(), next, gateway.ImportOptions{Full: true})
	if err != nil || rep.Added != n {
		t.Fatalf("%+v %v", rep, err)
	}
	// Held in memory, these rows would take over 60 MB.
	if peak > 32<<20 {
		t.Fatalf("heap reached %d MB while importing", peak>>20)
	}
	t.Logf("peak heap %d MB", peak>>20)
}
