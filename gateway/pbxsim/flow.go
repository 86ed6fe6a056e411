package pbxsim

import (
	"time"

	"crmcti/gateway/csta"
)

// flow is a link's flow control, a token bucket at the profile's request
// rate (csta.Profile.RequestsPerSecond) holding a second of requests, at
// least four: the queue a switch keeps in front of its limit, and room
// for the bursts in which a paced application's requests arrive after a
// scheduling hiccup on either side (a quarter second refused thousands
// of a 10,000-agent login storm that kept to the rate on average,
// because the simulator, sharing two cores with 10,000 simulated
// browsers, read its socket late and found them all at once). Real switches refuse an application that
// sends faster than they serve: Avaya AES documents a switch link's
// capacity (200 messages a second per CLAN board, 1,000, or 2,000 over
// Processor Ethernet from AES 6.2) and, past its queue ("Max Flow
// Allowed"), rejects requests with a congestion error; the Alcatel OXO
// documents 2 switching requests a second. The simulator does the same,
// so that an application that resynchronises a thousand phones faster
// than the profile allows is refused here as it would be there, not
// flattered. Refused requests get performanceManagement /
// performanceLimitExceeded (ECMA-269).
type flow struct {
	tokens float64
	last   time.Time
}

// admit takes one request's token at now; false means refuse it.
func (f *flow) admit(rps float64, now time.Time) bool {
	if rps <= 0 {
		return true
	}
	capacity := max(rps, 4)
	if f.last.IsZero() {
		f.tokens = capacity
	} else {
		f.tokens = min(capacity, f.tokens+now.Sub(f.last).Seconds()*rps)
	}
	f.last = now
	if f.tokens < 1 {
		return false
	}
	f.tokens--
	return true
}

// errFlow is the answer to a request past the link's rate.
func errFlow() *csta.CSTAErrorCode {
	return csta.NewError(csta.ErrCatPerformance, "performanceLimitExceeded")
}
