package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/retrain-rl/retrain"
)

// DefaultTimeout bounds a tool call when [CallOptions.Timeout] is zero.
const DefaultTimeout = 30 * time.Second

// CallOptions configure one tool call. The zero value is ready to use.
type CallOptions struct {
	// Timeout bounds the call; when it expires the call fails with a tool
	// error the model sees. Zero means DefaultTimeout (30s); a negative value
	// means no limit besides the caller's context.
	Timeout time.Duration
	// Logger receives the stack trace of a tool that panicked; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Invoke calls t with args and returns what the model should see. It is
// what [Set.Call] does for one tool.
//
// Two kinds of failure are kept apart. The model's mistakes and the tool's
// failures are data: an *Error, a panic (recovered, never a crash) and the
// per-call timeout all yield a ToolResult with Success false, an Error
// message, and a nil Go error. Any other error from the tool is an
// infrastructure failure (a dead MCP server, a broken connection): the
// ToolResult still says what happened, and the error is also returned,
// wrapped, so the episode is recorded as failed rather than trained on.
// When ctx itself is done a Go error wrapping ctx.Err() is returned.
// Empty or null args are treated as {}.
//
// The tool runs in its own goroutine so that the timeout holds even for a
// tool that ignores its context; such a tool is abandoned, still running,
// when the timeout expires.
func Invoke(ctx context.Context, t Tool, args json.RawMessage, opts *CallOptions) (retrain.ToolResult, error) {
	if t == nil {
		return retrain.ToolResult{}, errors.New("tool: Invoke called with a nil Tool")
	}
	var o CallOptions
	if opts != nil {
		o = *opts
	}
	name := t.Spec().Name
	res := retrain.ToolResult{Name: name}
	if err := ctx.Err(); err != nil {
		res.Error = fmt.Sprintf("tool %q was not called: %v", name, err)
		return res, fmt.Errorf("tool %q: %w", name, err)
	}
	args = normalizeArgs(args)

	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var (
		callCtx context.Context
		cancel  context.CancelFunc
	)
	if timeout > 0 {
		callCtx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		callCtx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	type outcome struct {
		r   Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: &panicError{value: p, stack: debug.Stack()}}
			}
		}()
		r, err := t.Call(callCtx, args)
		done <- outcome{r, err}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-callCtx.Done():
		select {
		case out = <-done: // finished at the same moment: keep its answer
		default:
			out = outcome{err: callCtx.Err()}
		}
	}

	if out.err == nil {
		res.Output = out.r.Output
		res.Structured = out.r.Structured
		res.Success = true
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		res.Error = fmt.Sprintf("tool %q was interrupted: %v", name, err)
		return res, fmt.Errorf("tool %q: %w", name, err)
	}
	var (
		pe *panicError
		te *Error
	)
	switch {
	case errors.As(out.err, &pe):
		logger := o.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Error("tool panicked", "tool", name, "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		res.Error = (&Error{Tool: name, Message: pe.message()}).Error()
	case callCtx.Err() != nil && errors.Is(out.err, context.DeadlineExceeded):
		res.Error = fmt.Sprintf("tool %q timed out after %v", name, timeout)
	case errors.As(out.err, &te):
		c := *te
		if c.Tool == "" {
			c.Tool = name
		}
		res.Error = c.Error()
	default:
		res.Error = fmt.Sprintf("tool %q failed: %v", name, out.err)
		return res, fmt.Errorf("tool %q: %w", name, out.err)
	}
	return res, nil
}
