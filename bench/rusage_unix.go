//go:build unix

package bench

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// RaiseFileLimit raises the soft limit of open files (RLIMIT_NOFILE) to the
// hard limit and returns both. Each connection is a file: thousands of
// concurrent episodes need thousands of them on each side.
func RaiseFileLimit() (soft, hard uint64, err error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, 0, fmt.Errorf("bench: read the open-file limit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, 0, fmt.Errorf("bench: raise the open-file limit to %d: %w", l.Max, err)
		}
	}
	return l.Cur, l.Max, nil
}

// usage returns the CPU time (user, system) and peak resident memory in
// bytes of an exited child process.
func usage(ps *os.ProcessState) (user, sys time.Duration, maxRSS int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime(), ps.SystemTime(), 0
	}
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" { // kilobytes elsewhere, bytes on macOS
		maxRSS *= 1024
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), maxRSS
}
