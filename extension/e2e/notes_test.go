package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"crmcti/gateway"
	"crmcti/gateway/postgres"
)

// TestAfterCallNoteByKeyboard: the agent ends a call from the keyboard,
// the note form takes the focus, she types a note, picks an outcome with
// the arrow keys and saves with Enter — no mouse. Recent calls show the
// note and the outcome, and the call log in PostgreSQL holds them.
func TestAfterCallNoteByKeyboard(t *testing.T) {
	r := newRig(t)
	page := r.b.tab(r.crm.URL + "/")
	panel := r.b.panel()
	r.login(panel, "grace")
	until(t, panel, "logged in", `!document.getElementById("main").hidden && document.getElementById("link").textContent === "connected"`)
	// Recent calls open (and fetched) from the start, so that the list is
	// not replaced under the keyboard later.
	do(t, panel, chromedp.Click(chromedp.CSS("#recent-box summary")))
	res, _ := r.sys.Sim.StartInbound("+35722123456", "1007")
	until(t, panel, "ringing", `document.querySelectorAll("#calls li.ringing .matches li").length === 2`)
	do(t, panel, chromedp.Focus(chromedp.CSS("#calls li.ringing button.primary")), chromedp.KeyEvent(kb.Enter))
	until(t, panel, "connected", `document.querySelector("#calls li.connected button.danger") !== null`)
	do(t, panel, chromedp.Focus(chromedp.CSS("#calls li.connected button.danger")), chromedp.KeyEvent(kb.Enter))
	until(t, panel, "the note form has the focus", `!document.getElementById("wrap").hidden && document.activeElement === document.getElementById("wrap-note")`)
	if who := eval[string](t, panel, `document.getElementById("wrap-who").textContent`); who == "" {
		t.Fatal("the form does not say which call")
	}
	do(t, panel, chromedp.KeyEvent("Wants a quote for two lines"), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	until(t, panel, "outcome chosen by arrows", `document.getElementById("wrap-outcome").value === "callback"`)
	r.b.screenshot(page, "after-call-note")
	do(t, panel, chromedp.KeyEvent(kb.Tab))
	if id := eval[string](t, panel, `document.activeElement.id`); id != "wrap-save" {
		t.Fatalf("Tab from the outcome reached %q", id)
	}
	do(t, panel, chromedp.KeyEvent(kb.Enter))
	until(t, panel, "saved", `document.getElementById("wrap").hidden && document.getElementById("notice-text").textContent === "Note saved."`)
	until(t, panel, "note in recent calls", `(() => { const li = document.querySelector("#recent li");
		return li && li.querySelector(".note") && li.querySelector(".note").textContent === "Wants a quote for two lines" && li.textContent.includes("Callback requested"); })()`)

	db, err := postgres.Open(context.Background(), r.sys.PG.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The call log is written in batches: wait for the note to land.
	var rows []postgres.CallLogRow
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if rows, err = db.CallLog(context.Background(), res.CallID); err == nil && len(rows) == 1 && rows[0].Note != "" {
			break
		}
	}
	if len(rows) != 1 {
		t.Fatalf("call log %+v %v", rows, err)
	}
	if rows[0].Note != "Wants a quote for two lines" || rows[0].Disposition != gateway.DispCallback || rows[0].Username != "grace" {
		t.Fatalf("logged %+v", rows[0])
	}

	// Edit it from recent calls: the form opens with what was saved;
	// Ctrl+Enter saves the change.
	do(t, panel, chromedp.Focus(chromedp.CSS("#recent li button.note-btn")), chromedp.KeyEvent(kb.Enter))
	until(t, panel, "form with the saved note", `!document.getElementById("wrap").hidden && document.getElementById("wrap-note").value === "Wants a quote for two lines"`)
	do(t, panel, chromedp.Focus(chromedp.CSS("#wrap-note")), chromedp.KeyEvent(kb.End), chromedp.KeyEvent(", sent"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(2 /* Ctrl */)))
	until(t, panel, "edited in recent calls", `document.getElementById("wrap").hidden && document.querySelector("#recent li .note").textContent === "Wants a quote for two lines, sent"`)
}
