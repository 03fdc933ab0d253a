package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ForwardSocket is where the host's socket of [Forward] appears inside the
// sandbox.
const ForwardSocket = "/run/retrain/forward.sock"

// Command is a program run by [Sandbox.RunCommand]: an agent, a verifier,
// any operator-configured program, in a fresh sandbox.
//
// As root each run has a host user id of its own, and bwrap runs as that
// user: every host path a Command names (Work, ReadOnly, Forward.Socket)
// must be reachable by other users (its parent directories searchable, a
// read-only file readable).
type Command struct {
	// Argv is the program and its arguments. A program without a slash is
	// looked up in the sandbox's PATH (/usr/local/bin:/usr/bin:/bin); a
	// path must be visible in the sandbox (under a read-only path).
	Argv []string
	// Env is added to the sandbox's environment ("KEY=value" entries).
	Env []string
	// Stdin is the program's standard input; nil means empty.
	Stdin io.Reader
	// Stdout and Stderr receive the program's output as it comes; nil
	// discards it. The writers bound what they keep: Limits.Output does
	// not apply, and the Result's Stdout and Stderr are empty.
	Stdout, Stderr io.Writer
	// Work, when set, is a host directory mounted read-write at the same
	// path in place of the private tmpfs /work, and made the working
	// directory, HOME and TMPDIR: the caller sees what the program left
	// there once it has ended. The caller creates and removes it. As
	// root, where each run has a user id of its own, it is handed over to
	// the run's user (recursively) first. Limits.WorkDir does not apply:
	// what the program writes there is bounded by Limits.FileSize per file
	// only.
	Work string
	// ReadOnly are host paths made visible read-only at the same place, in
	// addition to the sandbox's [Options.ReadOnly]. Each must exist.
	ReadOnly []string
	// Forward, when set, is the sandbox's one way out: see [Forward].
	Forward *Forward
}

// Forward connects the sandbox's own loopback to one host unix socket,
// and to nothing else: inside the sandbox a small forwarder (the system
// Python, started before the program) listens on 127.0.0.1:Port and
// relays each connection, byte for byte as it arrives, to Socket. The
// network namespace stays the sandbox's own, so the host's loopback
// services, other machines and the internet remain out of reach. The
// socket also appears inside at [ForwardSocket]; whatever serves it sees
// every connection of the sandbox, so it must check what it is sent (a
// token, say).
type Forward struct {
	// Port is the port inside the sandbox, 1 to 65535.
	Port int
	// Socket is the host's unix socket, an absolute path. As root, it
	// must be writable by others (the run's user id is not the caller's);
	// keep it in a directory only the caller can enter.
	Socket string
}

// RunCommand runs c in a fresh sandbox until it exits, its wall-clock
// limit (Limits.Timeout) passes or ctx ends; the whole process tree is
// killed then. The program failing, timing out or hitting a limit is a
// Result; an error means the sandbox itself failed (or ctx ended), or c is
// malformed. With [Options.UnsafeNoSandbox] the program runs as a plain
// child in Work (or a temporary directory) with the resource limits only,
// and a Forward is refused.
func (s *Sandbox) RunCommand(ctx context.Context, c Command) (Result, error) {
	if err := s.checkCommand(c); err != nil {
		return Result{}, err
	}
	var cmd *exec.Cmd
	cred := s.runAs()
	if s.unsafe {
		cred = nil
		dir := c.Work
		if dir == "" {
			tmp, err := os.MkdirTemp("", "retrain-sandbox-unsafe-*")
			if err != nil {
				return Result{}, fmt.Errorf("sandbox: %w", err)
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		cmd = exec.Command("/usr/bin/prlimit", s.rlimits(c.Argv)[1:]...)
		cmd.Dir = dir
		cmd.Env = s.commandEnv(c, dir)
	} else {
		if c.Work != "" && cred != nil {
			if err := chownTree(c.Work, int(cred.Uid), int(cred.Gid)); err != nil {
				return Result{}, fmt.Errorf("sandbox: handing the work directory to the run's user: %w", err)
			}
		}
		port := "0"
		if c.Forward != nil {
			port = strconv.Itoa(c.Forward.Port)
		}
		argv := append([]string{s.python, "-I", "-S", "-c", commandTrampoline, port, ForwardSocket}, c.Argv...)
		cmd = exec.Command(s.bwrap, s.commandArgs(argv, c)...)
		cmd.Args[0] = ProcessName()
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	p := &proc{cmd: cmd, cpu: s.limits.CPUTime, stdout: &capped{}, stderr: &capped{}}
	cmd.Stdin = c.Stdin
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	cmd.WaitDelay = time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("sandbox: starting %s: %w", cmd.Path, err)
	}
	return p.waitFrom(ctx, s.limits.Timeout, start)
}

func (s *Sandbox) checkCommand(c Command) error {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return errors.New("sandbox: RunCommand: no program")
	}
	for _, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("sandbox: RunCommand: environment entry %q is not KEY=value", kv)
		}
	}
	if c.Work != "" {
		if !filepath.IsAbs(c.Work) {
			return fmt.Errorf("sandbox: RunCommand: the work directory %q must be an absolute path", c.Work)
		}
		if fi, err := os.Stat(c.Work); err != nil || !fi.IsDir() {
			return fmt.Errorf("sandbox: RunCommand: the work directory %q is not a directory", c.Work)
		}
	}
	for _, p := range c.ReadOnly {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("sandbox: RunCommand: read-only path %q must be absolute", p)
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("sandbox: RunCommand: read-only path: %w", err)
		}
	}
	if f := c.Forward; f != nil {
		switch {
		case s.unsafe:
			return errors.New("sandbox: RunCommand: a Forward needs the sandbox's own network namespace, which the unsafe no-sandbox mode does not have")
		case f.Port < 1 || f.Port > 65535:
			return fmt.Errorf("sandbox: RunCommand: forward port %d is not 1 to 65535", f.Port)
		case !filepath.IsAbs(f.Socket):
			return fmt.Errorf("sandbox: RunCommand: forward socket %q must be an absolute path", f.Socket)
		}
		if fi, err := os.Stat(f.Socket); err != nil || fi.Mode()&fs.ModeSocket == 0 {
			return fmt.Errorf("sandbox: RunCommand: forward socket %q is not a unix socket", f.Socket)
		}
	}
	return nil
}

// commandEnv is the environment of a command run in dir (HOME and TMPDIR).
func (s *Sandbox) commandEnv(c Command, dir string) []string {
	env := append([]string{}, s.env...)
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == "HOME" || k == "TMPDIR" {
			env[i] = k + "=" + dir
		}
	}
	return append(env, c.Env...)
}

// commandArgs returns bwrap's arguments for running argv as c says.
func (s *Sandbox) commandArgs(argv []string, c Command) []string {
	a := []string{
		"--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
		"--hostname", "sandbox", "--clearenv",
	}
	a = s.roBinds(a)
	for _, p := range c.ReadOnly {
		a = append(a, "--ro-bind", p, p)
	}
	a = append(a, "--proc", "/proc", "--dev", "/dev")
	dir := "/work"
	if c.Work != "" {
		dir = c.Work
		a = append(a, "--bind", c.Work, c.Work)
	} else {
		a = append(a, "--size", strconv.FormatInt(s.limits.WorkDir, 10), "--tmpfs", "/work")
	}
	if c.Forward != nil {
		a = append(a, "--ro-bind", c.Forward.Socket, ForwardSocket)
	}
	a = append(a, "--chdir", dir)
	for _, kv := range s.commandEnv(c, dir) {
		k, v, _ := strings.Cut(kv, "=")
		a = append(a, "--setenv", k, v)
	}
	a = append(a, "--")
	return append(a, s.rlimits(argv)...)
}

// roBinds appends the binds of the sandbox's read-only paths to a.
func (s *Sandbox) roBinds(a []string) []string {
	for _, p := range s.ro {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			continue
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err == nil {
				a = append(a, "--symlink", target, p)
			}
		default:
			a = append(a, "--ro-bind", p, p)
		}
	}
	return a
}

// chownTree hands dir and everything in it to uid:gid, not following
// symbolic links.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// commandTrampoline starts a command of [Sandbox.RunCommand]: it closes
// every descriptor above 2 (as the loader does), and, given a port other
// than 0, listens on 127.0.0.1:port and starts the forwarder in a
// grandchild (so it is no child of the program's, which might wait for
// its children; the sandbox's init takes it, and kills it when the
// program ends), then executes the program. The forwarder relays each
// connection to the unix socket in two threads, one a direction, each
// writing what it read at once (TCP_NODELAY: no Nagle delay on small
// events); an end of input from one side is passed on as a half close.
const commandTrampoline = `import os, sys
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
port, path, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def _pipe(a, b):
    import socket
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def _conn(c):
    import socket, threading
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        u.connect(path)
        t = threading.Thread(target=_pipe, args=(u, c), daemon=True)
        t.start()
        _pipe(c, u)
        t.join()
    except (OSError, RuntimeError):
        pass
    c.close()
    u.close()
def _serve(ls):
    import socket, threading
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            import time
            time.sleep(0.01) # out of descriptors: wait for one to close
            continue
        try:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=_conn, args=(c,), daemon=True).start()
        except (OSError, RuntimeError):
            c.close()
if port:
    import socket
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    pid = os.fork()
    if pid == 0:
        try:
            if os.fork() == 0:
                null = os.open("/dev/null", os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                _serve(ls)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    ls.close()
try:
    os.execvp(argv[0], argv)
except OSError as e:
    print("sandbox: cannot run %s: %s" % (argv[0], e.strerror), file=sys.stderr)
    sys.stdout.flush()
    os._exit(127)
`
