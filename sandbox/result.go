package sandbox

import (
	"fmt"
	"strings"
	"time"
)

// Limit names the limit a run ran into.
type Limit string

// The limits a run may hit. Timeout, output and (from the signal) CPU are
// certain; the others are read from the error the code printed (a Python
// MemoryError, "Resource temporarily unavailable" from fork), since the
// kernel refuses the request rather than killing the program.
const (
	LimitTimeout   Limit = "timeout"
	LimitCPU       Limit = "cpu"
	LimitMemory    Limit = "memory"
	LimitProcesses Limit = "processes"
	LimitFileSize  Limit = "file_size"
	LimitOpenFiles Limit = "open_files"
	LimitOutput    Limit = "output"
	LimitWorkDir   Limit = "work_dir"
)

// TruncatedMarker ends an output stream that was cut at its limit; %d is
// the limit in bytes.
const TruncatedMarker = "\n[output truncated at %d bytes]\n"

// Result is what the code did. A sandbox failure is never a Result: it is
// the error beside it.
type Result struct {
	// ExitCode is the exit status; -1 when the run was killed by a signal.
	ExitCode int `json:"exit_code"`
	// Signal names the signal that ended the run, if one did.
	Signal string `json:"signal,omitempty"`
	// Stdout and Stderr are the output, each cut at Limits.Output and then
	// ending with TruncatedMarker.
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// StdoutTruncated and StderrTruncated say the stream was cut.
	StdoutTruncated bool `json:"stdout_truncated,omitempty"`
	StderrTruncated bool `json:"stderr_truncated,omitempty"`
	// TimedOut says the wall-clock limit passed and the run was killed.
	TimedOut bool `json:"timed_out,omitempty"`
	// Limit names the limit the run ran into, if any.
	Limit Limit `json:"limit,omitempty"`
	// Duration is the wall time from handing over the code to the end.
	Duration time.Duration `json:"duration_ns"`
}

// OK reports whether the code exited with status 0 within every limit.
func (r Result) OK() bool { return r.ExitCode == 0 && r.Limit == "" && r.Signal == "" }

// Summary says in a few words how the run ended: "exit 0", "exit 1",
// "timed out after 2s", "killed: output limit", "killed by signal killed".
func (r Result) Summary() string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("timed out after %v", r.Duration.Round(time.Millisecond))
	case r.Limit != "":
		return fmt.Sprintf("%s limit hit (exit %d)", r.Limit, r.ExitCode)
	case r.Signal != "":
		return "killed by signal " + r.Signal
	}
	return fmt.Sprintf("exit %d", r.ExitCode)
}

// LastLine returns the last non-empty line of s (a traceback's error line).
func LastLine(s string) string {
	s = strings.TrimRight(s, "\n\r\t ")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
