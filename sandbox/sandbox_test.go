package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

func TestRun(t *testing.T) {
	sb := newSandbox(t, nil)
	for _, tt := range []struct {
		name, code, stdin string
		exit              int
		stdout, stderr    string
	}{
		{name: "print", code: "print(1)", stdout: "1\n"},
		{name: "stdin", code: "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))", stdin: "1 2 3\n", stdout: "6\n"},
		{name: "input", code: "a = input()\nb = input()\nprint(a + b)", stdin: "x\ny\n", stdout: "xy\n"},
		{name: "exit code", code: "import sys\nsys.exit(3)", exit: 3},
		{name: "exception", code: "def f():\n    raise ValueError('bad')\nf()", exit: 1, stderr: "ValueError: bad"},
		{name: "syntax error", code: "def (:", exit: 1, stderr: "SyntaxError"},
		{name: "main", code: "if __name__ == '__main__':\n    print('main')", stdout: "main\n"},
		{name: "work dir", code: "import os\nopen('f.txt','w').write('hi')\nprint(os.getcwd(), open('/work/f.txt').read())", stdout: "/work hi\n"},
		{name: "no network", code: "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('connected')\nexcept OSError as e:\n    print('refused')", stdout: "refused\n"},
		{name: "only loopback", code: "import os\nprint(sorted(os.listdir('/sys/class/net')) if os.path.exists('/sys/class/net') else 'no sys')", stdout: "no sys\n"},
		{name: "standard library", code: "import json, re, math, collections, itertools, fractions\nprint(json.dumps({'a': math.gcd(12, 18)}))", stdout: "{\"a\": 6}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := sb.Run(context.Background(), sandbox.Request{Code: tt.code, Stdin: tt.stdin})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.exit || res.Stdout != tt.stdout && tt.stdout != "" || !strings.Contains(res.Stderr, tt.stderr) {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					res.ExitCode, res.Stdout, res.Stderr, tt.exit, tt.stdout, tt.stderr)
			}
			if tt.exit == 0 && !res.OK() {
				t.Errorf("OK() = false for %+v", res)
			}
			if strings.Contains(res.Stderr, "_run(") || strings.Contains(res.Stderr, "<string>") {
				t.Errorf("the traceback shows the loader: %q", res.Stderr)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	sb := newSandbox(t, &sandbox.Options{Limits: sandbox.Limits{
		CPUTime: time.Second, Memory: 256 << 20,
		FileSize: 1 << 20, OpenFiles: 32, Output: 1000, WorkDir: 2 << 20, Processes: 16,
	}})
	for _, tt := range []struct {
		name, code string
		limit      sandbox.Limit
	}{
		{"memory", "x = bytearray(512 << 20)", sandbox.LimitMemory},
		{"file size", "open('big', 'wb').write(b'x' * (2 << 20))", sandbox.LimitFileSize},
		{"open files", "fs = [open('/dev/null') for _ in range(100)]", sandbox.LimitOpenFiles},
		{"output", "print('x' * 5000)", sandbox.LimitOutput},
		{"stderr output", "import sys\nsys.stderr.write('y' * 5000)", sandbox.LimitOutput},
		{"work dir", "for i in range(4):\n    open('f%d' % i, 'wb').write(b'x' * (900 << 10))", sandbox.LimitWorkDir},
		{"processes", "import os, time\nfor i in range(40):\n    if os.fork() == 0:\n        time.sleep(5)\n        os._exit(0)", sandbox.LimitProcesses},
		{"timeout", "import time\ntime.sleep(30)", sandbox.LimitTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := sandbox.Request{Code: tt.code}
			if tt.limit == sandbox.LimitTimeout {
				req.Timeout = time.Second
			}
			res, err := sb.Run(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Limit != tt.limit || res.OK() {
				t.Errorf("limit = %q, want %q; result %+v", res.Limit, tt.limit, res)
			}
		})
	}
	res := run(t, sb, "print('z' * 5000)")
	if !res.StdoutTruncated || !strings.HasPrefix(res.Stdout, strings.Repeat("z", 1000)) || !strings.HasSuffix(res.Stdout, "[output truncated at 1000 bytes]\n") {
		t.Errorf("truncated stdout = %q", res.Stdout)
	}
}

func TestCPULimit(t *testing.T) {
	// The wall clock is far from the CPU limit so that a loaded machine
	// still reaches the CPU limit first.
	sb := newSandbox(t, &sandbox.Options{Limits: sandbox.Limits{Timeout: time.Minute, CPUTime: time.Second}})
	res := run(t, sb, "while True:\n    pass")
	if res.Limit != sandbox.LimitCPU || res.TimedOut {
		t.Errorf("limit = %q, want cpu; result %+v", res.Limit, res)
	}
}

func TestRequestTimeout(t *testing.T) {
	sb := newSandbox(t, nil)
	start := time.Now()
	res, err := sb.Run(context.Background(), sandbox.Request{Code: "while True: pass", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.Limit != sandbox.LimitTimeout || !strings.HasPrefix(res.Summary(), "timed out") {
		t.Errorf("result %+v, want timed out", res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 300ms timeout took %v", d)
	}
}

func TestCancel(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sb.Run(ctx, sandbox.Request{Code: "import sys\nprint('go', flush=True)\nwhile True: pass"})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestExec(t *testing.T) {
	sb := newSandbox(t, nil)
	res, err := sb.Exec(context.Background(), []string{"/bin/sh", "run.sh"},
		map[string]string{"run.sh": "read x\necho \"got $x in $(pwd)\"\ncat data.txt\n", "data.txt": "data\n"}, "hello\n")
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "got hello in /work\ndata\n" || !res.OK() {
		t.Errorf("result %+v", res)
	}
	if _, err := sb.Exec(context.Background(), []string{"/bin/true"}, map[string]string{"../x": ""}, ""); err == nil {
		t.Error("a file name with a slash was accepted")
	}
}

func TestNoBwrap(t *testing.T) {
	_, err := sandbox.New(&sandbox.Options{Bwrap: "/nonexistent/bwrap"})
	if !errors.Is(err, sandbox.ErrNoBwrap) || !strings.Contains(err.Error(), "apt-get install bubblewrap") {
		t.Errorf("err = %v, want ErrNoBwrap with an install hint", err)
	}
	_, err = sandbox.New(&sandbox.Options{Bwrap: "/bin/false"})
	if !errors.Is(err, sandbox.ErrNoBwrap) {
		t.Errorf("a bwrap that fails: err = %v, want ErrNoBwrap", err)
	}
}

func TestUnsafeNoSandbox(t *testing.T) {
	sb := newSandbox(t, &sandbox.Options{Bwrap: "/nonexistent/bwrap", UnsafeNoSandbox: true})
	if !sb.Unsafe() {
		t.Fatal("Unsafe() = false")
	}
	res := run(t, sb, "import os\nprint(os.path.exists('/etc/hostname') or os.path.exists('/proc/1'))")
	if res.Stdout != "True\n" {
		t.Errorf("unsafe mode: %+v", res)
	}
	res, err := sb.Run(context.Background(), sandbox.Request{Code: "while True: pass", Timeout: time.Second})
	if err != nil || !res.TimedOut {
		t.Errorf("unsafe mode did not time out: %+v", res)
	}
}
