// Package tool defines the tools a model may call: the Tool interface, typed
// function tools whose JSON Schema comes from Go types, registries, and
// providers that hand tools to environments.
//
// A tool is usually a typed Go function; environments use a [Set] collected
// from providers and run the model's calls with [Set.Call]:
//
//	type addIn struct {
//		A int `json:"a" jsonschema:"the first addend"`
//		B int `json:"b" jsonschema:"the second addend"`
//	}
//	add := tool.MustFunc("add", "Adds two integers.",
//		func(ctx context.Context, in addIn) (int, error) { return in.A + in.B, nil }, nil)
//	set, err := tool.Collect(ctx, tool.Static(add), tool.FromRegistry(tool.Default, "calculator"))
//	res, err := set.Call(ctx, retrain.ToolCall{Name: "add", Arguments: json.RawMessage(`{"a":2,"b":3}`)}, nil)
//	// res.Output == "5"; a failed call has res.Success == false and res.Error set,
//	// and err is non-nil only when ctx is done.
//
// Failures the model caused or should see (invalid arguments, a tool's own
// error, a panic, a timeout) are data in the ToolResult; Go errors are kept
// for infrastructure and cancellation.
package tool

import (
	"context"
	"encoding/json"

	"github.com/retrain-rl/retrain"
)

// Tool is something the model may call. Implementations must be safe for
// concurrent use: one Tool serves every episode of a run.
type Tool interface {
	// Spec describes the tool: name, description and the JSON Schema of its
	// arguments object.
	Spec() retrain.ToolSpec
	// Call runs the tool with the model's JSON arguments. A failure the model
	// should see (bad arguments, a failed lookup) is returned as *Error; any
	// other error is an infrastructure failure (cancelled context, a dead
	// server).
	Call(ctx context.Context, args json.RawMessage) (Result, error)
}

// Result is a tool's successful output.
type Result struct {
	// Output is the text shown to the model.
	Output string `json:"output"`
	// Structured is the structured output, when the tool has one.
	Structured json.RawMessage `json:"structured,omitempty"`
}

// Provider discovers tools (the seed's ToolProvider.discover_tools).
type Provider interface {
	// Tools returns the tools this provider offers. It may do I/O (an MCP
	// server's tools/list) and is called during an environment's Setup.
	Tools(ctx context.Context) ([]Tool, error)
}
