package dialect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestLlama3JSONParse(t *testing.T) {
	runParseCases(t, Llama3JSON(), []parseCase{
		{
			name: "Llama 3.1 call",
			in:   `{"name": "get_current_conditions", "parameters": {"location": "San Francisco, CA", "unit": "Fahrenheit"}}`,
			want: calls("", tc("call_0", "get_current_conditions", `{"location":"San Francisco, CA","unit":"Fahrenheit"}`)),
		},
		{
			name: "python tag and end token",
			in:   `<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|eom_id|>`,
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "Llama 3.2 with type and arguments",
			in:   `{"type": "function", "name": "get_weather", "arguments": {"city": "Tokyo"}}`,
			want: calls("", tc("call_0", "get_weather", `{"city":"Tokyo"}`)),
		},
		{
			name: "several separated by semicolons",
			in:   `{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {"y": "z;{"}}`,
			want: calls("", tc("call_0", "a", `{"x":1}`), tc("call_1", "b", `{"y":"z;{"}`)),
		},
		{
			name: "array of calls",
			in:   `[{"name": "a", "parameters": {}}, {"name": "b", "parameters": {"k": null}}]`,
			want: calls("", tc("call_0", "a", `{}`), tc("call_1", "b", `{"k":null}`)),
		},
		{
			name: "prose before the call",
			in:   "I will look that up for you.\n\n{\"name\": \"search\", \"parameters\": {\"query\": \"население Москвы\"}}",
			want: calls("I will look that up for you.", tc("call_0", "search", `{"query":"население Москвы"}`)),
		},
		{
			name: "prose before the python tag",
			in:   `Here are some results: <|python_tag|>{"name": "search", "parameters": {"query": "weather"}}`,
			want: calls("Here are some results:", tc("call_0", "search", `{"query":"weather"}`)),
		},
		{
			name: "built-in tool in Python syntax",
			in:   `<|python_tag|>brave_search.call(query="current weather in Menlo Park, California")`,
			want: calls("", tc("call_0", "brave_search.call", `{"query":"current weather in Menlo Park, California"}`)),
		},
		{
			name: "fenced",
			in:   "```json\n{\"name\": \"f\", \"parameters\": {\"a\": \"b\"}}\n```",
			want: calls("", tc("call_0", "f", `{"a":"b"}`)),
		},
		{
			name: "escaped quotes and braces in strings",
			in:   `{"name": "sql", "parameters": {"q": "SELECT '{' AS \"x\" FROM t"}}`,
			want: calls("", tc("call_0", "sql", `{"q":"SELECT '{' AS \"x\" FROM t"}`)),
		},
		{
			name: "plain answer",
			in:   "The current temperature in Paris is 22 degrees.<|eot_id|>",
			want: answer("The current temperature in Paris is 22 degrees."),
		},
		{
			name: "JSON answer that is not a call",
			in:   `{"answer": 42, "unit": "km"}`,
			want: answer(`{"answer": 42, "unit": "km"}`),
		},
		{
			name: "object with a name but no parameters is an answer",
			in:   `{"name": "Alice", "age": 30}`,
			want: answer(`{"name": "Alice", "age": 30}`),
		},
		{
			name: "call inside a larger JSON value is not a call",
			in:   `{"examples": [{"name": "f", "parameters": {}}]}`,
			want: answer(`{"examples": [{"name": "f", "parameters": {}}]}`),
		},
		{
			name:    "cut off",
			in:      `{"name": "get_weather", "parameters": {"city": "Par`,
			wantErr: "invalid JSON",
			want:    failed(),
		},
		{
			name:    "parameters not an object",
			in:      `{"name": "get_weather", "parameters": "Paris"}`,
			wantErr: "must be a JSON object",
			want:    failed(),
		},
		{
			name:    "python tag with bad JSON",
			in:      `<|python_tag|>{"name": "f", "parameters": {a: 1}}`,
			wantErr: "invalid JSON",
			want:    failed(),
		},
		{
			name:    "python tag and nothing",
			in:      `<|python_tag|>`,
			wantErr: "nothing follows",
			want:    failed(),
		},
	})
}

func TestLlama3JSONToolResults(t *testing.T) {
	got := Llama3JSON().ToolResults([]retrain.ToolResult{
		{CallID: "call_0", Name: "get_weather", Output: "22C", Success: true},
		{CallID: "call_1", Name: "get_time", Error: "timeout"},
	})
	want := []retrain.Message{
		{Role: retrain.RoleTool, Content: "22C", ToolCallID: "call_0", Name: "get_weather"},
		{Role: retrain.RoleTool, Content: "Error: timeout", ToolCallID: "call_1", Name: "get_time"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToolResults mismatch (-want +got):\n%s", diff)
	}
}

func TestLlama3JSONSystemPrompt(t *testing.T) {
	p := Llama3JSON().SystemPrompt([]retrain.ToolSpec{weatherTool})
	for _, want := range []string{
		`Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.`,
		"{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",",
		`"required": [`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, p)
		}
	}
}
