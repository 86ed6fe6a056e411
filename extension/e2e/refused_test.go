package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"crmcti/gateway/postgres"
)

// TestRefusedWhileBusyListed: while the agent is Busy the switch refuses
// a call (do-not-disturb); her recent calls list it as "Refused while
// Busy" with the caller and the time, the missed-call count does not
// grow, and the call log holds it.
func TestRefusedWhileBusyListed(t *testing.T) {
	r := newRig(t)
	r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "henry")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	do(t, panel, chromedp.Click(chromedp.CSS("#recent-box summary")), chromedp.Click(chromedp.CSS("#status-busy")))
	until(t, panel, "busy", `document.getElementById("status-busy").getAttribute("aria-checked") === "true"`)
	if d, _ := r.sys.Sim.Device("1008"); !d.DoNotDisturb {
		t.Fatalf("the phone is not in do-not-disturb: %+v", d)
	}
	res, _ := r.sys.Sim.StartInbound("+35799000333", "1008")
	until(t, panel, "listed as refused", `(() => { const li = document.querySelector("#recent li.refused");
		return li && li.textContent.includes("Refused while Busy") && li.textContent.includes("+357 99 000333") && /\d\d:\d\d/.test(li.textContent); })()`)
	if eval[bool](t, panel, `document.querySelector("#calls li") !== null || !document.getElementById("wrap").hidden || document.querySelector("#recent li.missed") !== null`) {
		t.Fatal("a refused call shows as a call, a missed call or asks for a note")
	}
	db, err := postgres.Open(context.Background(), r.sys.PG.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The call log is written in batches: wait for it.
	var rows []postgres.CallLogRow
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if rows, err = db.CallLog(context.Background(), res.CallID); err == nil && len(rows) == 1 {
			break
		}
	}
	if len(rows) != 1 || rows[0].Username != "henry" || !rows[0].Refused() || rows[0].Cause != "doNotDisturb" || rows[0].Remote != "+35799000333" {
		t.Fatalf("call log %+v %v", rows, err)
	}
}
