package dialect

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

// parseCase is one model output and the action it must parse to. Raw is
// filled in from in; when wantErr is set, only the presence of ParseError
// containing it (and the other fields) is checked.
type parseCase struct {
	name    string
	in      string
	native  []retrain.ToolCall
	want    retrain.Action
	wantErr string
}

// tc builds a tool call with compact arguments.
func tc(id, name, args string) retrain.ToolCall {
	return retrain.ToolCall{ID: id, Name: name, Arguments: json.RawMessage(args)}
}

// calls builds a tool-call action.
func calls(text string, cs ...retrain.ToolCall) retrain.Action {
	return retrain.Action{Kind: retrain.ActionToolCall, Text: text, ToolCalls: cs}
}

// answer builds a text action.
func answer(text string) retrain.Action {
	return retrain.Action{Kind: retrain.ActionText, Text: text}
}

// withReasoning sets the reasoning of a.
func withReasoning(a retrain.Action, r string) retrain.Action {
	a.Reasoning = r
	return a
}

// failed is a parse-error action; the message is checked by wantErr.
func failed() retrain.Action { return retrain.Action{Kind: retrain.ActionText} }

func runParseCases(t *testing.T, d Dialect, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := d.Parse(c.in, c.native)
			want := c.want
			want.Raw = c.in
			if c.wantErr != "" {
				if !strings.Contains(got.ParseError, c.wantErr) {
					t.Errorf("ParseError = %q, want it to contain %q", got.ParseError, c.wantErr)
				}
				want.ParseError = got.ParseError
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(jsonEqual)); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", c.in, diff)
			}
			checkInvariants(t, c.in, got)
		})
	}
}

// jsonEqual compares raw JSON byte for byte: arguments must be compact.
func jsonEqual(a, b json.RawMessage) bool { return string(a) == string(b) }

// checkInvariants asserts what must hold for every parse of every input.
func checkInvariants(t *testing.T, in string, a retrain.Action) {
	t.Helper()
	if a.Raw != in {
		t.Fatalf("Raw = %q, want the input %q", a.Raw, in)
	}
	if a.Kind != retrain.ActionText && a.Kind != retrain.ActionToolCall {
		t.Fatalf("Kind = %q, want text or tool_call", a.Kind)
	}
	if a.ParseError != "" {
		if len(a.ToolCalls) != 0 || a.Kind != retrain.ActionText {
			t.Fatalf("parse error %q with Kind %q and %d calls; want Kind text and no calls", a.ParseError, a.Kind, len(a.ToolCalls))
		}
		return
	}
	if a.Kind == retrain.ActionText && len(a.ToolCalls) != 0 {
		t.Fatalf("Kind text with %d calls", len(a.ToolCalls))
	}
	if a.Kind == retrain.ActionToolCall && len(a.ToolCalls) == 0 {
		t.Fatalf("Kind tool_call without calls")
	}
	for i, c := range a.ToolCalls {
		if c.Name == "" {
			t.Fatalf("call %d has an empty name", i)
		}
		if c.ID == "" {
			t.Fatalf("call %d has an empty id", i)
		}
		var m map[string]any
		if err := json.Unmarshal(c.Arguments, &m); err != nil || m == nil {
			t.Fatalf("call %d arguments %q are not a JSON object: %v", i, c.Arguments, err)
		}
		if !json.Valid(c.Arguments) || !utf8.Valid(c.Arguments) {
			t.Fatalf("call %d arguments %q are not valid JSON", i, c.Arguments)
		}
	}
	if _, err := json.Marshal(a); err != nil {
		t.Fatalf("the action does not encode as JSON: %v", err)
	}
}

// weatherTool is the tool used in system prompt tests.
var weatherTool = retrain.ToolSpec{
	Name:        "get_weather",
	Description: "Get the current weather for a city.",
	Parameters:  json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}`),
}
