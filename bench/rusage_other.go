//go:build !unix

package bench

import (
	"os"
	"time"
)

// RaiseFileLimit does nothing on this system; it returns zeros.
func RaiseFileLimit() (soft, hard uint64, err error) { return 0, 0, nil }

// usage returns the CPU time of an exited child process; its peak memory is
// unknown here (0).
func usage(ps *os.ProcessState) (user, sys time.Duration, maxRSS int64) {
	return ps.UserTime(), ps.SystemTime(), 0
}
