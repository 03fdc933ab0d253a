package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/retrain-rl/retrain"
)

// FuncOptions configure a tool made by [Func]. The zero value is ready to use.
type FuncOptions struct {
	// Timeout bounds each call of the function. When it expires the call
	// fails with an *Error saying so. Zero means no limit of the tool's own
	// (the caller's limit, e.g. [CallOptions.Timeout], still applies).
	Timeout time.Duration
	// Schema, when set, is used as the parameters schema instead of the one
	// inferred from In. It must describe a JSON object.
	Schema json.RawMessage
}

// Func makes a Tool from a typed function. The JSON Schema of the arguments
// is inferred from In (a struct, or a map with string keys) with
// github.com/google/jsonschema-go: fields are named by their json tags,
// fields without omitempty/omitzero are required, and a `jsonschema:"..."`
// tag becomes the property's description.
//
//	type weatherIn struct {
//		City string `json:"city" jsonschema:"the city name, e.g. Paris"`
//	}
//	weather, err := tool.Func("weather", "Current weather in a city.",
//		func(ctx context.Context, in weatherIn) (string, error) { ... }, nil)
//
// Each call validates the arguments against the schema before decoding them
// into In; invalid arguments fail with an *Error listing every problem. An
// error returned by fn is shown to the model as an *Error (a cancelled
// caller context stays a Go error). When Out is string the output is that
// string; otherwise Output is Out's JSON text and Structured its JSON.
func Func[In, Out any](name, description string, fn func(ctx context.Context, in In) (Out, error), opts *FuncOptions) (Tool, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, fmt.Errorf("tool: Func %q: the function is nil", name)
	}
	var o FuncOptions
	if opts != nil {
		o = *opts
	}
	schema := bytes.TrimSpace(o.Schema)
	if len(schema) == 0 {
		s, err := jsonschema.For[In](nil)
		if err != nil {
			return nil, fmt.Errorf("tool: Func %q: inferring the schema of %s: %w", name, reflect.TypeFor[In](), err)
		}
		if s.Type != "object" {
			return nil, fmt.Errorf("tool: Func %q: the input type %s is not a JSON object; use a struct or a map with string keys", name, reflect.TypeFor[In]())
		}
		if schema, err = json.Marshal(s); err != nil {
			return nil, fmt.Errorf("tool: Func %q: encoding the schema: %w", name, err)
		}
	}
	v, err := NewValidator(schema)
	if err != nil {
		return nil, fmt.Errorf("tool: Func %q: %w", name, err)
	}
	return &funcTool[In, Out]{
		spec:      retrain.ToolSpec{Name: name, Description: description, Parameters: slices.Clone(schema)},
		fn:        fn,
		validator: v,
		timeout:   o.Timeout,
	}, nil
}

// MustFunc is like [Func] but panics on error. It is meant for package-level
// tool definitions whose types are fixed at compile time.
func MustFunc[In, Out any](name, description string, fn func(ctx context.Context, in In) (Out, error), opts *FuncOptions) Tool {
	t, err := Func(name, description, fn, opts)
	if err != nil {
		panic(err)
	}
	return t
}

// funcTool is the Tool made by Func.
type funcTool[In, Out any] struct {
	spec      retrain.ToolSpec
	fn        func(context.Context, In) (Out, error)
	validator *Validator
	timeout   time.Duration
}

func (t *funcTool[In, Out]) Spec() retrain.ToolSpec {
	s := t.spec
	s.Parameters = slices.Clone(s.Parameters)
	return s
}

func (t *funcTool[In, Out]) Call(ctx context.Context, args json.RawMessage) (res Result, err error) {
	name := t.spec.Name
	args = normalizeArgs(args)
	if err := t.validator.Validate(args); err != nil {
		var te *Error
		if errors.As(err, &te) {
			te.Tool = name
		}
		return Result{}, err
	}
	var in In
	if err := json.Unmarshal(args, &in); err != nil {
		return Result{}, &Error{Tool: name, Message: "invalid arguments: " + err.Error(), Err: err}
	}
	callCtx := ctx
	if t.timeout > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			pe := &panicError{value: p, stack: debug.Stack()}
			res, err = Result{}, &Error{Tool: name, Message: pe.message(), Err: pe}
		}
	}()
	out, err := t.fn(callCtx, in)
	if err != nil {
		return Result{}, t.classify(ctx, callCtx, err)
	}
	if s, ok := any(out).(string); ok {
		return Result{Output: s}, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return Result{}, fmt.Errorf("tool %q: encoding the result: %w", name, err)
	}
	return Result{Output: string(b), Structured: b}, nil
}

// classify turns an error from fn into what Call returns.
func (t *funcTool[In, Out]) classify(ctx, callCtx context.Context, err error) error {
	name := t.spec.Name
	if ctx.Err() != nil {
		return fmt.Errorf("tool %q: %w", name, ctx.Err())
	}
	var te *Error
	if errors.As(err, &te) {
		c := *te
		if c.Tool == "" {
			c.Tool = name
		}
		return &c
	}
	if callCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		return &Error{Tool: name, Message: fmt.Sprintf("timed out after %v", t.timeout), Err: err}
	}
	return &Error{Tool: name, Message: err.Error(), Err: err}
}

// normalizeArgs returns args, or {} when args is empty or JSON null.
func normalizeArgs(args json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return json.RawMessage(`{}`)
	}
	return args
}

// panicError is a recovered panic with the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) message() string {
	return fmt.Sprintf("the tool failed unexpectedly (panic: %v)", p.value)
}

func (p *panicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", p.value, p.stack)
}
