//go:build !unix

package procs

import "time"

// cpuTime is unknown here: Govern leaves GOMAXPROCS alone.
func cpuTime() (time.Duration, bool) { return 0, false }
