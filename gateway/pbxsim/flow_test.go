package pbxsim_test

import (
	"context"
	"errors"
	"testing"

	"crmcti/gateway/csta"
	"crmcti/gateway/pbxsim"
)

// A switch refuses an application that sends faster than it serves: past
// a second's burst (at least four), requests beyond the profile's rate are
// refused with performanceLimitExceeded; an application that paces
// itself at the profile's rate is never refused.
func TestRequestsPastTheRateAreRefused(t *testing.T) {
	p, _ := csta.LookupProfile("alcatel-oxo") // 2 requests a second
	r := newRig(t, pbxsim.Config{Profile: p})
	unpaced := p
	unpaced.RequestsPerSecond = 0
	c, _ := r.dial(unpaced)
	ctx := context.Background()
	refused := 0
	for range 10 {
		_, err := c.Do(ctx, &csta.SnapshotDevice{SnapshotObject: "1001"})
		var e *csta.CSTAErrorCode
		switch {
		case errors.As(err, &e) && e.PerformanceManagement == "performanceLimitExceeded":
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	if refused < 5 {
		t.Fatalf("%d of 10 requests sent at once refused, want all past the burst of 4", refused)
	}
	for range 3 { // the rig's own link is paced at the profile's rate
		if _, err := r.conn.Do(ctx, &csta.SnapshotDevice{SnapshotObject: "1001"}); err != nil {
			t.Fatalf("a paced request was refused: %v", err)
		}
	}
}
