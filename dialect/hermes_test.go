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

// TestHermesParseRealOutputs holds outputs of Qwen2.5/Qwen3/QwQ and Hermes
// models seen in vLLM's tests and in bug reports, malformed ones included.
func TestHermesParseRealOutputs(t *testing.T) {
	runParseCases(t, Hermes(), []parseCase{
		{
			name: "QwQ thinking in Chinese, call, trailing white space (vLLM test)",
			in:   "好的，用户需要燃气轮机的参数。\n</think>\n\n<tool_call>\n{\"name\": \"internet_search\", \"arguments\": {\"question\": \"5MW燃气轮机设计参数 空气流量\"}}\n</tool_call>\n\n ",
			want: withReasoning(calls("", tc("call_0", "internet_search", `{"question":"5MW燃气轮机设计参数 空气流量"}`)), "好的，用户需要燃气轮机的参数。"),
		},
		{
			name: "boolean argument, no white space around the JSON (vLLM bug 19056)",
			in:   "<tool_call>{\"name\": \"final_answer\", \"arguments\": {\"trigger\": true}}</tool_call><|im_end|>\n<|endoftext|>",
			want: calls("", tc("call_0", "final_answer", `{"trigger":true}`)),
		},
		{
			name: "parameters instead of arguments (Hermes 2 Pro on Llama 3)",
			in:   "<tool_call>\n{\"name\": \"get_stock_price\", \"parameters\": {\"symbol\": \"NVDA\"}}\n</tool_call>",
			want: calls("", tc("call_0", "get_stock_price", `{"symbol":"NVDA"}`)),
		},
		{
			name: "arguments as a JSON string (OpenAI wire form imitated)",
			in:   "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}\n</tool_call>",
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "code fence inside the tags (Qwen2.5-Coder)",
			in:   "<tool_call>\n```json\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"main.go\"}}\n```\n</tool_call>",
			want: calls("", tc("call_0", "read_file", `{"path":"main.go"}`)),
		},
		{
			name: "closing tag missing between parallel calls",
			in:   "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>",
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris"}`), tc("call_1", "get_weather", `{"city":"Rome"}`)),
		},
		{
			name: "text after the calls is kept",
			in:   "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"Go 1.22 release\"}}\n</tool_call>\n\nI'll summarize once the results arrive.<|im_end|>",
			want: calls("I'll summarize once the results arrive.", tc("call_0", "search", `{"query":"Go 1.22 release"}`)),
		},
		{
			name: "a hallucinated tool response stays in the text; the call runs",
			in:   "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n<tool_response>\n{\"temp\": 3}\n</tool_response>",
			want: calls("<tool_response>\n{\"temp\": 3}\n</tool_response>", tc("call_0", "get_weather", `{"city":"Oslo"}`)),
		},
		{
			name: "escapes and unicode escapes are kept as written",
			in:   "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"caf\\u00e9 \\\"best\\\"\\ttab\"}}\n</tool_call>",
			want: calls("", tc("call_0", "search", `{"query":"caf\u00e9 \"best\"\ttab"}`)),
		},
		{
			name: "a JSON answer that is not a call is an answer",
			in:   "{\"temperature\": 22, \"unit\": \"celsius\"}",
			want: answer("{\"temperature\": 22, \"unit\": \"celsius\"}"),
		},
		{
			name:    "call in a code fence without tags (Qwen2.5-Coder)",
			in:      "```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n```",
			wantErr: "is not inside <tool_call></tool_call> tags",
			want:    failed(),
		},
		{
			name:    "bare call after prose, without tags",
			in:      "<think>\nI need the weather.\n</think>\n\nLet me check.\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
			wantErr: "is not inside <tool_call></tool_call> tags",
			want:    withReasoning(failed(), "I need the weather."),
		},
		{
			name:    "raw line break inside a JSON string",
			in:      "<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"import os\nprint(os.getcwd())\"}}\n</tool_call>",
			wantErr: `write line breaks and tabs inside JSON strings as \n and \t`,
			want:    failed(),
		},
		{
			name:    "single quotes (Hermes 2 Pro)",
			in:      "<tool_call>\n{'arguments': {'symbol': 'TSLA'}, 'name': 'get_stock_fundamentals'}\n</tool_call>",
			wantErr: "double quotes, not single quotes",
			want:    failed(),
		},
		{
			name:    "Python literals in the arguments",
			in:      "<tool_call>\n{\"name\": \"set_flag\", \"arguments\": {\"enabled\": True}}\n</tool_call>",
			wantErr: "not True, False and None",
			want:    failed(),
		},
		{
			name:    "trailing comma",
			in:      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1,}}\n</tool_call>",
			wantErr: "no trailing comma",
			want:    failed(),
		},
		{
			name:    "extra closing brace (reported with QwQ)",
			in:      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}}\n</tool_call>",
			wantErr: "unexpected text after the JSON object",
			want:    failed(),
		},
		{
			name:    "second of two calls cut off",
			in:      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"g\", \"arguments\": {\"b\":",
			wantErr: "tool call 2: invalid JSON",
			want:    failed(),
		},
	})
}
