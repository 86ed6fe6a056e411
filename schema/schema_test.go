package schema_test

import (
	"testing"

	"crmcti/schema"
)

func TestMigrationsAreOrderedAndNonEmpty(t *testing.T) {
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("migrations %+v", ms)
	}
	for _, m := range ms {
		if len(m.SQL) < 10 {
			t.Errorf("%s is empty", m.Name)
		}
	}
}
