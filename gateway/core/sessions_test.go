package core

import (
	"testing"
	"time"

	"crmcti/gateway/wire"
)

// A logout or a session expiry racing a new login of the same agent must
// leave her phone monitored: the switch is asked in an order whose last
// word is "monitored" exactly when she is logged in.
func TestEndOfSessionRacingANewLogin(t *testing.T) {
	for _, end := range []string{"logout", "expiry"} {
		t.Run(end, func(t *testing.T) {
			h := newHarness(t)
			old := h.dial()
			old.login("alice")
			monitoring := make(chan struct{}, 1)
			unmonitoring := make(chan struct{})
			h.sw.BeforeMonitor = func(string) {
				select {
				case monitoring <- struct{}{}:
				default:
				}
			}
			h.sw.BeforeUnmonitor = func(string) {
				close(unmonitoring)
				// Hold the unmonitor back until the new login reaches the
				// switch, or long enough for it to have done so.
				select {
				case <-monitoring:
				case <-time.After(100 * time.Millisecond):
				}
			}
			ended := make(chan struct{})
			go func() {
				defer close(ended)
				if end == "logout" {
					old.send(wire.TLogout, nil)
				} else {
					h.svc.sweep(time.Now().Add(25 * time.Hour))
				}
			}()
			<-unmonitoring
			h.dial().login("alice")
			<-ended
			if !h.sw.Monitored(alice.Extension) {
				t.Fatalf("alice is logged in but her phone is not monitored; switch asked %v", h.sw.Ops())
			}
			if st := h.svc.Stats(); st.Agents != 1 || st.MonitoredDevices != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
