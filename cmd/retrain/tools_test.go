package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
	"go.uber.org/goleak"
)

// runCLI runs the CLI in-process and returns the exit code and outputs.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

var registerSlow sync.Once

// slowToolName is a test tool, registered in tool.Default, that waits for
// its context to end.
const slowToolName = "cli_test_wait"

func useSlowTool() {
	registerSlow.Do(func() {
		tool.MustRegister(tool.MustFunc(slowToolName, "Waits until cancelled (test tool).",
			func(ctx context.Context, _ struct{}) (string, error) {
				<-ctx.Done()
				return "", ctx.Err()
			}, nil))
	})
}

func TestTools(t *testing.T) {
	code, out, errOut := runCLI(t, "", "tools")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{
		"calculator\n",
		"    Evaluates an arithmetic expression exactly",
		`"expression": {`,
		`"description": "the arithmetic expression to evaluate`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tools output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, "", "tools", "calculator")
	if code != 0 || !strings.HasPrefix(out, "calculator\n") || strings.Count(out, "arguments:") != 1 {
		t.Errorf("tools calculator: exit %d, output:\n%s", code, out)
	}
	code, _, errOut = runCLI(t, "", "tools", "nope")
	if code != 2 || !strings.Contains(errOut, `unknown tool "nope"; available tools: `) || !strings.Contains(errOut, "calculator") {
		t.Errorf("tools nope: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestToolsJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "", "tools", "--json")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	var specs []retrain.ToolSpec
	if err := json.Unmarshal([]byte(out), &specs); err != nil {
		t.Fatalf("output is not a JSON array of specs: %v\n%s", err, out)
	}
	if len(specs) != len(tool.List()) {
		t.Errorf("%d tools listed, %d registered", len(specs), len(tool.List()))
	}
	var calc *retrain.ToolSpec
	for i := range specs {
		if specs[i].Name == "calculator" {
			calc = &specs[i]
		}
	}
	if calc == nil || calc.Description == "" || !strings.Contains(string(calc.Parameters), `"required"`) {
		t.Errorf("calculator spec missing or incomplete: %+v", calc)
	}
}

func TestToolCall(t *testing.T) {
	defer goleak.VerifyNone(t)
	useSlowTool()
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantOut    string
		wantErrOut string // substring of stderr
	}{
		{"exact", "", []string{"tool", "call", "calculator", `{"expression": "1/3*3"}`}, 0, "1\n", ""},
		{"decimals", "", []string{"tool", "call", "calculator", `{"expression":"0.1+0.2"}`}, 0, "0.3\n", ""},
		{"stdin", `{"expression": "2^10"}`, []string{"tool", "call", "calculator", "-"}, 0, "1024\n", ""},
		{"flags after args", "", []string{"tool", "call", "calculator", `{"expression":"7%3"}`, "--timeout", "5s"}, 0, "1\n", ""},
		{"tool error", "", []string{"tool", "call", "calculator", `{"expression": "1/0"}`}, 1, "",
			`retrain tool call: tool "calculator": division by zero (at column 2)`},
		{"invalid arguments", "", []string{"tool", "call", "calculator"}, 1, "",
			`tool "calculator": invalid arguments: at /expression: missing required property`},
		{"unknown tool", "", []string{"tool", "call", "calc", "{}"}, 1, "", `unknown tool "calc"; available tools: `},
		{"timeout", "", []string{"tool", "call", "--timeout", "20ms", slowToolName}, 1, "",
			`tool "cli_test_wait" timed out after 20ms`},
		{"bad JSON", "", []string{"tool", "call", "calculator", `{expression: 1}`}, 2, "", "the arguments are not valid JSON"},
		{"no name", "", []string{"tool", "call"}, 2, "", "missing the tool name"},
		{"too many", "", []string{"tool", "call", "calculator", "{}", "{}"}, 2, "", "too many arguments"},
		{"bad timeout", "", []string{"tool", "call", "--timeout", "0s", "calculator"}, 2, "", "--timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != tt.wantCode || out != tt.wantOut || !strings.Contains(errOut, tt.wantErrOut) {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr containing %q",
					code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErrOut)
			}
		})
	}
}

func TestToolCallJSON(t *testing.T) {
	defer goleak.VerifyNone(t)
	code, out, _ := runCLI(t, "", "tool", "call", "--json", "calculator", `{"expression": "sqrt(16)"}`)
	var res retrain.ToolResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not a ToolResult: %v\n%s", err, out)
	}
	if code != 0 || !res.Success || res.Output != "4" || res.Name != "calculator" {
		t.Errorf("exit %d, result %+v", code, res)
	}

	code, out, _ = runCLI(t, "", "tool", "call", "--json", "calculator", `{"expression": "sqrt(-1)"}`)
	res = retrain.ToolResult{}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not a ToolResult: %v\n%s", err, out)
	}
	if code != 1 || res.Success || !strings.Contains(res.Error, "not a real number") {
		t.Errorf("exit %d, result %+v; want a failed result and exit 1", code, res)
	}
}

func TestToolCallCancelled(t *testing.T) {
	defer goleak.VerifyNone(t)
	useSlowTool()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"tool", "call", slowToolName}, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	if code != 1 || !strings.Contains(errOut.String(), "context canceled") {
		t.Errorf("exit %d, stderr %q; want exit 1 reporting the cancellation", code, errOut.String())
	}
}
