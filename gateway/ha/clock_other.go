//go:build !linux

package ha

// now is the monotonic clock where CLOCK_BOOTTIME is not available.
func now() int64 { return monotonic() }
