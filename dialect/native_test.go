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

// TestNativeParseRealOutputs holds completions of OpenAI-compatible servers
// (vLLM, SGLang) with their native tool calls, malformed ones included.
func TestNativeParseRealOutputs(t *testing.T) {
	runParseCases(t, Native(), []parseCase{
		{
			name:   "vLLM arguments with spaces and non-ASCII text",
			native: []retrain.ToolCall{tc("chatcmpl-tool-5f1c", "internet_search", `{"question": "5MW燃气轮机设计参数"}`)},
			want:   calls("", tc("chatcmpl-tool-5f1c", "internet_search", `{"question":"5MW燃气轮机设计参数"}`)),
		},
		{
			name:   "empty and null arguments",
			native: []retrain.ToolCall{tc("a", "now", ``), tc("b", "today", `null`), tc("c", "ping", `  `)},
			want:   calls("", tc("a", "now", `{}`), tc("b", "today", `{}`), tc("c", "ping", `{}`)),
		},
		{
			name:   "arguments over several lines",
			native: []retrain.ToolCall{tc("x", "write", "{\n  \"path\": \"a.txt\",\n  \"content\": \"hi\\n\"\n}")},
			want:   calls("", tc("x", "write", `{"path":"a.txt","content":"hi\n"}`)),
		},
		{
			name:   "name and id with stray white space",
			native: []retrain.ToolCall{tc(" call_9 ", " get_weather\n", `{"city": "Paris"}`)},
			want:   calls("", tc("call_9", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name:   "reasoning and content beside the calls",
			in:     "<think>\nNeed both cities.\n</think>\n\nChecking both.",
			native: []retrain.ToolCall{tc("1", "w", `{"c": "A"}`), tc("2", "w", `{"c": "B"}`)},
			want:   withReasoning(calls("Checking both.", tc("1", "w", `{"c":"A"}`), tc("2", "w", `{"c":"B"}`)), "Need both cities."),
		},
		{
			name: "call markup only inside the reasoning is not a leaked call",
			in:   "<think>Should I use <tool_call>? No.</think>4",
			want: withReasoning(answer("4"), "Should I use <tool_call>? No."),
		},
		{
			name:    "Hermes call left in the content by the server (malformed JSON)",
			in:      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call>",
			wantErr: "the reply holds a tool call written as text (<tool_call>)",
			want:    failed(),
		},
		{
			name:    "Mistral call left in the content",
			in:      `[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"`,
			wantErr: "([TOOL_CALLS])",
			want:    failed(),
		},
		{
			name:    "Qwen3-Coder call left in the content",
			in:      "Let me look.\n<function=list_files>\n<parameter=path>\n.\n",
			wantErr: "(<function=)",
			want:    failed(),
		},
		{
			name:    "arguments cut off",
			native:  []retrain.ToolCall{tc("1", "write", `{"path": "a.txt", "content": "hel`)},
			wantErr: "tool call 1 (write): the arguments are not valid JSON",
			want:    failed(),
		},
		{
			name:    "arguments with single quotes",
			native:  []retrain.ToolCall{tc("1", "f", `{'a': 1}`)},
			wantErr: "double quotes, not single quotes",
			want:    failed(),
		},
	})
}
