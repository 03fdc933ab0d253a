// Package python is the built-in "python" tool: it runs the model's Python
// code in a bubblewrap sandbox (package sandbox) and returns its stdout,
// stderr and exit status. Code that fails, times out or hits a limit is a
// failed tool result the model sees; only a sandbox that cannot run (bwrap
// missing) is a Go error.
//
// Importing the package registers the tool with [tool.Default]; it makes
// its sandbox on the first call, with the default limits:
//
//	import _ "github.com/retrain-rl/retrain/tool/python"
//
//	t, _ := tool.Lookup("python")
//	res, err := tool.Invoke(ctx, t, json.RawMessage(`{"code": "print(6*7)"}`), nil)
//	// res.Output == "42\n"
//
// [New] makes the tool over any [Runner]: a *sandbox.Sandbox (a fresh
// interpreter per call), a *sandbox.Pool (the same, started ahead), or a
// *sandbox.Session (one interpreter whose variables survive between calls,
// like a notebook; an environment makes one per episode and closes it at
// the episode's end).
package python

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/sandbox"
	"github.com/retrain-rl/retrain/tool"
)

// Name is the tool's name.
const Name = "python"

const description = "Runs a Python 3 program in a sandbox (no network, no files but its own) and returns " +
	"what it printed (stdout and stderr) and its exit status. Print the values you want to see."

// StatefulDescription is the tool's description over a [sandbox.Session].
const StatefulDescription = "Runs Python 3 code in a sandboxed interpreter that keeps its variables, functions " +
	"and imports between calls, like a notebook; the value of a last expression is printed. Returns stdout, " +
	"stderr and the exit status. No network."

// Args are the tool's arguments.
type Args struct {
	Code string `json:"code" jsonschema:"the Python 3 code to run; print() what you want to see"`
}

// Runner runs code: *sandbox.Sandbox, *sandbox.Pool and *sandbox.Session
// are runners. It must be safe for concurrent use.
type Runner interface {
	Run(ctx context.Context, req sandbox.Request) (sandbox.Result, error)
}

// New returns the python tool running code with r; nil r means a sandbox
// with the default options, made on the first call.
func New(r Runner) tool.Tool {
	return newTool(r, description)
}

// NewStateful returns the python tool over a session, described to the
// model as an interpreter that keeps its state.
func NewStateful(s *sandbox.Session) tool.Tool {
	return newTool(s, StatefulDescription)
}

// Spec returns the tool's spec, stateful or not, without making a tool.
func Spec(stateful bool) retrain.ToolSpec {
	if stateful {
		return specStateful
	}
	return specStateless
}

var (
	specStateless = newTool(failing{}, description).Spec()
	specStateful  = newTool(failing{}, StatefulDescription).Spec()
)

// failing is the runner of the tools made only for their specs.
type failing struct{}

func (failing) Run(context.Context, sandbox.Request) (sandbox.Result, error) {
	return sandbox.Result{}, errors.New("python: no runner")
}

func newTool(r Runner, desc string) tool.Tool {
	if r == nil {
		r = &lazy{}
	}
	return &pyTool{Tool: tool.MustFunc(Name, desc, func(ctx context.Context, in Args) (string, error) {
		if strings.TrimSpace(in.Code) == "" {
			return "", &tool.Error{Tool: Name, Message: "the code is empty; send a Python program in \"code\""}
		}
		res, err := r.Run(ctx, sandbox.Request{Code: in.Code})
		if err != nil {
			return "", sandboxError{err}
		}
		out := Format(res)
		if !res.OK() {
			return "", &tool.Error{Tool: Name, Message: out}
		}
		return out, nil
	}, nil)}
}

// pyTool is the tool: a typed function, except that a sandbox that cannot
// run is a Go error (the episode fails), not a result the model sees.
type pyTool struct{ tool.Tool }

func (t *pyTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	res, err := t.Tool.Call(ctx, args)
	var se sandboxError
	if errors.As(err, &se) {
		return tool.Result{}, fmt.Errorf("tool %q: %w", Name, se.err)
	}
	return res, err
}

// sandboxError carries a sandbox failure through the typed function.
type sandboxError struct{ err error }

func (e sandboxError) Error() string { return e.err.Error() }
func (e sandboxError) Unwrap() error { return e.err }

// Format writes a result as the model sees it: the stdout alone when the
// run succeeded with no stderr; otherwise labelled sections and how the
// run ended.
func Format(res sandbox.Result) string {
	if res.OK() && res.Stderr == "" {
		if res.Stdout == "" {
			return "(no output)"
		}
		return res.Stdout
	}
	var b strings.Builder
	section := func(name, text string) {
		if text == "" {
			return
		}
		fmt.Fprintf(&b, "%s:\n%s", name, text)
		if !strings.HasSuffix(text, "\n") {
			b.WriteByte('\n')
		}
	}
	section("stdout", res.Stdout)
	section("stderr", res.Stderr)
	b.WriteString(res.Summary())
	return b.String()
}

// lazy is the default runner: a sandbox made on first use.
type lazy struct {
	once sync.Once
	sb   *sandbox.Sandbox
	err  error
}

func (l *lazy) Run(ctx context.Context, req sandbox.Request) (sandbox.Result, error) {
	l.once.Do(func() { l.sb, l.err = sandbox.New(nil) })
	if l.err != nil {
		return sandbox.Result{}, l.err
	}
	return l.sb.Run(ctx, req)
}

func init() {
	tool.MustRegister(New(nil))
}
