package ha

import "golang.org/x/sys/unix"

// now reads CLOCK_BOOTTIME: like the monotonic clock it never jumps with
// the wall clock, and unlike it, it keeps counting while the host is
// suspended (a laptop's sleep, a paused virtual machine), so that a
// gateway woken long after its lease ran out sees it has.
func now() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return monotonic()
	}
	return ts.Nano()
}
