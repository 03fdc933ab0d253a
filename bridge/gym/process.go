package gym

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain/internal/procenv"
)

//go:embed shim/retrain_gym_shim.py
var shimSource string

// ShimSource returns the Python source of the shim the subprocess runs
// (shim/retrain_gym_shim.py), for running it by hand.
func ShimSource() string { return shimSource }

// Defaults of [ProcessOptions].
const (
	DefaultPython       = "python3"
	DefaultStartTimeout = 60 * time.Second
	DefaultTimeout      = 30 * time.Second
	// MaxLine bounds one protocol line (an observation with its render).
	MaxLine = 64 << 20
)

// closeGrace is how long Close waits for the environment's own close
// (env.close()) before killing the process group.
const closeGrace = time.Second

// ProcessOptions configure the Python subprocess. Nil means defaults.
type ProcessOptions struct {
	// Python is the interpreter to run (default "python3"), looked up in
	// PATH when it has no slash.
	Python string
	// PythonPath is prepended to $PYTHONPATH, so that "module:factory"
	// finds the module.
	PythonPath []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env holds extra environment variables, "KEY=value". The process gets
	// only these, Python's search path variables and the few of
	// procenv.Passed: never the rest of this process's environment.
	Env []string
	// Stderr receives a copy of the process's stderr (where the
	// environment's own prints go); nil means it is only kept, its last
	// lines quoted in errors.
	Stderr io.Writer
	// StartTimeout bounds starting the interpreter and making the
	// environment (default 60s: importing gymnasium can be slow).
	StartTimeout time.Duration
	// Timeout bounds each later request (default 30s).
	Timeout time.Duration
}

// Process is a Python subprocess running one environment behind the shim.
// Its methods may be called from one goroutine at a time, except Close,
// which may be called at any time (it aborts a request in flight).
type Process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  io.ReadCloser
	lines   chan lineMsg
	done    chan struct{} // closed once the process has exited and been waited for
	quit    chan struct{} // closed by kill: the reader stops delivering
	stderr  *tail
	timeout time.Duration
	info    EnvInfo

	mu       sync.Mutex // one request at a time
	nextID   int64
	broken   error // why the process can take no more requests
	waitErr  error // set before done is closed
	killOnce sync.Once
	closed   sync.Once
}

type lineMsg struct {
	data []byte
	err  error
}

// Start runs the interpreter with the shim and makes the environment name
// ("module:factory", or a Gymnasium id) with kwargs (a JSON object; nil
// means none). The process lives until Close, which the caller must call.
func Start(ctx context.Context, name string, kwargs json.RawMessage, opts *ProcessOptions) (*Process, error) {
	var o ProcessOptions
	if opts != nil {
		o = *opts
	}
	if o.Python == "" {
		o.Python = DefaultPython
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	python, err := exec.LookPath(o.Python)
	if err != nil {
		return nil, fmt.Errorf("gym: Python interpreter %q not found: install Python 3 or name the interpreter (config key \"python\"): %w", o.Python, err)
	}
	cmd := exec.Command(python, "-c", shimSource)
	cmd.Dir = o.Dir
	// The shim gets a minimal environment, never the server's secrets;
	// Python's own search path variables are the operator's and pass too.
	var pyenv []string
	for _, name := range []string{"PYTHONHOME", "VIRTUAL_ENV"} {
		if v, ok := os.LookupEnv(name); ok {
			pyenv = append(pyenv, name+"="+v)
		}
	}
	paths := append([]string(nil), o.PythonPath...)
	if old := os.Getenv("PYTHONPATH"); old != "" {
		paths = append(paths, old)
	}
	if len(paths) > 0 {
		pyenv = append(pyenv, "PYTHONPATH="+strings.Join(paths, string(filepath.ListSeparator)))
	}
	cmd.Env = procenv.Minimal(append(pyenv, o.Env...)...)
	setProcessGroup(cmd)
	p := &Process{
		cmd:     cmd,
		lines:   make(chan lineMsg),
		done:    make(chan struct{}),
		quit:    make(chan struct{}),
		stderr:  &tail{max: 16 << 10, copyTo: o.Stderr},
		timeout: o.Timeout,
	}
	cmd.Stderr = p.stderr
	cmd.WaitDelay = 2 * time.Second
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("gym: %w", err)
	}
	if p.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("gym: %w", err)
	}
	if err := cmd.Start(); err != nil {
		p.stdin.Close()
		return nil, fmt.Errorf("gym: start %s: %w", python, err)
	}
	go p.read(p.stdout)

	if kwargs == nil {
		kwargs = json.RawMessage(`{}`)
	}
	raw, err := p.call(ctx, "make", map[string]any{"env": name, "kwargs": kwargs}, o.StartTimeout)
	if err != nil {
		p.Close()
		var pe *PythonError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("gym: could not make environment %q (check the name, kwargs and pythonpath): %w", name, err)
		}
		return nil, err
	}
	if err := json.Unmarshal(raw, &p.info); err != nil {
		p.Close()
		return nil, fmt.Errorf("%w: make returned %s: %v", ErrProtocol, snippet(raw), err)
	}
	if p.info.Protocol != ProtocolVersion {
		p.Close()
		return nil, fmt.Errorf("%w: the shim speaks protocol %d, this program %d", ErrProtocol, p.info.Protocol, ProtocolVersion)
	}
	return p, nil
}

// read delivers stdout's lines until it ends, then waits for the process.
func (p *Process) read(stdout io.Reader) {
	r := bufio.NewReaderSize(stdout, 64<<10)
	for {
		data, err := readLine(r)
		var msg lineMsg
		switch {
		case err == nil:
			msg.data = data
		case err == errLineTooLong:
			msg.err = err
		case err == io.EOF && len(data) > 0:
			msg.data = data // a last line without a newline
		default:
			// The end of stdout, or the pipe closed by kill.
		}
		if msg.data == nil && msg.err == nil {
			break
		}
		select {
		case p.lines <- msg:
		case <-p.quit:
			err = io.EOF
		}
		if err != nil {
			break
		}
	}
	io.Copy(io.Discard, r) // until the process and its children are gone
	p.waitErr = p.cmd.Wait()
	close(p.done)
}

var errLineTooLong = fmt.Errorf("a line longer than %d bytes", MaxLine)

// readLine reads one line without its newline. A last line without a
// newline comes with io.EOF.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLine {
			return nil, errLineTooLong
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return buf, err
		}
		return buf[:len(buf)-1], nil
	}
}

// Info describes the environment: its spaces and render mode.
func (p *Process) Info() EnvInfo { return p.info }

// Err returns why the process can take no more requests (it exited, timed
// out, broke the protocol, or was closed), or nil.
func (p *Process) Err() error {
	p.mu.Lock()
	broken := p.broken
	p.mu.Unlock()
	if broken != nil {
		return broken
	}
	select {
	case <-p.done:
		return p.exitError()
	default:
	}
	return nil
}

// Reset calls env.reset(seed=seed, options=options); a nil seed is None,
// nil options are left out.
func (p *Process) Reset(ctx context.Context, seed *int64, options json.RawMessage) (Result, error) {
	params := map[string]any{"seed": seed}
	if len(options) > 0 {
		params["options"] = options
	}
	return p.result(ctx, "reset", params)
}

// Step calls env.step(action), action being the JSON of the action (the
// shim converts it to the action space's type: an int for Discrete).
func (p *Process) Step(ctx context.Context, action json.RawMessage) (Result, error) {
	return p.result(ctx, "step", map[string]any{"action": action})
}

// Render calls env.render() and returns its text, when the environment
// renders as ansi.
func (p *Process) Render(ctx context.Context) (string, bool, error) {
	raw, err := p.call(ctx, "render", nil, p.timeout)
	if err != nil {
		return "", false, err
	}
	var r struct {
		Render *string `json:"render"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", false, fmt.Errorf("%w: render returned %s: %v", ErrProtocol, snippet(raw), err)
	}
	if r.Render == nil {
		return "", false, nil
	}
	return *r.Render, true, nil
}

// Spaces asks the process for the spaces again.
func (p *Process) Spaces(ctx context.Context) (action, observation Space, err error) {
	raw, err := p.call(ctx, "spaces", nil, p.timeout)
	if err != nil {
		return Space{}, Space{}, err
	}
	var s struct {
		Action      Space `json:"action_space"`
		Observation Space `json:"observation_space"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return Space{}, Space{}, fmt.Errorf("%w: spaces returned %s: %v", ErrProtocol, snippet(raw), err)
	}
	return s.Action, s.Observation, nil
}

func (p *Process) result(ctx context.Context, method string, params any) (Result, error) {
	raw, err := p.call(ctx, method, params, p.timeout)
	if err != nil {
		return Result{}, err
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		p.kill()
		return Result{}, fmt.Errorf("%w: %s returned %s: %v", ErrProtocol, method, snippet(raw), err)
	}
	return r, nil
}

// call sends one request and waits for its reply. A timeout, a cancelled
// ctx or a line that is not a reply kills the process: it may be in any
// state, and its next reply could not be matched.
func (p *Process) call(ctx context.Context, method string, params any, timeout time.Duration) (json.RawMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken != nil {
		return nil, fmt.Errorf("gym: %s: %w", method, p.broken)
	}
	select {
	case <-p.done:
		return nil, fmt.Errorf("gym: %s: %w", method, p.exitError())
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gym: %s: %w", method, err)
	}
	p.nextID++
	id := p.nextID
	line, err := json.Marshal(request{ID: id, Method: method, Params: params})
	if err != nil {
		return nil, fmt.Errorf("gym: %s: encode request: %w", method, err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		// The process is gone; report its exit rather than the pipe.
		select {
		case <-p.done:
			return nil, fmt.Errorf("gym: %s: %w", method, p.exitError())
		case <-time.After(time.Second):
			return nil, p.breakWith(fmt.Errorf("%w: writing the %s request: %v%s", ErrExited, method, err, p.stderrNote()))
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case msg := <-p.lines:
		if msg.err != nil {
			return nil, p.breakWith(fmt.Errorf("%w: %s: the process wrote %v on stdout", ErrProtocol, method, msg.err))
		}
		var r reply
		if err := json.Unmarshal(msg.data, &r); err != nil || r.ID == nil || (r.OK && r.Result == nil) || (!r.OK && r.Error == nil) {
			return nil, p.breakWith(fmt.Errorf("%w: waiting for the reply to %s, the process wrote %s on stdout, which is not a protocol reply. "+
				"The shim sends the environment's own prints to stderr: is something else (a wrapper script, sitecustomize) writing to stdout?%s",
				ErrProtocol, method, snippet(msg.data), p.stderrNote()))
		}
		if *r.ID != id {
			return nil, p.breakWith(fmt.Errorf("%w: the reply to request %d came with id %d", ErrProtocol, id, *r.ID))
		}
		if !r.OK {
			return nil, &PythonError{Method: method, Type: r.Error.Type, Message: r.Error.Message, Traceback: r.Error.Traceback}
		}
		return r.Result, nil
	case <-p.done:
		return nil, fmt.Errorf("gym: %s: %w", method, p.exitError())
	case <-timer.C:
		return nil, p.breakWith(fmt.Errorf("%w: %s did not answer within %v; the Python process was killed%s", ErrTimeout, method, timeout, p.stderrNote()))
	case <-ctx.Done():
		return nil, p.breakWith(fmt.Errorf("gym: %s: %w (the Python process was killed: it was busy with the request)", method, ctx.Err()))
	}
}

// breakWith kills the process, remembers err as the reason it can take no
// more requests, and returns err. p.mu is held.
func (p *Process) breakWith(err error) error {
	p.broken = err
	p.kill()
	return err
}

// kill kills the process group and stops the reader.
func (p *Process) kill() {
	p.killOnce.Do(func() {
		killProcessGroup(p.cmd)
		close(p.quit)
		p.stdout.Close() // unblocks the reader even if a child holds the pipe
	})
}

// exitError describes how the process exited; p.done is closed.
func (p *Process) exitError() error {
	status := "exit status 0"
	if p.waitErr != nil {
		status = p.waitErr.Error()
	}
	return fmt.Errorf("%w (%s)%s", ErrExited, status, p.stderrNote())
}

// stderrNote quotes the end of the process's stderr, or is empty.
func (p *Process) stderrNote() string {
	if s := lastLines(p.stderr.String(), 20); s != "" {
		return "; its stderr ends with:\n" + s
	}
	return ""
}

// Close asks the environment to close (env.close(), waiting at most a
// second), then kills the process group, so that child processes die too. It is safe to
// call more than once and concurrently with a request, which it aborts.
func (p *Process) Close() error {
	p.closed.Do(func() {
		if p.mu.TryLock() {
			healthy := p.broken == nil
			p.mu.Unlock()
			if healthy {
				ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
				p.call(ctx, "close", nil, closeGrace)
				cancel()
			}
			p.mu.Lock()
			if p.broken == nil {
				p.broken = errClosed
			}
			p.mu.Unlock()
		}
		// The environment has closed (or could not be asked to: a
		// request in flight is aborted at once). Whatever is left of the
		// process group goes now.
		p.stdin.Close()
		p.kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			// A child that left the process group holds stdout or
			// stderr open; the reader goroutine ends when it exits.
		}
	})
	return nil
}

var errClosed = errors.New("gym: the process was closed")

// snippet quotes the start of b for an error message.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// tail keeps the last max bytes written to it, and copies them on.
type tail struct {
	mu     sync.Mutex
	max    int
	buf    []byte
	copyTo io.Writer
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	if t.copyTo != nil {
		t.copyTo.Write(b)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
