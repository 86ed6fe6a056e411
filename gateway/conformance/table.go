package conformance

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the report as a person reads it: one line per step,
// then each failure in full with the frame that showed it.
func (r Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nConformance of %s (profile %s), A=%s B=%s", r.Addr, r.Profile, r.Devices[0], r.Devices[1])
	if r.Devices[2] != "" {
		fmt.Fprintf(&b, " C=%s", r.Devices[2])
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRESULT\tTIME\tDETAIL")
	var pass, fail, skip int
	for _, res := range r.Results {
		detail := res.Note
		switch res.Verdict {
		case Pass:
			pass++
		case Skip:
			skip++
		case Fail:
			fail++
			detail = clip("expected "+res.Expected+"; received "+res.Received, 100)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Step, res.Verdict, round(res.Duration), detail)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%d steps: %d passed, %d failed, %d skipped\n", len(r.Results), pass, fail, skip)
	for _, res := range r.Failed() {
		fmt.Fprintf(&b, "\nFAILED: %s\n  expected: %s\n  received: %s\n", res.Step, res.Expected, res.Received)
		if res.Frame != "" {
			fmt.Fprintf(&b, "  frame:    %s\n", res.Frame)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
