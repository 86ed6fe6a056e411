package pbx

import (
	"context"
	"sort"
	"time"

	"crmcti/gateway/csta"
)

// stalled is csta's OnStall: the switch went silent while it owed us an
// answer and then spoke again, before the liveness window declared the
// link down. Whatever it swallowed meanwhile (a call that rang, one that
// ended) is invisible to the events, so every device is resynchronised.
func (a *Adapter) stalled(silence time.Duration) {
	c, err := a.link()
	if err != nil {
		return // the link is (re)starting: its start resynchronises anyway
	}
	a.log.Warn("pbx: switch stalled and recovered; resynchronising every device", "silence", silence.Round(time.Millisecond).String())
	a.again.Store(true)
	if !a.resync.TryLock() {
		return // the one running goes again
	}
	defer a.resync.Unlock()
	var step time.Duration
	if rps := a.cfg.Profile.RequestsPerSecond; rps > 0 {
		step = time.Duration(float64(time.Second) / (rps * stallShare))
	}
	for a.again.Swap(false) {
		n := 0
		next := time.Now()
		for _, d := range a.monitoredOn() {
			if wait := time.Until(next); wait > 0 {
				select {
				case <-c.Done():
					return
				case <-time.After(wait):
				}
			}
			next = next.Add(step)
			n += a.resyncDevice(c, d)
		}
		a.resynced("stall", n)
	}
}

// stallShare is the most of the switch's request rate a resynchronisation
// after a stall uses: the switch that has just stalled is often one under
// load (a morning's logins, each a MonitorStart and a SnapshotDevice), and
// 10,000 snapshots at its full rate would shut those out for 10 s.
const stallShare = 0.5

func (a *Adapter) resynced(reason string, corrected int) {
	if a.cfg.OnResync != nil {
		a.cfg.OnResync(reason, corrected)
	}
}

// monitoredOn returns the devices monitored on the current link, in a
// fixed order.
func (a *Adapter) monitoredOn() []*device {
	a.mu.Lock()
	defer a.mu.Unlock()
	devs := make([]*device, 0, len(a.devices))
	for _, d := range a.devices {
		if d.xref != "" {
			devs = append(devs, d)
		}
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].ext < devs[j].ext })
	return devs
}

// resyncDevice reconciles one device with the switch's snapshot, if it is
// still monitored, and returns how many calls that corrected; a failure
// is logged (the next audit tries again).
func (a *Adapter) resyncDevice(c *csta.Conn, d *device) int {
	a.mu.Lock()
	wanted := a.devices[d.ext] == d && d.xref != ""
	a.mu.Unlock()
	if !wanted {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
	defer cancel()
	n, err := a.snapshotCount(ctx, c, d)
	if err != nil {
		a.log.Warn("pbx: resynchronise device", "device", d.ext, "err", err)
	}
	return n
}

// audit compares every monitored device with the switch's snapshot once
// per Config.Audit for as long as the link lasts, one device at a time,
// evenly spread, so that 1,000 devices cost one small request every 30 ms
// rather than a burst: a switch that drops an event with no other sign is
// corrected within one period. It never takes more than auditShare of the
// profile's request rate: 10,000 phones audited every 30 s were 333
// snapshots a second, a third of an OpenScape link and more than an AES
// CLAN board's whole capacity; they are then audited less often.
func (a *Adapter) audit(c *csta.Conn) {
	for {
		devs := a.monitoredOn()
		step := a.cfg.Audit / time.Duration(max(len(devs), 1))
		if rps := a.cfg.Profile.RequestsPerSecond; rps > 0 {
			step = max(step, time.Duration(float64(time.Second)/(rps*auditShare)))
		}
		if len(devs) == 0 {
			devs = []*device{nil}
		}
		for _, d := range devs {
			select {
			case <-c.Done():
				return
			case <-time.After(step):
			}
			if d == nil {
				continue
			}
			if n := a.resyncDevice(c, d); n > 0 {
				a.log.Warn("pbx: audit corrected calls the events had not (the switch lost events)", "device", d.ext, "corrected", n)
				a.resynced("audit", n)
			}
		}
	}
}

// auditShare is the most of the switch's request rate the audit uses.
const auditShare = 0.05
