package tool_test

import (
	"context"
	"encoding/json"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
)

// rawTool is a Tool written by hand, without Func.
type rawTool struct {
	name string
	call func(ctx context.Context, args json.RawMessage) (tool.Result, error)
}

func (t rawTool) Spec() retrain.ToolSpec {
	return retrain.ToolSpec{Name: t.name, Description: "a test tool", Parameters: json.RawMessage(`{"type":"object"}`)}
}

func (t rawTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	return t.call(ctx, args)
}

// echo returns a tool that answers with its arguments.
func echo(name string) tool.Tool {
	return rawTool{name: name, call: func(_ context.Context, args json.RawMessage) (tool.Result, error) {
		return tool.Result{Output: string(args)}, nil
	}}
}
