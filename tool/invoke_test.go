package tool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/tool"
)

func TestInvoke(t *testing.T) {
	ctx := context.Background()
	var logs strings.Builder
	quiet := &tool.CallOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	tests := []struct {
		name       string
		tool       tool.Tool
		args       string
		opts       *tool.CallOptions
		wantOK     bool
		wantOutput string
		wantError  string
	}{
		{"success", echo("echo"), `{"a":1}`, nil, true, `{"a":1}`, ""},
		{"empty args become {}", echo("echo"), ``, nil, true, `{}`, ""},
		{"null args become {}", echo("echo"), ` null `, nil, true, `{}`, ""},
		{"tool error", rawTool{"t", func(context.Context, json.RawMessage) (tool.Result, error) {
			return tool.Result{}, &tool.Error{Message: "no results; try a shorter query"}
		}}, `{}`, nil, false, "", `tool "t": no results; try a shorter query`},
		{"panic", rawTool{"p", func(context.Context, json.RawMessage) (tool.Result, error) {
			var m map[string]int
			m["x"] = 1 // panics: assignment to entry in nil map
			return tool.Result{}, nil
		}}, `{}`, quiet, false, "", `tool "p": the tool failed unexpectedly (panic: assignment to entry in nil map)`},
		{"panic in a Func tool", tool.MustFunc("pf", "", func(context.Context, struct{}) (string, error) {
			panic(fmt.Sprintf("bad %d", 7))
		}, nil), `{}`, quiet, false, "", `tool "pf": the tool failed unexpectedly (panic: bad 7)`},
		{"timeout", rawTool{"slow", func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
			<-ctx.Done()
			return tool.Result{}, ctx.Err()
		}}, `{}`, &tool.CallOptions{Timeout: 20 * time.Millisecond}, false, "", `tool "slow" timed out after 20ms`},
		{"structured", tool.MustFunc("s", "", func(context.Context, struct{}) (map[string]int, error) {
			return map[string]int{"n": 1}, nil
		}, nil), `{}`, nil, true, `{"n":1}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tool.Invoke(ctx, tt.tool, json.RawMessage(tt.args), tt.opts)
			if err != nil {
				t.Fatalf("Invoke: Go error %v; want a tool result", err)
			}
			if res.Name != tt.tool.Spec().Name || res.Success != tt.wantOK || res.Output != tt.wantOutput || res.Error != tt.wantError {
				t.Errorf("Invoke = %+v\nwant success %v, output %q, error %q", res, tt.wantOK, tt.wantOutput, tt.wantError)
			}
		})
	}
	if !strings.Contains(logs.String(), "tool panicked") || !strings.Contains(logs.String(), "invoke_test.go") {
		t.Errorf("panics were not logged with their stack:\n%s", logs.String())
	}
}

// A tool that ignores its context is abandoned when the timeout expires.
func TestInvokeTimeoutIgnoringTool(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	stuck := rawTool{"stuck", func(context.Context, json.RawMessage) (tool.Result, error) {
		defer close(finished)
		<-release
		return tool.Result{Output: "late"}, nil
	}}
	res, err := tool.Invoke(context.Background(), stuck, nil, &tool.CallOptions{Timeout: 10 * time.Millisecond})
	close(release)
	<-finished
	if err != nil || res.Success || res.Error != `tool "stuck" timed out after 10ms` {
		t.Errorf("Invoke = %+v, %v; want a timeout tool error", res, err)
	}
}

func TestInvokeCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	waiting := rawTool{"wait", func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
		cancel()
		<-ctx.Done()
		return tool.Result{}, ctx.Err()
	}}
	res, err := tool.Invoke(ctx, waiting, nil, nil)
	if !errors.Is(err, context.Canceled) || res.Success {
		t.Errorf("Invoke with the caller's ctx cancelled = %+v, %v; want a Go error wrapping context.Canceled", res, err)
	}

	// Already done before the call: the tool is not called.
	called := false
	res, err = tool.Invoke(ctx, rawTool{"x", func(context.Context, json.RawMessage) (tool.Result, error) {
		called = true
		return tool.Result{}, nil
	}}, nil, nil)
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("Invoke with a done ctx = %+v, %v, called %v; want a Go error and no call", res, err, called)
	}

	// The caller's deadline is the caller's business: a Go error too.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	_, err = tool.Invoke(dctx, rawTool{"slow", func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
		<-ctx.Done()
		return tool.Result{}, ctx.Err()
	}}, nil, &tool.CallOptions{Timeout: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Invoke past the caller's deadline = %v; want a Go error wrapping DeadlineExceeded", err)
	}
}

func TestInvokeNoTimeout(t *testing.T) {
	res, err := tool.Invoke(context.Background(), rawTool{"t", func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
		if _, ok := ctx.Deadline(); ok {
			return tool.Result{}, errors.New("has a deadline")
		}
		return tool.Result{Output: "ok"}, nil
	}}, nil, &tool.CallOptions{Timeout: -1})
	if err != nil || res.Output != "ok" {
		t.Errorf("Invoke with a negative Timeout = %+v, %v; want no deadline", res, err)
	}
	res, _ = tool.Invoke(context.Background(), rawTool{"t", func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
		d, ok := ctx.Deadline()
		if !ok || time.Until(d) > tool.DefaultTimeout {
			return tool.Result{}, errors.New("no default deadline")
		}
		return tool.Result{Output: "ok"}, nil
	}}, nil, nil)
	if res.Output != "ok" {
		t.Errorf("Invoke with nil options = %+v; want the default deadline", res)
	}
}

func TestInvokeNilTool(t *testing.T) {
	if _, err := tool.Invoke(context.Background(), nil, nil, nil); err == nil {
		t.Error("Invoke(nil tool) succeeded")
	}
}

// An error that is not a *tool.Error is an infrastructure failure: the
// result says what happened, and the Go error lets the episode fail.
func TestInvokeInfrastructureError(t *testing.T) {
	res, err := tool.Invoke(context.Background(), rawTool{"t", func(context.Context, json.RawMessage) (tool.Result, error) {
		return tool.Result{}, io.ErrUnexpectedEOF
	}}, nil, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Invoke error = %v; want it to wrap io.ErrUnexpectedEOF", err)
	}
	if res.Success || res.Error != `tool "t" failed: unexpected EOF` {
		t.Errorf("result = %+v; want a failed result naming the error", res)
	}
}
