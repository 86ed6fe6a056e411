//go:build unix

package procs

import (
	"syscall"
	"time"
)

// cpuTime is the CPU the process has used, in user and kernel mode: the
// kernel's share (writes to sockets, wake-ups) is a large part of the
// gateway's.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
