package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"crmcti/gateway"
	"crmcti/gateway/contacts"
)

// importConfig is import-contacts' own flags.
type importConfig struct {
	full, force bool
	maxRemove   float64
	format      string
}

func importFlags(fs *flag.FlagSet) *importConfig {
	ic := &importConfig{}
	fs.BoolVar(&ic.full, "full", false, "import-contacts: the file is the whole directory; contacts absent from it are removed")
	fs.BoolVar(&ic.force, "force", false, "import-contacts: apply a full import even if it removes more than -max-remove")
	fs.Float64Var(&ic.maxRemove, "max-remove", gateway.DefaultMaxRemoveShare, "import-contacts: share of the directory (0..1) a full import may remove")
	fs.StringVar(&ic.format, "format", "", "import-contacts: csv or ndjson (default: from the file name, csv for -)")
	return ic
}

// importTally counts what the readers and the database refused, as the
// rows stream past, and prints each with its line.
type importTally struct {
	out               io.Writer
	rejected, dropped int
}

func (t *importTally) reject(r gateway.RowReject) {
	what := "rejected"
	if r.Kept {
		what = "dropped from"
		t.dropped++
	} else {
		t.rejected++
	}
	code := ""
	if r.Code != "" {
		code = " " + r.Code
	}
	fmt.Fprintf(t.out, "%s line %d%s: %s\n", what, r.Line, code, r.Reason)
}

// importContacts streams a CRM export (CSV or NDJSON, a file or - for
// standard input) into the directory in one transaction.
func importContacts(ctx context.Context, c *config, ic *importConfig, path string) error {
	if ic.maxRemove < 0 || ic.maxRemove > 1 {
		return fmt.Errorf("-max-remove %g is not a share between 0 and 1", ic.maxRemove)
	}
	in, err := openInput(path)
	if err != nil {
		return err
	}
	defer in.Close()
	tally := &importTally{out: os.Stdout}
	rd, err := newReader(in, importFormat(ic.format, path), c.region, tally.reject)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	accepted := 0
	next := func() (gateway.ContactChange, error) {
		ch, err := rd.Next()
		if err == nil {
			accepted++
		}
		return ch, err
	}
	rep, err := db.ImportContacts(ctx, next, gateway.ImportOptions{Full: ic.full, MaxRemoveShare: ic.maxRemove, Force: ic.force, OnReject: tally.reject})
	if errors.Is(err, gateway.ErrTooManyRemovals) {
		return fmt.Errorf("%w (check the export; -force applies it anyway)", err)
	}
	if err != nil {
		return err
	}
	fmt.Printf("accepted %d contacts, rejected %d rows: added %d, updated %d, unchanged %d, removed %d, numbers dropped %d\n",
		accepted-rep.Rejected, tally.rejected, rep.Added, rep.Updated, rep.Unchanged, rep.Removed, tally.dropped)
	return nil
}

func openInput(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	return os.Open(path)
}

func importFormat(format, path string) string {
	if format != "" {
		return strings.ToLower(format)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ndjson", ".jsonl":
		return "ndjson"
	}
	return "csv"
}

func newReader(r io.Reader, format, region string, onReject func(gateway.RowReject)) (contacts.Reader, error) {
	switch format {
	case "csv":
		return contacts.NewCSVReader(r, region, onReject)
	case "ndjson":
		return contacts.NewNDJSONReader(r, region, onReject), nil
	}
	return nil, fmt.Errorf("-format %q: want csv or ndjson", format)
}
