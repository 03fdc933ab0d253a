// Package calculator is the built-in "calculator" tool: exact arithmetic on
// rationals, so that 1/3*3 is 1 and 0.1+0.2 is 0.3.
//
// Importing the package registers the tool with [tool.Default]:
//
//	import _ "github.com/retrain-rl/retrain/tool/calculator"
//
//	t, _ := tool.Lookup("calculator")
//	res, err := tool.Invoke(ctx, t, json.RawMessage(`{"expression": "(2+3)*4^2"}`), nil)
//	// res.Output == "80"
//
// [Eval] evaluates an expression directly; see it for the syntax.
package calculator

import (
	"context"

	"github.com/retrain-rl/retrain/tool"
)

// Name is the tool's name.
const Name = "calculator"

const description = "Evaluates an arithmetic expression exactly and returns the result. " +
	"Supports + - * / % (modulo), ^ or ** (power), parentheses, integers, decimals and fractions, " +
	"the functions sqrt, abs, round, floor, ceil, min, max, and the constants pi and e. " +
	"Example: (2+3)*4^2/7"

// Args are the tool's arguments.
type Args struct {
	Expression string `json:"expression" jsonschema:"the arithmetic expression to evaluate, e.g. (2+3)*4^2 or sqrt(2)/3"`
}

// New returns the calculator tool. Its output is the result of [Eval];
// an expression it cannot evaluate fails with a *tool.Error saying why and
// where.
func New() tool.Tool {
	return tool.MustFunc(Name, description, func(_ context.Context, in Args) (string, error) {
		out, err := Eval(in.Expression)
		if err != nil {
			return "", &tool.Error{Tool: Name, Message: err.Error(), Err: err}
		}
		return out, nil
	}, nil)
}

func init() {
	tool.MustRegister(New())
}
