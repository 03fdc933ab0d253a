package python_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/python"
)

func TestRegistered(t *testing.T) {
	tl, ok := tool.Lookup(python.Name)
	if !ok {
		t.Fatal("python is not registered")
	}
	res, err := tool.Invoke(context.Background(), tl, json.RawMessage(`{"code": "print(6*7)"}`), nil)
	if err != nil || !res.Success || res.Output != "42\n" {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestTool(t *testing.T) {
	sb, err := sandbox.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	quick, err := sandbox.New(&sandbox.Options{Limits: sandbox.Limits{Timeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, args string
		ok         bool
		want       []string
	}{
		{"prints", `{"code": "print('hi')"}`, true, []string{"hi\n"}},
		{"no output", `{"code": "x = 1"}`, true, []string{"(no output)"}},
		{"warning on stderr", `{"code": "import sys\nprint('a')\nprint('w', file=sys.stderr)"}`, true, []string{"stdout:\na\n", "stderr:\nw\n", "exit 0"}},
		{"exception", `{"code": "print('before')\nraise KeyError('k')"}`, false, []string{"stdout:\nbefore\n", "KeyError: 'k'", "exit 1"}},
		{"timeout", `{"code": "while True: pass"}`, false, []string{"timed out after"}},
		{"empty", `{"code": "  "}`, false, []string{"the code is empty"}},
		{"missing", `{}`, false, []string{"code"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tl := python.New(sb)
			if tt.name == "timeout" {
				tl = python.New(quick)
			}
			res, err := tool.Invoke(context.Background(), tl, json.RawMessage(tt.args), nil)
			if err != nil {
				t.Fatal(err)
			}
			text := res.Output + res.Error
			if res.Success != tt.ok {
				t.Errorf("success = %v, want %v: %+v", res.Success, tt.ok, res)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("result lacks %q: %q", w, text)
				}
			}
		})
	}
}

func TestStateful(t *testing.T) {
	sb, err := sandbox.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := sb.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	tl := python.NewStateful(ss)
	ctx := context.Background()
	if res, err := tool.Invoke(ctx, tl, json.RawMessage(`{"code": "import math\nr = math.isqrt(1764)"}`), nil); err != nil || !res.Success {
		t.Fatalf("%+v %v", res, err)
	}
	res, err := tool.Invoke(ctx, tl, json.RawMessage(`{"code": "r"}`), nil)
	if err != nil || res.Output != "42\n" {
		t.Errorf("the variable did not survive: %+v %v", res, err)
	}
	if !strings.Contains(tl.Spec().Description, "keeps its variables") {
		t.Errorf("description %q", tl.Spec().Description)
	}
}

// failing is a runner whose sandbox cannot run.
type failing struct{}

func (failing) Run(context.Context, sandbox.Request) (sandbox.Result, error) {
	return sandbox.Result{}, fmt.Errorf("%w: not installed", sandbox.ErrNoBwrap)
}

func TestSandboxFailureIsAnError(t *testing.T) {
	_, err := tool.Invoke(context.Background(), python.New(failing{}), json.RawMessage(`{"code": "print(1)"}`), nil)
	if !errors.Is(err, sandbox.ErrNoBwrap) {
		t.Errorf("err = %v, want a Go error wrapping ErrNoBwrap", err)
	}
}
