package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"crmcti/gateway/bench"
)

// runFailover runs ctibench -failover (issue 14), prints its table and
// writes it, with how the figures are defined, to md; it returns 1 when
// anything was lost.
func runFailover(ctx context.Context, fc bench.FailoverConfig, md string) int {
	rep, err := bench.RunFailover(ctx, fc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctibench -failover:", err)
		return 1
	}
	out := rep.Markdown(bench.Machine(), "ctibench "+strings.Join(os.Args[1:], " "))
	fmt.Print(out)
	if md != "" {
		if err := os.WriteFile(md, []byte(failoverDoc(out)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	for _, r := range rep.Results {
		if r.AgentsBack != rep.Agents || r.Relogins+r.CallsLost+r.WrongState+r.RowsLost+r.RowsOpen > 0 {
			fmt.Fprintln(os.Stderr, "ctibench -failover: something was lost:", r.Line())
			return 1
		}
	}
	return 0
}

// failoverDoc is FAILOVER.md: the definitions, then the table.
func failoverDoc(table string) string {
	return `# Failover

The figures of ` + "`make failover`" + ` (` + "`ctibench -failover`" + `, gateway/bench/failover.go): two
gateways (` + "`-lease`" + `) on one PostgreSQL, every agent logged in on the active one with an
extension-like client that has both URLs; three agents in four have a call on the switch, ringing,
connected or held. The active is then killed with SIGKILL (and, in a second round, stopped with
SIGTERM, a clean hand-over); right after the signal the phones answer one ringing call in two and
hang up one connected call in two (the calls changed in the gap). Measured against the switch (pbxsim),
which is the truth:

- **take-over**: from the signal until the standby's ` + "`/readyz`" + ` answers 200.
- **agents back**: from the signal until each agent's client has its session resumed on the new
  active, its snapshot in hand and the switch link up there (it receives the switch's events
  again from then on).
- **re-logins**: agents whose token was refused (goal 0).
- **calls lost**: calls the switch had after the take-over that a panel did not show;
  **wrong state**: calls a panel showed in another state than the switch's, or still live when the
  switch had ended them (goal 0 for both).
- **call-log rows**: every call the switch had at the signal must have its row; **left open** are
  rows without an end although the switch ended the call (the new active closes the rows of calls
  that ended while no gateway was active, at the take-over, with cause ` + "`failover`" + `: when
  exactly they ended no CTI saw). Calls that begin and end wholly inside the gap are invisible to
  any CTI (no gateway holds the switch link then) and are not counted; this run starts none.
  Steps that a SIGKILL takes from memory are written by the killed gateway's spool when it restarts
  (the reliability work of issue 11); this benchmark restarts it as the next standby.

` + table + `
Times here are upper bounds for a quiet machine: both gateways, PostgreSQL, slapd, the switch and
every client share 2 cores. Speed is measured here, never asserted in tests.
` + "Generated " + time.Now().UTC().Format("2006-01-02") + ".\n"
}
