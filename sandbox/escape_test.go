package sandbox_test

// The sandbox escape suite: one test per attempt, each asserting that the
// attempt fails and that the host is unchanged and still responsive.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

// escapeSandbox is the sandbox the attempts run in, with a 1 MiB output
// limit and a 10s timeout; the attempts that run until they are killed
// use quickSandbox, with a 1s timeout.
func escapeSandbox(t *testing.T) *sandbox.Sandbox {
	return newSandbox(t, &sandbox.Options{Limits: sandbox.Limits{Output: 1 << 20}})
}

func quickSandbox(t *testing.T) *sandbox.Sandbox {
	return newSandbox(t, &sandbox.Options{Limits: sandbox.Limits{Timeout: time.Second, Output: 1 << 20}})
}

// stillResponsive runs print(1), in a sandbox with the default limits, and
// fails t unless it works promptly.
func stillResponsive(t *testing.T, _ *sandbox.Sandbox) {
	t.Helper()
	sb := newSandbox(t, nil)
	start := time.Now()
	if res := run(t, sb, "print(1)"); res.Stdout != "1\n" || !res.OK() {
		t.Errorf("after the attempt print(1) gave %+v", res)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("after the attempt print(1) took %v", d)
	}
}

func TestEscapeWriteOutsideWorkDir(t *testing.T) {
	sb := escapeSandbox(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	code := fmt.Sprintf(`
import os
for p in [%q, "/usr/marker", "/marker", "/tmp/marker", "/proc/marker", "/dev/marker", %q]:
    try:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").write("escaped")
        print("wrote", p)
    except OSError as e:
        print("refused", p, type(e).__name__)
`, marker, "/root/marker")
	res := run(t, sb, code)
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the marker file appeared on the host: %v", err)
	}
	for _, p := range []string{"/usr/marker", "/marker"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s appeared on the host", p)
		}
	}
	// Writes inside the sandbox's own (empty, tmpfs) directories are its
	// business; none of them may reach the host, checked above.
	if strings.Contains(res.Stdout, "wrote /usr/marker") {
		t.Errorf("the read-only system was writable: %s", res.Stdout)
	}
	stillResponsive(t, sb)
}

func TestEscapeReadHostFile(t *testing.T) {
	sb := escapeSandbox(t)
	dir := t.TempDir()
	secret := "host-secret-" + fmt.Sprint(time.Now().UnixNano())
	path := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(path, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	code := fmt.Sprintf(`
import os
for p in [%q, %q, "/etc/passwd", "/root/.bashrc", "/proc/1/root" + %q]:
    try:
        print(open(p).read())
    except OSError as e:
        print("refused", p, type(e).__name__)
for d in ["/", "/work", "/etc", "/home", "/root", %q]:
    try:
        print(d, os.listdir(d))
    except OSError as e:
        print("refused", d, type(e).__name__)
`, path, filepath.Join(wd, "sandbox.go"), path, dir)
	res := run(t, sb, code)
	if strings.Contains(res.Stdout, secret) || strings.Contains(res.Stdout, "package sandbox") || strings.Contains(res.Stdout, "root:x:0:0") {
		t.Fatalf("the sandbox read a host file:\n%s", res.Stdout)
	}
	if !strings.Contains(res.Stdout, "refused "+path) {
		t.Errorf("reading the host file did not fail as expected:\n%s%s", res.Stdout, res.Stderr)
	}
	stillResponsive(t, sb)
}

// TestEscapeInheritedDescriptor: a descriptor the host process holds
// without close-on-exec (inherited from its own parent, say) does not reach
// the code.
func TestEscapeInheritedDescriptor(t *testing.T) {
	sb := escapeSandbox(t)
	secret := "fd-secret-" + fmt.Sprint(time.Now().UnixNano())
	path := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(path, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	code := fmt.Sprintf(`
import os
for f in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        os.lseek(int(f), 0, 0)
        print(f, os.read(int(f), 100))
    except OSError as e:
        print(f, type(e).__name__)
try:
    print(os.read(%d, 100))
except OSError as e:
    print("refused", type(e).__name__)
`, fd)
	for _, res := range []sandbox.Result{run(t, sb, code), execPython(t, sb, code)} {
		if strings.Contains(res.Stdout, secret) || !strings.Contains(res.Stdout, "refused") {
			t.Fatalf("the code read a descriptor of the host:\n%s%s", res.Stdout, res.Stderr)
		}
	}
	stillResponsive(t, sb)
}

// execPython runs code with Sandbox.Exec.
func execPython(t *testing.T, sb *sandbox.Sandbox, code string) sandbox.Result {
	t.Helper()
	res, err := sb.Exec(context.Background(), []string{"/usr/bin/python3", "main.py"}, map[string]string{"main.py": code}, "")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestEscapeConnectLoopback(t *testing.T) {
	sb := escapeSandbox(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	code := fmt.Sprintf(`
import socket
for host in ["127.0.0.1", "localhost", "::1"]:
    try:
        s = socket.create_connection((host, %d), timeout=1)
        s.sendall(b"hello")
        print("connected", host)
    except OSError as e:
        print("refused", host, type(e).__name__)
`, port)
	res := run(t, sb, code)
	ln.(*net.TCPListener).SetDeadline(time.Now()) // the Accept ends now
	if c, ok := <-accepted; ok {
		c.Close()
		t.Fatalf("the listener saw a connection from the sandbox; its output:\n%s", res.Stdout)
	}
	if strings.Contains(res.Stdout, "connected") {
		t.Errorf("the sandbox connected:\n%s", res.Stdout)
	}
	stillResponsive(t, sb)
}

func TestEscapeReadParentEnvironment(t *testing.T) {
	sb := escapeSandbox(t)
	secret := "env-secret-" + fmt.Sprint(time.Now().UnixNano())
	t.Setenv("RETRAIN_TEST_SECRET", secret)
	code := fmt.Sprintf(`
import os
print(dict(os.environ))
for p in ["/proc/self/environ", "/proc/1/environ", "/proc/%d/environ", "/proc/%d/cmdline"]:
    try:
        print(p, open(p, "rb").read())
    except OSError as e:
        print("refused", p, type(e).__name__)
print(os.listdir("/proc"))
`, os.Getpid(), os.Getpid())
	res := run(t, sb, code)
	if strings.Contains(res.Stdout, secret) || strings.Contains(res.Stdout, "RETRAIN_TEST_SECRET") {
		t.Fatalf("the sandbox saw the host's environment:\n%s", res.Stdout)
	}
	if strings.Contains(res.Stdout, "sandbox.test") {
		t.Errorf("the sandbox saw the host's processes:\n%s", res.Stdout)
	}
	stillResponsive(t, sb)
}

func TestEscapeForkBomb(t *testing.T) {
	sb := quickSandbox(t)
	res := run(t, sb, `
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
`)
	if res.OK() || (res.Limit != sandbox.LimitTimeout && res.Limit != sandbox.LimitProcesses) {
		t.Errorf("the fork bomb ended with %+v", res)
	}
	checkNoLeftovers(t)
	stillResponsive(t, sb)
}

func TestEscapeAllocate4GB(t *testing.T) {
	sb := escapeSandbox(t)
	res := run(t, sb, "x = bytearray(4 << 30)\nprint('allocated', len(x))")
	if res.Limit != sandbox.LimitMemory || strings.Contains(res.Stdout, "allocated") {
		t.Errorf("allocating 4 GB ended with %+v", res)
	}
	stillResponsive(t, sb)
}

func TestEscapeInfiniteLoop(t *testing.T) {
	sb := quickSandbox(t)
	start := time.Now()
	res := run(t, sb, "while True:\n    pass")
	if !res.TimedOut && res.Limit != sandbox.LimitCPU {
		t.Errorf("the loop ended with %+v", res)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("a 1s timeout took %v", d)
	}
	stillResponsive(t, sb)
}

func TestEscapeHugeOutput(t *testing.T) {
	sb := escapeSandbox(t)
	res := run(t, sb, "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\nprint('done')")
	if res.Limit != sandbox.LimitOutput || !res.StdoutTruncated {
		t.Errorf("100 MB of output ended with limit %q, truncated %v", res.Limit, res.StdoutTruncated)
	}
	if n := len(res.Stdout); n > 1<<20+100 {
		t.Errorf("kept %d bytes of output, over the 1 MiB limit", n)
	}
	if strings.Contains(res.Stdout, "done") {
		t.Error("the run went on after its output limit")
	}
	stillResponsive(t, sb)
}

func TestEscapeSignalParent(t *testing.T) {
	sb := escapeSandbox(t)
	// A host process the code tries to kill by its pid.
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { victim.Process.Kill(); victim.Wait() }()
	code := fmt.Sprintf(`
import os, signal
for pid in [os.getppid(), 1, %d, %d]:
    for sig in [signal.SIGTERM, signal.SIGKILL]:
        try:
            os.kill(pid, sig)
            print("signalled", pid)
        except OSError as e:
            print("refused", pid, type(e).__name__)
try:
    os.kill(-1, signal.SIGKILL)
except OSError as e:
    print("refused -1", type(e).__name__)
print("alive")
`, victim.Process.Pid, os.Getpid())
	res := run(t, sb, code)
	_ = res // the code may well kill itself; what matters is the host
	if err := victim.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the host process was killed: %v", err)
	}
	stillResponsive(t, sb)
}

func TestEscapeSleepAfterClosingStdout(t *testing.T) {
	sb := quickSandbox(t)
	for _, code := range []string{
		"import os, time\nos.close(1)\nos.close(2)\ntime.sleep(60)",
		// A child that keeps the output open after its parent exits.
		"import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nprint('parent done')",
	} {
		start := time.Now()
		res, err := sb.Run(context.Background(), sandbox.Request{Code: code})
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("the run took %v past a 1s timeout: %+v", d, res)
		}
		checkNoLeftovers(t)
	}
	stillResponsive(t, sb)
}
