package calculator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/calculator"
)

func TestRegisteredInDefault(t *testing.T) {
	got, ok := tool.Lookup("calculator")
	if !ok {
		t.Fatal(`importing the package did not register "calculator" in tool.Default`)
	}
	if got.Spec().Name != calculator.Name {
		t.Errorf("registered tool is named %q", got.Spec().Name)
	}
}

func TestSpec(t *testing.T) {
	spec := calculator.New().Spec()
	var schema struct {
		Type       string                     `json:"type"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(spec.Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Type != "object" || len(schema.Required) != 1 || schema.Required[0] != "expression" {
		t.Errorf("schema = %s, want an object requiring expression", spec.Parameters)
	}
	if !strings.Contains(string(schema.Properties["expression"]), "the arithmetic expression to evaluate") {
		t.Errorf("expression property %s lacks its description", schema.Properties["expression"])
	}
	if spec.Description == "" {
		t.Error("empty description")
	}
}

func TestCall(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		args        string
		wantOK      bool
		wantOutput  string
		wantErrPart string
	}{
		{`{"expression": "1/3*3"}`, true, "1", ""},
		{`{"expression": "(2+3)*4^2"}`, true, "80", ""},
		{`{"expression": "1/(2-2)"}`, false, "", `tool "calculator": division by zero (at column 2)`},
		{`{}`, false, "", "at /expression: missing required property"},
		{`{"expression": 5}`, false, "", "at /expression: expected string, got number"},
		{`{"expression": "1", "precision": 3}`, false, "", "at /precision: unknown property (allowed: expression)"},
	}
	for _, tt := range tests {
		res, err := tool.Invoke(ctx, calculator.New(), json.RawMessage(tt.args), nil)
		if err != nil {
			t.Fatalf("Invoke(%s): %v", tt.args, err)
		}
		if res.Success != tt.wantOK || res.Output != tt.wantOutput || !strings.Contains(res.Error, tt.wantErrPart) {
			t.Errorf("Invoke(%s) = %+v; want success %v, output %q, error containing %q", tt.args, res, tt.wantOK, tt.wantOutput, tt.wantErrPart)
		}
	}
}

func ExampleEval() {
	for _, expr := range []string{"1/3*3", "0.1+0.2", "2^3^2", "1/3", "sqrt(2)", "1/(2-2)"} {
		out, err := calculator.Eval(expr)
		if err != nil {
			fmt.Printf("%s: error: %v\n", expr, err)
			continue
		}
		fmt.Printf("%s = %s\n", expr, out)
	}
	// Output:
	// 1/3*3 = 1
	// 0.1+0.2 = 0.3
	// 2^3^2 = 512
	// 1/3 = 0.333333333333
	// sqrt(2) = 1.41421356237
	// 1/(2-2): error: division by zero (at column 2)
}
