package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

// runCommand runs c in sb with a minute's bound, failing t on an error.
func runCommand(t *testing.T, sb *sandbox.Sandbox, c sandbox.Command) (sandbox.Result, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	res, err := sb.RunCommand(ctx, c)
	if err != nil {
		t.Fatalf("RunCommand: %v", err)
	}
	return res, out.String(), errb.String()
}

// openDir returns a new directory that every user may enter (mode 0755
// under /tmp), removed when the test ends: as root each sandbox has a user
// id of its own, which must reach the paths it is given.
func openDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sbx-*")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// lineServer serves a unix socket on which each line received is
// answered at once with "echo: " and the line, until the test ends. It
// returns the socket's path.
func lineServer(t testing.TB) string {
	t.Helper()
	dir := openDir(t) // short: a socket path has 108 bytes at most
	path := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o666) // as root the sandbox runs as another user
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte("echo: " + line)); err != nil {
						return
					}
				}
			})
		}
	})
	return path
}

// Through a Forward the program reaches the host's unix socket at
// 127.0.0.1:PORT, each line answered before the next is sent (so nothing
// waits for more data on the way), and a listener on the host's loopback
// stays out of reach.
func TestCommandForward(t *testing.T) {
	sb := newSandbox(t, nil)
	sock := lineServer(t)
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := host.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	hostPort := host.Addr().(*net.TCPAddr).Port
	code := fmt.Sprintf(`
import socket, sys
s = socket.create_connection(("127.0.0.1", 7000), timeout=10)
f = s.makefile("rwb")
for i in range(3):
    f.write(b"ping %%d\n" %% i); f.flush()
    sys.stdout.write(f.readline().decode())
s.close()
try:
    socket.create_connection(("127.0.0.1", %d), timeout=5)
    print("host loopback reached")
except OSError as e:
    print("host loopback refused")
try:
    socket.create_connection(("10.0.0.1", 80), timeout=2)
    print("network reached")
except OSError as e:
    print("network refused")
`, hostPort)
	res, out, errb := runCommand(t, sb, sandbox.Command{
		Argv:    []string{"/usr/bin/python3", "-c", code},
		Forward: &sandbox.Forward{Port: 7000, Socket: sock},
	})
	if !res.OK() {
		t.Fatalf("%s: %s", res.Summary(), errb)
	}
	want := "echo: ping 0\necho: ping 1\necho: ping 2\nhost loopback refused\nnetwork refused\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	select {
	case <-accepted:
		t.Error("the host's loopback listener got a connection from the sandbox")
	default:
	}
}

// A work directory is the program's, read-write, at its host path; the
// read-only paths are visible and not writable; the rest of the host is
// not there.
func TestCommandWorkAndReadOnly(t *testing.T) {
	sb := newSandbox(t, nil)
	work, ro, secretDir := openDir(t), openDir(t), t.TempDir()
	os.WriteFile(filepath.Join(work, "in.txt"), []byte("input"), 0o644)
	os.WriteFile(filepath.Join(ro, "lib.txt"), []byte("library"), 0o644)
	secret := filepath.Join(secretDir, "secret")
	os.WriteFile(secret, []byte("s3cret"), 0o644)
	script := fmt.Sprintf(`
cat in.txt; echo
cat %[1]s/lib.txt; echo
echo out > out.txt && echo wrote work
echo x > %[1]s/x 2>/dev/null && echo wrote ro || echo ro refused
cat %[2]s 2>/dev/null && echo read secret || echo secret hidden
echo x > %[3]s/x 2>/dev/null && echo wrote secret dir || echo secret dir refused
echo "$HOME $TMPDIR $(pwd) $LEAK"
`, ro, secret, secretDir)
	t.Setenv("LEAK", "leaked")
	res, out, errb := runCommand(t, sb, sandbox.Command{Argv: []string{"sh", "-c", script}, Work: work, ReadOnly: []string{ro}})
	if !res.OK() {
		t.Fatalf("%s: %s", res.Summary(), errb)
	}
	want := fmt.Sprintf("input\nlibrary\nwrote work\nro refused\nsecret hidden\nsecret dir refused\n%[1]s %[1]s %[1]s \n", work)
	if out != want {
		t.Errorf("output\n%s\nwant\n%s", out, want)
	}
	if b, err := os.ReadFile(filepath.Join(work, "out.txt")); err != nil || string(b) != "out\n" {
		t.Errorf("out.txt on the host: %q, %v", b, err)
	}
	for _, p := range []string{filepath.Join(ro, "x"), filepath.Join(secretDir, "x")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s appeared on the host", p)
		}
	}
}

// Stdin reaches the program, its exit status comes back, a missing program
// says so with status 127, and the malformed commands are errors.
func TestCommandExitAndErrors(t *testing.T) {
	sb := newSandbox(t, nil)
	res, out, _ := runCommand(t, sb, sandbox.Command{Argv: []string{"sh", "-c", "cat; exit 3"}, Stdin: strings.NewReader("from stdin")})
	if res.ExitCode != 3 || out != "from stdin" {
		t.Errorf("exit %d output %q", res.ExitCode, out)
	}
	res, _, errb := runCommand(t, sb, sandbox.Command{Argv: []string{"/no/such/agent"}})
	if res.ExitCode != 127 || !strings.Contains(errb, "cannot run /no/such/agent") {
		t.Errorf("missing program: exit %d stderr %q", res.ExitCode, errb)
	}
	for _, c := range []sandbox.Command{
		{},
		{Argv: []string{"true"}, Env: []string{"NOEQUALS"}},
		{Argv: []string{"true"}, Work: "relative"},
		{Argv: []string{"true"}, ReadOnly: []string{"/no/such/path"}},
		{Argv: []string{"true"}, Forward: &sandbox.Forward{Port: 0, Socket: "/x"}},
		{Argv: []string{"true"}, Forward: &sandbox.Forward{Port: 80, Socket: t.TempDir()}},
	} {
		if _, err := sb.RunCommand(t.Context(), c); err == nil {
			t.Errorf("%+v was accepted", c)
		}
	}
}

// Past the timeout the whole tree is killed, the forwarder included
// (newSandbox checks that no process is left).
func TestCommandTimeoutKillsTree(t *testing.T) {
	sb := newSandbox(t, &sandbox.Options{Limits: sandbox.Limits{Timeout: 500 * time.Millisecond}})
	res, _, _ := runCommand(t, sb, sandbox.Command{
		Argv:    []string{"sh", "-c", "sleep 300 & sleep 300 & wait"},
		Forward: &sandbox.Forward{Port: 7000, Socket: lineServer(t)},
	})
	if !res.TimedOut || res.Limit != sandbox.LimitTimeout {
		t.Errorf("result %+v, want a timeout", res)
	}
}

// Unsafe, the command runs as a plain child in its work directory; a
// Forward is refused.
func TestCommandUnsafe(t *testing.T) {
	sb := newSandbox(t, &sandbox.Options{UnsafeNoSandbox: true})
	work := openDir(t)
	res, out, _ := runCommand(t, sb, sandbox.Command{Argv: []string{"sh", "-c", "pwd; echo $HOME; echo $X"}, Work: work, Env: []string{"X=1"}})
	if !res.OK() || out != work+"\n"+work+"\n1\n" {
		t.Errorf("result %+v output %q", res, out)
	}
	_, err := sb.RunCommand(t.Context(), sandbox.Command{Argv: []string{"true"}, Forward: &sandbox.Forward{Port: 7000, Socket: lineServer(t)}})
	if err == nil || !strings.Contains(err.Error(), "unsafe") {
		t.Errorf("a Forward without the sandbox: %v", err)
	}
}

// BenchmarkForward measures what the forwarder of a Forward adds to a
// round trip: inside the sandbox a client sends a line and waits for the
// answer of a host server on a unix socket, 2000 times through
// 127.0.0.1:PORT (the forwarder) and 2000 times on the socket directly
// (ForwardSocket), and reports each one's p50 and p99 in µs; the
// difference is the forwarder's. Each iteration is one sandbox.
//
//	go test -run '^$' -bench Forward -benchtime 3x ./sandbox/
func BenchmarkForward(b *testing.B) {
	sb, err := sandbox.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	sock := lineServer(b)
	const code = `
import socket, time
def measure(s):
    f = s.makefile("rwb")
    lat = []
    for i in range(2000):
        t0 = time.perf_counter_ns()
        f.write(b"ping\n"); f.flush()
        f.readline()
        lat.append(time.perf_counter_ns() - t0)
    lat.sort()
    return lat[len(lat)//2] / 1000, lat[len(lat)*99//100] / 1000
tcp = socket.create_connection(("127.0.0.1", 7000))
tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
u = socket.socket(socket.AF_UNIX); u.connect("` + sandbox.ForwardSocket + `")
print(*measure(tcp), *measure(u))
`
	var fields []string
	for b.Loop() {
		var out strings.Builder
		res, err := sb.RunCommand(context.Background(), sandbox.Command{Argv: []string{"/usr/bin/python3", "-c", code}, Stdout: &out,
			Forward: &sandbox.Forward{Port: 7000, Socket: sock}})
		if err != nil || !res.OK() {
			b.Fatalf("%v %s", err, res.Summary())
		}
		fields = strings.Fields(out.String())
	}
	if len(fields) != 4 {
		b.Fatalf("output %q", fields)
	}
	for i, name := range []string{"forwarded-p50-µs", "forwarded-p99-µs", "direct-p50-µs", "direct-p99-µs"} {
		v, _ := strconv.ParseFloat(fields[i], 64)
		b.ReportMetric(v, name)
	}
}
