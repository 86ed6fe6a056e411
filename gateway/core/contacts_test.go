package core_test

import (
	"strings"
	"testing"

	"crmcti/gateway/core"
	"crmcti/gateway/devstack"
)

func TestParseContacts(t *testing.T) {
	csv := "\ufeffcode,full_name,type,mobile,work,email\n" +
		"C1,Andreas,Individual,+357 99 123456,22 123456,a@example.com\n" +
		",No Code,Individual,99 000000,,\n" +
		"C2,,Company,,,\n" +
		"C1,Duplicate,Individual,,,\n" +
		"C3,Bad Number,Individual,call me,,\n" +
		"C4,\"Quoted, Name\",Company,,25 111111,\n"
	cs, rejects, err := core.ParseContacts(strings.NewReader(csv), "CY")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].Code != "C1" || len(cs[0].Phones) != 2 || cs[0].Fields["email"] != "a@example.com" || cs[2].FullName != "Quoted, Name" {
		t.Fatalf("accepted %+v", cs)
	}
	if cs[0].Phones[0].E164 == "" {
		t.Fatalf("not normalised: %+v", cs[0].Phones)
	}
	reasons := map[int]string{}
	for _, r := range rejects {
		reasons[r.Line] = r.Reason
	}
	if len(rejects) != 4 || reasons[3] != "no code" || reasons[4] != "no full_name" || !strings.Contains(reasons[5], "line 2") || !strings.Contains(reasons[6], "not a phone number") {
		t.Fatalf("rejects %+v", rejects)
	}
	if _, _, err := core.ParseContacts(strings.NewReader("name,phone\n"), "CY"); err == nil {
		t.Fatal("header without code accepted")
	}
	demo, rej, err := core.ParseContacts(strings.NewReader(devstack.DemoContactsCSV), "CY")
	if err != nil || len(demo) != 320 || len(rej) != 0 {
		t.Fatalf("demo fixture: %d accepted, %v, %v", len(demo), rej, err)
	}
}
