package dialect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestHermesParse(t *testing.T) {
	runParseCases(t, Hermes(), []parseCase{
		{
			name: "Qwen2.5 single call",
			in:   "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"San Francisco, CA, USA\", \"unit\": \"celsius\"}}\n</tool_call>",
			want: calls("", tc("call_0", "get_current_temperature", `{"location":"San Francisco, CA, USA","unit":"celsius"}`)),
		},
		{
			name: "Qwen2.5 parallel calls",
			in:   "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"San Francisco, CA, USA\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_temperature_date\", \"arguments\": {\"location\": \"San Francisco, CA, USA\", \"date\": \"2024-10-01\"}}\n</tool_call>",
			want: calls("",
				tc("call_0", "get_current_temperature", `{"location":"San Francisco, CA, USA"}`),
				tc("call_1", "get_temperature_date", `{"location":"San Francisco, CA, USA","date":"2024-10-01"}`)),
		},
		{
			name: "Qwen3 thinking then call",
			in:   "<think>\nThe user wants the weather in Paris. I should call get_weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
			want: withReasoning(calls("", tc("call_0", "get_weather", `{"city":"Paris"}`)), "The user wants the weather in Paris. I should call get_weather."),
		},
		{
			name: "Qwen3 template opened the think block",
			in:   "Okay, 2+2.\n</think>\n\n2 + 2 = 4.",
			want: withReasoning(answer("2 + 2 = 4."), "Okay, 2+2."),
		},
		{
			name: "Qwen3 empty think, final answer",
			in:   "<think>\n\n</think>\n\nThe weather in Paris is sunny, 22°C.",
			want: answer("The weather in Paris is sunny, 22°C."),
		},
		{
			name: "text before and between calls",
			in:   "I'll check both cities.\n<tool_call>\n{\"name\": \"w\", \"arguments\": {\"c\": \"A\"}}\n</tool_call>\nand\n<tool_call>\n{\"name\": \"w\", \"arguments\": {\"c\": \"B\"}}\n</tool_call>",
			want: calls("I'll check both cities.\n\nand", tc("call_0", "w", `{"c":"A"}`), tc("call_1", "w", `{"c":"B"}`)),
		},
		{
			name: "Hermes 2 Pro key order",
			in:   "<tool_call>\n{\"arguments\": {\"symbol\": \"TSLA\"}, \"name\": \"get_stock_fundamentals\"}\n</tool_call><|im_end|>",
			want: calls("", tc("call_0", "get_stock_fundamentals", `{"symbol":"TSLA"}`)),
		},
		{
			name: "nested JSON with braces and escaped quotes in strings",
			in:   "<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"d = {\\\"a\\\": [1, 2]}\\nprint(d['a'])\", \"opts\": {\"timeout\": 5, \"env\": {\"X\": \"}\"}}}}\n</tool_call>",
			want: calls("", tc("call_0", "python", `{"code":"d = {\"a\": [1, 2]}\nprint(d['a'])","opts":{"timeout":5,"env":{"X":"}"}}}`)),
		},
		{
			name: "unicode",
			in:   "<tool_call>\n{\"name\": \"translate\", \"arguments\": {\"text\": \"日本語のテキスト\", \"to\": \"français\"}}\n</tool_call>",
			want: calls("", tc("call_0", "translate", `{"text":"日本語のテキスト","to":"français"}`)),
		},
		{
			name: "two objects in one block",
			in:   "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n{\"name\": \"b\", \"arguments\": {\"x\": 1}}\n</tool_call>",
			want: calls("", tc("call_0", "a", `{}`), tc("call_1", "b", `{"x":1}`)),
		},
		{
			name: "stop sequence removed the closing tag",
			in:   "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"go generics\"}}\n",
			want: calls("", tc("call_0", "search", `{"query":"go generics"}`)),
		},
		{
			name: "plain answer",
			in:   "The capital of France is Paris.",
			want: answer("The capital of France is Paris."),
		},
		{
			name: "tool_call inside the think block is not a call",
			in:   "<think>maybe <tool_call>{\"name\": \"x\"}</tool_call>? no.</think>No tool needed: 4.",
			want: withReasoning(answer("No tool needed: 4."), "maybe <tool_call>{\"name\": \"x\"}</tool_call>? no."),
		},
		{
			name:    "cut off inside the JSON",
			in:      "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"go gen",
			wantErr: "not closed with </tool_call>",
			want:    failed(),
		},
		{
			name:    "Python dict instead of JSON",
			in:      "<tool_call>\n{'name': 'search', 'arguments': {'query': 'x'}}\n</tool_call>",
			wantErr: "invalid JSON",
			want:    failed(),
		},
		{
			name:    "missing name",
			in:      "<tool_call>\n{\"arguments\": {\"query\": \"x\"}}\n</tool_call>",
			wantErr: `no "name"`,
			want:    failed(),
		},
		{
			name:    "arguments not an object",
			in:      "<tool_call>\n{\"name\": \"search\", \"arguments\": \"go generics\"}\n</tool_call>",
			wantErr: "must be a JSON object, got a string",
			want:    failed(),
		},
		{
			name:    "second call malformed",
			in:      "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": }}\n</tool_call>",
			wantErr: "tool call 2: invalid JSON",
			want:    failed(),
		},
		{
			name:    "empty block",
			in:      "<tool_call>\n</tool_call>",
			wantErr: "empty",
			want:    failed(),
		},
		{
			name:    "thinking cut off",
			in:      "<think>\nLet me consider the options",
			wantErr: "not closed",
			want:    withReasoning(failed(), "Let me consider the options"),
		},
	})
}

func TestHermesToolResults(t *testing.T) {
	got := Hermes().ToolResults([]retrain.ToolResult{
		{CallID: "call_0", Name: "w", Output: `{"temp": 22}`, Success: true},
		{CallID: "call_1", Name: "w", Error: "unknown city"},
	})
	want := []retrain.Message{{
		Role:    retrain.RoleUser,
		Content: "<tool_response>\n{\"temp\": 22}\n</tool_response>\n<tool_response>\nError: unknown city\n</tool_response>",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToolResults mismatch (-want +got):\n%s", diff)
	}
}

func TestHermesSystemPrompt(t *testing.T) {
	p := Hermes().SystemPrompt([]retrain.ToolSpec{weatherTool})
	for _, want := range []string{
		"<tools>\n" + `{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}` + "\n</tools>",
		"<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>",
		"plain text",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, p)
		}
	}
}
