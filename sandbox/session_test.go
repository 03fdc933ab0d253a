package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

func TestSession(t *testing.T) {
	sb := newSandbox(t, &sandbox.Options{Limits: sandbox.Limits{Output: 300}})
	ss, err := sb.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	ctx := context.Background()
	steps := []struct {
		code, stdout, stderr string
		exit                 int
		limit                sandbox.Limit
	}{
		{code: "x = 20\nprint('set')", stdout: "set\n"},
		{code: "x * 2 + 2", stdout: "42\n"},
		{code: "def f(n):\n    return n + x\nf(1)", stdout: "21\n"},
		{code: "1/0", exit: 1, stderr: "ZeroDivisionError"},
		{code: "f(2)", stdout: "22\n"}, // an error keeps the state
		{code: "import sys\nsys.exit(4)", exit: 4},
		{code: "print('y' * 500)", limit: sandbox.LimitOutput},
		{code: "import os\nos.write(1, b'garbage')\nprint(x)", stdout: "20\n"}, // fd 1 is not the channel
		{code: "while True: pass", limit: sandbox.LimitTimeout, exit: -1},
		{code: "print('x' in globals())", stdout: "False\n", stderr: sandbox.RestartedNote},
		{code: "import os\nos._exit(3)", exit: 3},
		{code: "print(1)", stdout: "1\n", stderr: sandbox.RestartedNote},
	}
	for i, st := range steps {
		req := sandbox.Request{Code: st.code}
		if st.limit == sandbox.LimitTimeout {
			req.Timeout = time.Second
		}
		res, err := ss.Run(ctx, req)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if res.ExitCode != st.exit || (st.stdout != "" && res.Stdout != st.stdout) || !strings.Contains(res.Stderr, st.stderr) || res.Limit != st.limit {
			t.Errorf("step %d (%q): got %+v; want exit %d, stdout %q, stderr with %q, limit %q", i, st.code, res, st.exit, st.stdout, st.stderr, st.limit)
		}
	}
	if err := ss.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Run(ctx, sandbox.Request{Code: "1"}); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}
