package tool_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
)

func Example() {
	type addIn struct {
		A int `json:"a" jsonschema:"the first addend"`
		B int `json:"b" jsonschema:"the second addend"`
	}
	add := tool.MustFunc("add", "Adds two integers.",
		func(_ context.Context, in addIn) (int, error) { return in.A + in.B, nil }, nil)

	ctx := context.Background()
	set, err := tool.Collect(ctx, tool.Static(add))
	if err != nil {
		panic(err)
	}
	for _, args := range []string{`{"a": 2, "b": 3}`, `{"a": "two"}`} {
		res, err := set.Call(ctx, retrain.ToolCall{ID: "1", Name: "add", Arguments: json.RawMessage(args)}, nil)
		if err != nil {
			panic(err) // only when ctx is done
		}
		if res.Success {
			fmt.Println("output:", res.Output)
		} else {
			fmt.Println("error:", res.Error)
		}
	}
	// Output:
	// output: 5
	// error: tool "add": invalid arguments: at /a: expected integer, got string; at /b: missing required property
}
