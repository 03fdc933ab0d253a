package dialect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestNativeParse(t *testing.T) {
	runParseCases(t, Native(), []parseCase{
		{
			name:   "calls with ids",
			native: []retrain.ToolCall{tc("chatcmpl-tool-1a2b", "get_weather", `{ "city" : "Paris" }`), tc("chatcmpl-tool-3c4d", "now", ``)},
			want:   calls("", tc("chatcmpl-tool-1a2b", "get_weather", `{"city":"Paris"}`), tc("chatcmpl-tool-3c4d", "now", `{}`)),
		},
		{
			name:   "content beside calls, ids generated",
			in:     "Let me check.",
			native: []retrain.ToolCall{tc("", "a", `{}`), tc("", "b", `{"x":[1]}`)},
			want:   calls("Let me check.", tc("call_0", "a", `{}`), tc("call_1", "b", `{"x":[1]}`)),
		},
		{
			name:   "arguments as a JSON string",
			native: []retrain.ToolCall{tc("id1", "f", `"{\"a\": 1}"`)},
			want:   calls("", tc("id1", "f", `{"a":1}`)),
		},
		{
			name: "think left in the content",
			in:   "<think>simple</think>\n\n4",
			want: withReasoning(answer("4"), "simple"),
		},
		{
			name: "text only",
			in:   "Paris is sunny.",
			want: answer("Paris is sunny."),
		},
		{
			name:    "malformed arguments string",
			native:  []retrain.ToolCall{tc("id1", "f", `{"a": 1`)},
			wantErr: "tool call 1 (f): the arguments are not valid JSON",
			want:    failed(),
		},
		{
			name:    "arguments not an object",
			native:  []retrain.ToolCall{tc("id1", "f", `[1]`)},
			wantErr: "must be a JSON object, got an array",
			want:    failed(),
		},
		{
			name:    "missing name",
			native:  []retrain.ToolCall{tc("id1", "", `{}`)},
			wantErr: "no function name",
			want:    failed(),
		},
	})
}

func TestNativeMessages(t *testing.T) {
	d := Native()
	a := d.Parse("<think>hm</think>Checking.", []retrain.ToolCall{tc("id7", "f", `{"a":1}`)})
	got := d.AssistantMessage(a)
	want := retrain.Message{Role: retrain.RoleAssistant, Content: "Checking.", Reasoning: "hm", ToolCalls: []retrain.ToolCall{tc("id7", "f", `{"a":1}`)}}
	if diff := cmp.Diff(want, got, cmp.Comparer(jsonEqual)); diff != "" {
		t.Errorf("AssistantMessage mismatch (-want +got):\n%s", diff)
	}
	res := d.ToolResults([]retrain.ToolResult{{CallID: "id7", Name: "f", Output: "2", Success: true}, {CallID: "id8", Name: "g", Error: "bad"}})
	wantRes := []retrain.Message{
		{Role: retrain.RoleTool, Content: "2", ToolCallID: "id7", Name: "f"},
		{Role: retrain.RoleTool, Content: "Error: bad", ToolCallID: "id8", Name: "g"},
	}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("ToolResults mismatch (-want +got):\n%s", diff)
	}
	if p := d.SystemPrompt([]retrain.ToolSpec{weatherTool}); strings.Contains(p, "get_weather") {
		t.Errorf("native system prompt lists tools in text: %q", p)
	}
	bad := d.Parse("oops", []retrain.ToolCall{tc("x", "f", `{`)})
	if m := d.AssistantMessage(bad); m.Content != "oops" || len(m.ToolCalls) != 0 {
		t.Errorf("AssistantMessage of a parse error = %+v, want the raw text and no calls", m)
	}
	if _, err := json.Marshal(bad); err != nil {
		t.Errorf("a parse-error action does not encode: %v", err)
	}
}
