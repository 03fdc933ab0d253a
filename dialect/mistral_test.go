package dialect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestMistralParse(t *testing.T) {
	runParseCases(t, Mistral(), []parseCase{
		{
			name: "v3 list",
			in:   `[TOOL_CALLS] [{"name": "get_current_weather", "arguments": {"city": "San Francisco", "state": "CA", "unit": "celsius"}}]`,
			want: calls("", tc("call_0", "get_current_weather", `{"city":"San Francisco","state":"CA","unit":"celsius"}`)),
		},
		{
			name: "v3 list with ids, several calls, end token",
			in:   `[TOOL_CALLS][{"name": "add", "arguments": {"a": 3.5, "b": 4}, "id": "abcDEF123"}, {"name": "mul", "arguments": {"a": 3, "b": 6}, "id": "xyzXYZ789"}]</s>`,
			want: calls("", tc("abcDEF123", "add", `{"a":3.5,"b":4}`), tc("xyzXYZ789", "mul", `{"a":3,"b":6}`)),
		},
		{
			name: "arguments before name",
			in:   `[TOOL_CALLS] [{"arguments": {"name": "John Doe"}, "name": "get_age"}]`,
			want: calls("", tc("call_0", "get_age", `{"name":"John Doe"}`)),
		},
		{
			name: "content before",
			in:   `Hello[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1, "b": 2}}]`,
			want: calls("Hello", tc("call_0", "add", `{"a":1,"b":2}`)),
		},
		{
			name: "v11 name and ARGS, several",
			in:   `[TOOL_CALLS]get_weather[ARGS]{"city": "Zürich", "unit": "c"}[TOOL_CALLS]search[ARGS]{"query": "café \"best\"", "filters": {"tags": ["a", "{b}"]}}`,
			want: calls("", tc("call_0", "get_weather", `{"city":"Zürich","unit":"c"}`), tc("call_1", "search", `{"query":"café \"best\"","filters":{"tags":["a","{b}"]}}`)),
		},
		{
			name: "v7 call id",
			in:   `[TOOL_CALLS]get_weather[CALL_ID]abcDEF123[ARGS]{"city": "Bern"}`,
			want: calls("", tc("abcDEF123", "get_weather", `{"city":"Bern"}`)),
		},
		{
			name: "name directly followed by JSON",
			in:   `[TOOL_CALLS]add{"a": 3.5, "b": 4}[TOOL_CALLS]multiply{"a": 3, "b": 6}`,
			want: calls("", tc("call_0", "add", `{"a":3.5,"b":4}`), tc("call_1", "multiply", `{"a":3,"b":6}`)),
		},
		{
			name: "Magistral think then call",
			in:   `[THINK]I should call the tool.[/THINK][TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}`,
			want: withReasoning(calls("", tc("call_0", "get_weather", `{"city":"Paris"}`)), "I should call the tool."),
		},
		{
			name: "text before v11 call",
			in:   `Sure. [TOOL_CALLS]get_weather[ARGS]{"city":"Paris"}`,
			want: calls("Sure.", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "trailing text kept",
			in:   "[TOOL_CALLS] [{\"name\": \"f\", \"arguments\": {}}]\nextra trailing data",
			want: calls("extra trailing data", tc("call_0", "f", `{}`)),
		},
		{
			name: "bare JSON list without the token",
			in:   `[{"name": "f", "arguments": {"x": 1}}]`,
			want: calls("", tc("call_0", "f", `{"x":1}`)),
		},
		{
			name: "plain answer",
			in:   "The weather in Paris is sunny.</s>",
			want: answer("The weather in Paris is sunny."),
		},
		{
			name: "a JSON list that is not calls is an answer",
			in:   `[1, 2, 3]`,
			want: answer(`[1, 2, 3]`),
		},
		{
			name:    "cut off v11 arguments",
			in:      `hi{hi[TOOL_CALLS]bash{"command": "print(\"hello world!\")\nre.compile(r'{}')`,
			wantErr: "invalid JSON arguments",
			want:    failed(),
		},
		{
			name:    "name without arguments",
			in:      `[TOOL_CALLS]toolname_no_args`,
			wantErr: "no JSON object of arguments",
			want:    failed(),
		},
		{
			name:    "nothing after the token",
			in:      `[TOOL_CALLS]`,
			wantErr: "nothing follows",
			want:    failed(),
		},
		{
			name:    "bad JSON list",
			in:      `[TOOL_CALLS] [{"name": "f", "arguments": {"a": 1}]`,
			wantErr: "invalid JSON",
			want:    failed(),
		},
		{
			name:    "arguments not an object",
			in:      `[TOOL_CALLS]f[ARGS][1, 2]`,
			wantErr: "must be a JSON object, got an array",
			want:    failed(),
		},
		{
			name:    "missing name",
			in:      `[TOOL_CALLS][ARGS]{"a": 1}`,
			wantErr: "function name is missing",
			want:    failed(),
		},
		{
			name:    "unclosed THINK",
			in:      `[THINK]hmm`,
			wantErr: "[THINK] block is not closed",
			want:    withReasoning(failed(), "hmm"),
		},
	})
}

func TestMistralToolResults(t *testing.T) {
	got := Mistral().ToolResults([]retrain.ToolResult{
		{CallID: "call_0", Name: "f", Output: `{"temp": 20}`, Success: true},
		{CallID: "call_1", Name: "g", Error: "boom"},
	})
	want := []retrain.Message{{
		Role:    retrain.RoleUser,
		Content: `[TOOL_RESULTS]{"temp": 20}[/TOOL_RESULTS][TOOL_RESULTS]Error: boom[/TOOL_RESULTS]`,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToolResults mismatch (-want +got):\n%s", diff)
	}
}

func TestMistralSystemPrompt(t *testing.T) {
	p := Mistral().SystemPrompt([]retrain.ToolSpec{weatherTool})
	for _, want := range []string{
		`[AVAILABLE_TOOLS][{"type": "function", "function": {"name": "get_weather"`,
		`[TOOL_CALLS][{"name": "function_name", "arguments": {"argument name": value}}]`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, p)
		}
	}
}

// TestMistralParseRealOutputs holds outputs of Mistral 7B v0.3, Nemo, Small
// 3.x, Magistral and Devstral seen in vLLM's tests and bug reports,
// malformed ones included.
func TestMistralParseRealOutputs(t *testing.T) {
	runParseCases(t, Mistral(), []parseCase{
		{
			name: "spaces inside the list (vLLM streaming test)",
			in:   `[TOOL_CALLS]  [ {"name":"add" , "arguments" : {"a": 3, "b": 4} } ]`,
			want: calls("", tc("call_0", "add", `{"a":3,"b":4}`)),
		},
		{
			name: "string arguments (vLLM test)",
			in:   `[TOOL_CALLS] [{"name": "add", "arguments":{"a": "3", "b": "4"}}]`,
			want: calls("", tc("call_0", "add", `{"a":"3","b":"4"}`)),
		},
		{
			name: "v11 name and arguments without [ARGS] (vLLM test)",
			in:   `[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}`,
			want: calls("", tc("call_0", "add_this_and_that", `{"a":3.5,"b":4}`)),
		},
		{
			name: "white space around [ARGS]",
			in:   `[TOOL_CALLS] get_weather [ARGS] {"city": "Paris"}</s>`,
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "Devstral: content, then a v11 call",
			in:   `I'll look at the repository first.[TOOL_CALLS]str_replace_editor[ARGS]{"command": "view", "path": "/repo"}`,
			want: calls("I'll look at the repository first.", tc("call_0", "str_replace_editor", `{"command":"view","path":"/repo"}`)),
		},
		{
			name: "v7 ids on several calls",
			in:   `[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Paris"}[TOOL_CALLS]get_weather[CALL_ID]f5g6h7i8j[ARGS]{"city": "Rome"}</s>`,
			want: calls("", tc("a1b2c3d4e", "get_weather", `{"city":"Paris"}`), tc("f5g6h7i8j", "get_weather", `{"city":"Rome"}`)),
		},
		{
			name: "arguments as a JSON string in the v3 list",
			in:   `[TOOL_CALLS][{"name": "f", "arguments": "{\"a\": 1}"}]`,
			want: calls("", tc("call_0", "f", `{"a":1}`)),
		},
		{
			name: "code fence after the token",
			in:   "[TOOL_CALLS]```json\n[{\"name\": \"search\", \"arguments\": {\"q\": \"mistral\"}}]\n```",
			want: calls("", tc("call_0", "search", `{"q":"mistral"}`)),
		},
		{
			name: "token dropped by the server, content before the list",
			in:   "Sure, let me check.\n[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]",
			want: calls("Sure, let me check.", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "Magistral: [THINK] block, content, call",
			in:   "[THINK]The user wants Paris weather.[/THINK]Checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}",
			want: withReasoning(calls("Checking.", tc("call_0", "get_weather", `{"city":"Paris"}`)), "The user wants Paris weather."),
		},
		{
			name:    "a call object without [TOOL_CALLS]",
			in:      `{"name": "get_weather", "arguments": {"city": "Paris"}}`,
			wantErr: "does not follow [TOOL_CALLS]",
			want:    failed(),
		},
		{
			name:    "a name with spaces",
			in:      `[TOOL_CALLS]get weather[ARGS]{"city": "Paris"}`,
			wantErr: "is not a function name",
			want:    failed(),
		},
		{
			name:    "raw line break in v11 arguments",
			in:      "[TOOL_CALLS]bash[ARGS]{\"command\": \"ls\ncat a.txt\"}",
			wantErr: `write line breaks and tabs inside JSON strings as \n and \t`,
			want:    failed(),
		},
		{
			name:    "v3 list cut off",
			in:      `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Par`,
			wantErr: "invalid JSON in the list of calls",
			want:    failed(),
		},
	})
}
