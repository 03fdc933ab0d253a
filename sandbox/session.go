package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Session is one Python interpreter in one sandbox that keeps its variables
// between runs, like a notebook: a cell's last expression is printed when it
// is not None. The sandbox's limits apply to the session as a whole (CPU
// time and memory add up over its runs); Limits.Timeout, or a request's
// shorter one, bounds each run. A run that times out or kills the
// interpreter ends the session's state: the next run starts a fresh
// interpreter and says so in its stderr. A Session is safe for concurrent
// use (runs take turns); Close ends it.
type Session struct {
	sb *Sandbox

	mu     sync.Mutex
	p      *proc
	out    *bufio.Reader
	lost   bool // the last run ended the interpreter
	closed bool
}

// RestartedNote starts the stderr of the first run after an interpreter
// was lost.
const RestartedNote = "note: the interpreter was restarted because the last run ended it; variables defined before are gone\n"

// NewSession starts a session's interpreter.
func (s *Sandbox) NewSession() (*Session, error) {
	ss := &Session{sb: s}
	if err := ss.start(); err != nil {
		return nil, err
	}
	return ss, nil
}

func (ss *Session) start() error {
	p, out, err := ss.sb.startStream([]string{ss.sb.python, "-I", "-B", "-c", replLoader, strconv.Itoa(ss.sb.limits.Output)})
	if err != nil {
		return err
	}
	ss.p, ss.out = p, bufio.NewReader(out)
	return nil
}

// stop ends the current interpreter.
func (ss *Session) stop() {
	if ss.p == nil {
		return
	}
	discard(ss.p)
	ss.p = nil
}

// cellResult is the REPL loader's answer to one cell.
type cellResult struct {
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	StderrTruncated bool   `json:"stderr_truncated"`
	Exit            int    `json:"exit"`
}

// Run runs code in the session's interpreter. req.Stdin is not used (a
// cell's stdin is empty).
func (ss *Session) Run(ctx context.Context, req Request) (Result, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return Result{}, ErrClosed
	}
	note := ""
	if ss.p == nil {
		if err := ss.start(); err != nil {
			return Result{}, err
		}
		note = RestartedNote
	}
	limit := ss.sb.limits.Timeout
	if req.Timeout > 0 && req.Timeout < limit {
		limit = req.Timeout
	}
	start := time.Now()
	type answer struct {
		cell cellResult
		err  error
	}
	got := make(chan answer, 1)
	p, out := ss.p, ss.out
	go func() {
		var a answer
		if _, err := io.WriteString(p.stdin, strconv.Itoa(len(req.Code))+"\n"+req.Code); err != nil {
			a.err = err
		} else {
			a.cell, a.err = readCell(out)
		}
		got <- a
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var a answer
	select {
	case a = <-got:
	case <-timer.C:
		ss.stop()
		<-got
		return Result{ExitCode: -1, TimedOut: true, Limit: LimitTimeout, Duration: time.Since(start), Stderr: note}, nil
	case <-ctx.Done():
		ss.stop()
		<-got
		return Result{}, fmt.Errorf("sandbox: %w", ctx.Err())
	}
	if a.err != nil {
		// The interpreter ended (os._exit, a signal, a limit) or wrote
		// over its answers: report how it ended, and start afresh next time.
		p.kill()
		res, err := p.wait(context.Background(), time.Second)
		ss.p = nil
		if err != nil {
			return Result{}, err
		}
		res.Stdout = ""
		res.Stderr = note + res.Stderr
		if res.ExitCode == 0 && res.Signal == "" && res.Limit == "" {
			res.Stderr += "the interpreter's answer could not be read: " + a.err.Error() + "\n"
			res.ExitCode = 1
		}
		res.Duration = time.Since(start)
		return res, nil
	}
	c := a.cell
	res := Result{
		ExitCode: c.Exit, Stdout: c.Stdout, Stderr: note + c.Stderr,
		StdoutTruncated: c.StdoutTruncated, StderrTruncated: c.StderrTruncated,
		Duration: time.Since(start),
	}
	if c.StdoutTruncated {
		res.Stdout += fmt.Sprintf(TruncatedMarker, ss.sb.limits.Output)
	}
	if c.StderrTruncated {
		res.Stderr += fmt.Sprintf(TruncatedMarker, ss.sb.limits.Output)
	}
	if c.StdoutTruncated || c.StderrTruncated {
		res.Limit = LimitOutput
	} else {
		res.Limit = limitFrom(res, 0)
		if res.Limit == LimitCPU {
			res.Limit = ""
		}
	}
	return res, nil
}

// readCell reads one framed answer: its length, a newline, then JSON.
func readCell(r *bufio.Reader) (cellResult, error) {
	var c cellResult
	h, err := r.ReadString('\n')
	if err != nil {
		return c, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n < 0 || n > 64<<20 {
		return c, fmt.Errorf("bad frame %q", h)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// Close ends the session's interpreter. It is safe to call more than once.
func (ss *Session) Close() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	ss.stop()
	return nil
}

// replLoader is the Python program of a Session: it reads framed cells from
// stdin, runs each in one namespace with its output captured (up to argv[1]
// bytes a stream), and answers each with a framed JSON object on the
// stdout it started with.
const replLoader = `import os
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
import sys, io, json, ast, traceback
_proto = os.fdopen(os.dup(1), "wb")
_cells = os.fdopen(os.dup(0), "rb")
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)
sys.stdin = open(os.devnull)
LIMIT = int(sys.argv[1])
class _Cap(io.TextIOBase):
    def __init__(self):
        self.parts, self.n, self.trunc = [], 0, False
    def writable(self):
        return True
    def write(self, s):
        s = str(s)
        if self.n < LIMIT:
            self.parts.append(s[:LIMIT - self.n])
        self.n += len(s)
        if self.n > LIMIT:
            self.trunc = True
        return len(s)
    def text(self):
        return "".join(self.parts)
_g = {"__name__": "__main__", "__builtins__": __builtins__}
sys.argv = ["main.py"]
while True:
    _h = _cells.readline()
    if not _h:
        break
    _src = _cells.read(int(_h)).decode("utf-8", "replace")
    _out, _err = _Cap(), _Cap()
    sys.stdout, sys.stderr = _out, _err
    _exit = 0
    try:
        _tree = ast.parse(_src, "<cell>")
        _last = None
        if _tree.body and isinstance(_tree.body[-1], ast.Expr):
            _last = ast.Expression(_tree.body.pop().value)
        exec(compile(_tree, "<cell>", "exec"), _g)
        if _last is not None:
            _v = eval(compile(_last, "<cell>", "eval"), _g)
            if _v is not None:
                print(repr(_v))
    except SystemExit as e:
        _exit = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:
        _exit = 1
        traceback.print_exception(type(e), e, e.__traceback__.tb_next if not isinstance(e, SyntaxError) else None)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    _r = json.dumps({"stdout": _out.text(), "stderr": _err.text(), "stdout_truncated": _out.trunc,
                     "stderr_truncated": _err.trunc, "exit": _exit}).encode()
    _proto.write(b"%d\n" % len(_r) + _r)
    _proto.flush()
`
