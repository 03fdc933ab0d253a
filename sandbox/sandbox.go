package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of [Limits].
const (
	DefaultTimeout   = 10 * time.Second
	DefaultCPUTime   = 10 * time.Second
	DefaultMemory    = 1 << 30 // address space, bytes
	DefaultProcesses = 32
	DefaultFileSize  = 16 << 20
	DefaultOpenFiles = 256
	DefaultOutput    = 1 << 20 // bytes kept of stdout, and of stderr
	DefaultWorkDir   = 64 << 20
)

// TeardownGrace is how long a sandbox whose code finished within its time
// limit may take to end before it is killed and the run reported as timed
// out.
const TeardownGrace = 5 * time.Second

// DefaultPython is the interpreter of [Options.Python] when it is empty: the
// system's Python, not a user's or a project's.
const DefaultPython = "/usr/bin/python3"

// Limits bound one run. The zero value of each field means its default.
type Limits struct {
	// Timeout is the wall-clock limit from the start of the code to its
	// end; when it passes the whole process tree is killed (default 10s).
	Timeout time.Duration
	// CPUTime is the CPU time limit (RLIMIT_CPU, rounded up to whole
	// seconds; default 10s).
	CPUTime time.Duration
	// Memory is the address-space limit in bytes (RLIMIT_AS; default 1 GiB).
	Memory int64
	// Processes is the number of processes and threads the code may have
	// at once (RLIMIT_NPROC; default 32). As root each run has a user id of
	// its own, so the count is the run's alone.
	Processes int
	// FileSize is the largest file the code may write, in bytes
	// (RLIMIT_FSIZE; default 16 MiB).
	FileSize int64
	// OpenFiles is the number of open file descriptors (RLIMIT_NOFILE;
	// default 256).
	OpenFiles int
	// Output is how many bytes of stdout, and of stderr, are kept; a run
	// that writes more is killed and its output ends with [TruncatedMarker]
	// (default 1 MiB).
	Output int
	// WorkDir is the size of the private writable work directory, a tmpfs
	// at /work (default 64 MiB).
	WorkDir int64
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.CPUTime <= 0 {
		l.CPUTime = DefaultCPUTime
	}
	def(&l.Memory, DefaultMemory)
	def(&l.FileSize, DefaultFileSize)
	def(&l.WorkDir, DefaultWorkDir)
	if l.Processes <= 0 {
		l.Processes = DefaultProcesses
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = DefaultOpenFiles
	}
	if l.Output <= 0 {
		l.Output = DefaultOutput
	}
	return l
}

// Options configure a [Sandbox]. Nil means defaults; the zero value of each
// field means its default.
type Options struct {
	// Bwrap is the bubblewrap program; empty means "bwrap" looked up in
	// PATH.
	Bwrap string
	// Python is the interpreter of [Sandbox.Run] and of the warm [Pool]
	// (default /usr/bin/python3). It must be under a ReadOnly path.
	Python string
	// ReadOnly are the host paths visible in the sandbox, read-only, at the
	// same place. Nil means /usr (and /bin, /lib, /lib64, /sbin as the
	// host has them: symbolic links into /usr are recreated as links), and
	// /etc/alternatives and /etc/ld.so.cache when they exist. Nothing else
	// of the host is visible.
	ReadOnly []string
	// Env is the environment of the code, "KEY=value" entries added to the
	// sandbox's own (PATH, HOME=/work, TMPDIR=/work, LANG=C.UTF-8). The
	// host's environment is never passed on.
	Env []string
	// Limits bound each run.
	Limits Limits
	// UnsafeNoSandbox runs the code as a plain child process of the host,
	// with the resource limits but without any isolation: the code sees
	// the host's files and network. It exists for machines where bwrap
	// cannot run, and only for code the operator trusts. Without it, New
	// refuses to work when bwrap is missing or cannot create namespaces.
	UnsafeNoSandbox bool
}

// ErrNoBwrap is wrapped by the error of [New] when bubblewrap is missing or
// cannot make its namespaces.
var ErrNoBwrap = errors.New("sandbox: bubblewrap (bwrap) is not usable")

// ErrClosed is returned by a closed [Pool] or [Session].
var ErrClosed = errors.New("sandbox: closed")

// Sandbox runs untrusted code. It is safe for concurrent use; each run is a
// fresh sandbox.
type Sandbox struct {
	bwrap  string
	python string
	ro     []string
	env    []string
	limits Limits
	unsafe bool
	runAs  func() *syscall.Credential
}

// New returns a Sandbox, having checked that bwrap runs and can make its
// namespaces (one run of `true`, about 20 ms). Without a usable bwrap it
// returns an error wrapping [ErrNoBwrap] that says how to install it, unless
// opts.UnsafeNoSandbox is set.
func New(opts *Options) (*Sandbox, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	s := &Sandbox{python: o.Python, limits: o.Limits.withDefaults(), unsafe: o.UnsafeNoSandbox, runAs: uids()}
	if s.python == "" {
		s.python = DefaultPython
	}
	if !filepath.IsAbs(s.python) {
		return nil, fmt.Errorf("sandbox: the interpreter %q must be an absolute path", s.python)
	}
	s.env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/work", "TMPDIR=/work", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"}
	for _, kv := range o.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("sandbox: environment entry %q is not KEY=value", kv)
		}
		s.env = append(s.env, kv)
	}
	if s.unsafe {
		return s, nil
	}
	s.ro = o.ReadOnly
	if s.ro == nil {
		s.ro = []string{"/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/alternatives", "/etc/ld.so.cache"}
	}
	for _, p := range s.ro {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("sandbox: read-only path %q must be absolute", p)
		}
	}
	bw := o.Bwrap
	if bw == "" {
		bw = "bwrap"
	}
	path, err := exec.LookPath(bw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v; install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "+
			"or set the unsafe no-sandbox option to run code without isolation", ErrNoBwrap, err)
	}
	s.bwrap = path
	if err := s.probe(); err != nil {
		return nil, err
	}
	return s, nil
}

// probe runs `true` in a sandbox to see that bwrap works here.
func (s *Sandbox) probe() error {
	const limit = 30 * time.Second // the run's own limit may be short; a loaded machine is slow
	p, err := s.start([]string{"/usr/bin/true"}, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoBwrap, err)
	}
	p.closeStdin()
	res, err := p.wait(context.Background(), limit)
	if err != nil {
		return fmt.Errorf("%w: %v; bwrap needs user namespaces (sysctl kernel.unprivileged_userns_clone=1; "+
			"on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0; in a container, one allowed to create them)", ErrNoBwrap, err)
	}
	if !res.OK() {
		return fmt.Errorf("%w: a test run of `true` ended: %s: %s; bwrap needs user namespaces (sysctl kernel.unprivileged_userns_clone=1; "+
			"on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0; in a container, one allowed to create them)",
			ErrNoBwrap, res.Summary(), strings.TrimSpace(res.Stderr))
	}
	return nil
}

// Limits returns the limits of every run.
func (s *Sandbox) Limits() Limits { return s.limits }

// Unsafe reports whether the sandbox runs code without isolation.
func (s *Sandbox) Unsafe() bool { return s.unsafe }

// Request is the code to run and its input.
type Request struct {
	// Code is the Python source to run as __main__.
	Code string
	// Stdin is the program's standard input.
	Stdin string
	// Timeout, when positive and below the sandbox's, shortens this run's
	// wall-clock limit.
	Timeout time.Duration
}

// Run runs req.Code with the Python interpreter in a fresh sandbox and
// returns what it did. The code failing, timing out or hitting a limit is a
// Result, not an error; an error means the sandbox itself failed (or ctx
// ended).
func (s *Sandbox) Run(ctx context.Context, req Request) (Result, error) {
	p, err := s.startPython(false)
	if err != nil {
		return Result{}, err
	}
	return p.run(ctx, req, s.limits.Timeout)
}

// Exec runs a command (an interpreter the operator names, with its
// arguments) in a fresh sandbox with stdin as its input. files are written
// into the work directory first (name → content; plain names only). The
// command's path must be absolute and under a ReadOnly path; the sandbox's
// Python starts it, having closed the descriptors it must not inherit.
func (s *Sandbox) Exec(ctx context.Context, argv []string, files map[string]string, stdin string) (Result, error) {
	if len(argv) == 0 {
		return Result{}, errors.New("sandbox: Exec: no command")
	}
	for name := range files {
		if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
			return Result{}, fmt.Errorf("sandbox: Exec: file name %q must be a plain name", name)
		}
	}
	p, err := s.start(append([]string{s.python, "-I", "-S", "-c", execTrampoline}, argv...), files)
	if err != nil {
		return Result{}, err
	}
	return p.run(ctx, Request{Stdin: stdin}, s.limits.Timeout)
}

// startPython starts the Python loader, waiting for code on stdin; warm
// makes it import the common modules first (for a pool, where that time
// is spent ahead).
func (s *Sandbox) startPython(warm bool) (*proc, error) {
	argv := []string{s.python, "-I", "-B", "-c", loader}
	if warm {
		argv = append(argv, "warm")
	}
	p, _, err := s.startWith(argv, nil, false, true)
	if err != nil {
		return nil, err
	}
	p.framed = true
	return p, nil
}

var uidSeq atomic.Uint32

// uids returns the user id to run each sandbox as: as root, one of a range
// of otherwise unused ids, so that RLIMIT_NPROC counts each run's own
// processes; else nil (the caller's id).
func uids() func() *syscall.Credential {
	if os.Geteuid() != 0 {
		return func() *syscall.Credential { return nil }
	}
	const base, span = 1 << 30, 1 << 16
	return func() *syscall.Credential {
		id := base + uidSeq.Add(1)%span
		return &syscall.Credential{Uid: id, Gid: id}
	}
}

// args returns bwrap's arguments for running argv.
func (s *Sandbox) args(argv []string, files []string) []string {
	a := []string{
		"--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
		"--hostname", "sandbox", "--clearenv",
	}
	a = s.roBinds(a)
	a = append(a, "--proc", "/proc", "--dev", "/dev",
		"--size", strconv.FormatInt(s.limits.WorkDir, 10), "--tmpfs", "/work", "--chdir", "/work")
	for i, name := range files {
		a = append(a, "--file", strconv.Itoa(3+i), "/work/"+name)
	}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		a = append(a, "--setenv", k, v)
	}
	a = append(a, "--")
	return append(a, s.rlimits(argv)...)
}

// rlimits wraps argv in prlimit with the sandbox's limits.
func (s *Sandbox) rlimits(argv []string) []string {
	l := s.limits
	cpu := int64((l.CPUTime + time.Second - 1) / time.Second)
	a := []string{"/usr/bin/prlimit",
		"--cpu=" + strconv.FormatInt(cpu, 10) + ":" + strconv.FormatInt(cpu+1, 10), // SIGXCPU, then SIGKILL a second later
		"--as=" + strconv.FormatInt(l.Memory, 10),
		"--nproc=" + strconv.Itoa(l.Processes),
		"--fsize=" + strconv.FormatInt(l.FileSize, 10),
		"--nofile=" + strconv.Itoa(l.OpenFiles),
		"--core=0", "--"}
	return append(a, argv...)
}

// start starts argv in a sandbox (or, unsafe, as a plain child) with its
// stdin a pipe held open, and files written into the work directory.
func (s *Sandbox) start(argv []string, files map[string]string) (*proc, error) {
	p, _, err := s.startWith(argv, files, false, false)
	return p, err
}

// startStream is start with stdout a pipe returned to the caller.
func (s *Sandbox) startStream(argv []string) (*proc, io.ReadCloser, error) {
	return s.startWith(argv, nil, true, false)
}

// startWith starts argv. stream makes stdout a pipe returned to the
// caller; done passes the write end of a pipe as the first descriptor after
// the files (3 for a Python loader), on which the loader signals (see
// readSignals).
func (s *Sandbox) startWith(argv []string, files map[string]string, stream, done bool) (p *proc, stdout io.ReadCloser, err error) {
	var names []string
	var extra []*os.File
	defer func() {
		for _, f := range extra {
			f.Close()
		}
	}()
	for name, content := range files {
		f, err := contentFile(content)
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: writing %s: %w", name, err)
		}
		names = append(names, name)
		extra = append(extra, f)
	}
	var cmd *exec.Cmd
	if s.unsafe {
		dir, err := os.MkdirTemp("", "retrain-sandbox-unsafe-*")
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		for i, name := range names {
			b, _ := io.ReadAll(extra[i])
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				os.RemoveAll(dir)
				return nil, nil, fmt.Errorf("sandbox: %w", err)
			}
		}
		cmd = exec.Command("/usr/bin/prlimit", s.rlimits(argv)[1:]...)
		cmd.Dir = dir
		env := append([]string{}, s.env...)
		for i, kv := range env {
			if k, _, _ := strings.Cut(kv, "="); k == "HOME" || k == "TMPDIR" {
				env[i] = k + "=" + dir
			}
		}
		cmd.Env = env
		defer func() {
			if p != nil {
				p.cleanup = func() { os.RemoveAll(dir) }
			} else {
				os.RemoveAll(dir)
			}
		}()
	} else {
		cmd = exec.Command(s.bwrap, s.args(argv, names)...)
		cmd.Args[0] = ProcessName()
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		cmd.ExtraFiles = extra
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if !s.unsafe {
		cmd.SysProcAttr.Credential = s.runAs()
	}
	p = &proc{cmd: cmd, cpu: s.limits.CPUTime}
	p.stdout = &capped{max: s.limits.Output, full: p.overflow}
	p.stderr = &capped{max: s.limits.Output, full: p.overflow}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if stream {
		cmd.Stdout = nil
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	p.stdin = stdin
	var doneR, doneW *os.File
	if done {
		if doneR, doneW, err = os.Pipe(); err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, doneW)
	}
	err = cmd.Start()
	if doneW != nil {
		doneW.Close()
	}
	if err != nil {
		if doneR != nil {
			doneR.Close()
		}
		return nil, nil, fmt.Errorf("sandbox: starting %s: %w", cmd.Path, err)
	}
	if doneR != nil {
		p.loaded, p.done, p.gone, p.doneR = make(chan struct{}), make(chan struct{}), make(chan struct{}), doneR
		go p.readSignals()
	}
	return p, stdout, nil
}

// readSignals reads what the loader says on its signal pipe: "r" when the
// interpreter has loaded and waits for code, "d" when the code has
// finished. It closes gone when the pipe ends (every process that held it
// has exited, or the pipe was closed).
func (p *proc) readSignals() {
	defer close(p.gone)
	var loaded, done bool
	var b [16]byte
	for {
		n, err := p.doneR.Read(b[:])
		for _, c := range b[:n] {
			switch {
			case c == 'r' && !loaded:
				loaded = true
				close(p.loaded)
			case c == 'd' && !done:
				done = true
				close(p.done)
			}
		}
		if err != nil {
			return
		}
	}
}

// ProcessName is the name (argv[0]) the sandboxes of this process have in
// the host's process list, "retrain-sandbox[PID]" where PID is this
// process's id: it says whose a sandbox is.
func ProcessName() string { return fmt.Sprintf("retrain-sandbox[%d]", os.Getpid()) }

// contentFile returns an unlinked temporary file holding content, at offset 0.
func contentFile(content string) (*os.File, error) {
	f, err := os.CreateTemp("", "retrain-sandbox-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// proc is one started sandbox.
type proc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr *capped
	framed         bool          // a Python loader waiting for framed code
	loaded         chan struct{} // closed when the loader waits for code
	done           chan struct{} // closed when the loader says the code finished
	gone           chan struct{} // closed when the signal pipe ends
	doneR          *os.File
	cpu            time.Duration
	cleanup        func()

	killOnce sync.Once
	over     atomic.Bool
}

// overflow is called when an output stream passes its limit.
func (p *proc) overflow() {
	p.over.Store(true)
	p.kill()
}

// kill kills the sandbox's whole process group (bwrap, and through its
// PID namespace everything inside).
func (p *proc) kill() {
	p.killOnce.Do(func() {
		if p.cmd.Process != nil {
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			p.cmd.Process.Kill()
		}
	})
}

func (p *proc) closeStdin() { p.stdin.Close() }

// run hands req to the started sandbox and waits for the result.
func (p *proc) run(ctx context.Context, req Request, limit time.Duration) (Result, error) {
	if req.Timeout > 0 && req.Timeout < limit {
		limit = req.Timeout
	}
	input := req.Stdin
	if p.framed {
		input = strconv.Itoa(len(req.Code)) + "\n" + req.Code + req.Stdin
	}
	start := time.Now()
	go func() {
		io.WriteString(p.stdin, input)
		p.stdin.Close()
	}()
	res, err := p.waitFrom(ctx, limit, start)
	return res, err
}

func (p *proc) wait(ctx context.Context, limit time.Duration) (Result, error) {
	return p.waitFrom(ctx, limit, time.Now())
}

// waitFrom waits for the sandbox to end, killing it when limit has passed
// since start or ctx ends.
func (p *proc) waitFrom(ctx context.Context, limit time.Duration, start time.Time) (Result, error) {
	if p.cleanup != nil {
		defer p.cleanup()
	}
	var timedOut atomic.Bool
	expire := func() { timedOut.Store(true); p.kill() }
	var graceMu sync.Mutex
	var grace *time.Timer
	timer := time.AfterFunc(limit, func() {
		select {
		case <-p.done:
			// The code finished in time; only its sandbox is slow to end
			// (a loaded machine): give it a while before calling it a
			// timeout. The loader's word only buys time, never a verdict.
			graceMu.Lock()
			grace = time.AfterFunc(TeardownGrace, expire)
			graceMu.Unlock()
		default:
			expire()
		}
	})
	stop := context.AfterFunc(ctx, p.kill)
	err := p.cmd.Wait()
	timer.Stop()
	graceMu.Lock()
	if grace != nil {
		grace.Stop()
	}
	graceMu.Unlock()
	stop()
	p.kill() // whatever is left of the group
	if p.doneR != nil {
		p.doneR.Close() // ends the goroutine reading it
	}
	res := Result{
		Duration: time.Since(start),
		Stdout:   p.stdout.String(),
		Stderr:   p.stderr.String(),
	}
	res.StdoutTruncated, res.StderrTruncated = p.stdout.truncated, p.stderr.truncated
	if ctx.Err() != nil && !timedOut.Load() {
		return res, fmt.Errorf("sandbox: %w", ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
	case errors.Is(err, exec.ErrWaitDelay):
	default:
		return res, fmt.Errorf("sandbox: waiting for the run: %w", err)
	}
	ps := p.cmd.ProcessState
	res.ExitCode = ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal().String()
		res.ExitCode = -1
	} else if ok && ws.Exited() && ws.ExitStatus() > 128 && ws.ExitStatus() < 128+65 {
		// bwrap reports a child killed by signal N as 128+N.
		res.Signal = syscall.Signal(ws.ExitStatus() - 128).String()
	}
	switch {
	case timedOut.Load():
		res.TimedOut = true
		res.Limit = LimitTimeout
	case p.over.Load():
		res.Limit = LimitOutput
	default:
		res.Limit = limitFrom(res, p.cpu)
	}
	return res, nil
}

// limitFrom names the limit a finished run ran into, from its exit and its
// stderr.
func limitFrom(r Result, cpu time.Duration) Limit {
	code := r.ExitCode
	sig := func(s syscall.Signal) bool { return code == 128+int(s) || r.Signal == s.String() }
	switch {
	case sig(syscall.SIGXCPU), sig(syscall.SIGKILL) && r.Duration >= cpu:
		return LimitCPU
	case sig(syscall.SIGXFSZ), strings.Contains(r.Stderr, "File too large"):
		return LimitFileSize
	case strings.Contains(r.Stderr, "MemoryError"), strings.Contains(r.Stderr, "Cannot allocate memory"):
		return LimitMemory
	case strings.Contains(r.Stderr, "Resource temporarily unavailable"):
		return LimitProcesses
	case strings.Contains(r.Stderr, "Too many open files"):
		return LimitOpenFiles
	case strings.Contains(r.Stderr, "No space left on device"):
		return LimitWorkDir
	}
	return ""
}

// capped keeps the first max bytes written to it, and calls full once when
// more arrive.
type capped struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	max       int
	truncated bool
	full      func()
}

func (c *capped) Write(b []byte) (int, error) {
	c.mu.Lock()
	room := c.max - c.buf.Len()
	over := len(b) > room
	if over {
		c.buf.Write(b[:max(room, 0)])
	} else {
		c.buf.Write(b)
	}
	first := over && !c.truncated
	if over {
		c.truncated = true
	}
	c.mu.Unlock()
	if first && c.full != nil {
		c.full()
	}
	return len(b), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.buf.String()
	if c.truncated {
		s += fmt.Sprintf(TruncatedMarker, c.max)
	}
	return s
}
