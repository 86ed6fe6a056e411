package ha

import "time"

var origin = time.Now()

// monotonic is nanoseconds on Go's monotonic clock.
func monotonic() int64 { return int64(time.Since(origin)) }
