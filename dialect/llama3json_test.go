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
			wantErr: "not complete (was the output cut off?)",
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

// TestLlama3JSONParseRealOutputs holds outputs of Llama 3.1/3.2/3.3 and
// Llama 4 seen in vLLM's tests, Meta's prompt-format notes and bug
// reports, malformed ones included.
func TestLlama3JSONParseRealOutputs(t *testing.T) {
	runParseCases(t, Llama3JSON(), []parseCase{
		{
			name: "call between prose (vLLM test)",
			in:   `Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?`,
			want: calls("Here is the result:\n\nWould you like to know more?", tc("call_0", "getOpenIncidentsTool", `{}`)),
		},
		{
			name: "three calls separated by semicolons, with surrounding text (vLLM test)",
			in:   `Here are the results: {"name": "searchTool", "parameters": {"query": "test1"}}; {"name": "getOpenIncidentsTool", "parameters": {}}; {"name": "searchTool", "parameters": {"query": "test2"}} Would you like to know more?`,
			want: calls("Here are the results:\n\nWould you like to know more?",
				tc("call_0", "searchTool", `{"query":"test1"}`), tc("call_1", "getOpenIncidentsTool", `{}`), tc("call_2", "searchTool", `{"query":"test2"}`)),
		},
		{
			name: "calls separated by prose",
			in:   "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\nand then\n{\"name\": \"get_time\", \"parameters\": {\"tz\": \"Europe/Paris\"}}",
			want: calls("and then", tc("call_0", "get_weather", `{"city":"Paris"}`), tc("call_1", "get_time", `{"tz":"Europe/Paris"}`)),
		},
		{
			name: "call in a code fence after prose (Llama 3.2 3B)",
			in:   "I'll search the web for that.\n```json\n{\"name\": \"query_web_search\", \"parameters\": {\"query\": \"install ollama models\"}}\n```",
			want: calls("I'll search the web for that.", tc("call_0", "query_web_search", `{"query":"install ollama models"}`)),
		},
		{
			name: "ipython mode with type function (Llama 3.1 70B)",
			in:   `<|python_tag|>{"type": "function", "name": "get_weather", "parameters": {"location": "San Francisco, CA"}}<|eom_id|>`,
			want: calls("", tc("call_0", "get_weather", `{"location":"San Francisco, CA"}`)),
		},
		{
			name: "custom tool in Python syntax after the tag (Llama 3.3 70B)",
			in:   `<|python_tag|>get_weather(location="San Francisco, CA", unit="celsius")<|eom_id|>`,
			want: calls("", tc("call_0", "get_weather", `{"location":"San Francisco, CA","unit":"celsius"}`)),
		},
		{
			name: "Python call whose tag the server dropped",
			in:   `get_weather(location="Menlo Park, CA")`,
			want: calls("", tc("call_0", "get_weather", `{"location":"Menlo Park, CA"}`)),
		},
		{
			name: "fenced JSON after the tag",
			in:   "<|python_tag|>```json\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\n```",
			want: calls("", tc("call_0", "f", `{"a":1}`)),
		},
		{
			name: "Llama 3.1 function-tag format (Meta's custom tool prompt)",
			in:   `<function=spotify_trending_songs>{"n": "5"}</function>`,
			want: calls("", tc("call_0", "spotify_trending_songs", `{"n":"5"}`)),
		},
		{
			name: "function-tag format, two calls, closing tag cut by a stop sequence",
			in:   "Let me look.\n<function=get_weather>{\"city\": \"Paris\"}</function>\n<function=get_time>{}",
			want: calls("Let me look.", tc("call_0", "get_weather", `{"city":"Paris"}`), tc("call_1", "get_time", `{}`)),
		},
		{
			name: "parameters as an escaped JSON string",
			in:   `{"name": "MonthlyVarianceSQL", "parameters": "{\"month\": 8, \"year\": 2025}"}`,
			want: calls("", tc("call_0", "MonthlyVarianceSQL", `{"month":8,"year":2025}`)),
		},
		{
			name: "OpenAI shape with stringified arguments",
			in:   `{"type": "function", "function": {"name": "Bash", "arguments": "{\"command\": \"echo hello\", \"timeout\": 12000}"}}`,
			want: calls("", tc("call_0", "Bash", `{"command":"echo hello","timeout":12000}`)),
		},
		{
			name: "a function tag inside a JSON argument is not a call",
			in:   `{"name": "write_file", "parameters": {"path": "doc.md", "content": "Llama 3.1 also writes <function=name>{...}</function>"}}`,
			want: calls("", tc("call_0", "write_file", `{"path":"doc.md","content":"Llama 3.1 also writes <function=name>{...}</function>"}`)),
		},
		{
			name: "a Python dict with a name in an answer is not a call",
			in:   "The function returns {'name': 'Alice', 'age': 30}.",
			want: answer("The function returns {'name': 'Alice', 'age': 30}."),
		},
		{
			name:    "call after prose, cut off",
			in:      `Let me check the weather: {"name": "get_weather", "parameters": {"city": "Par`,
			wantErr: "not complete (was the output cut off?)",
			want:    failed(),
		},
		{
			name:    "call in Python-dict syntax after prose",
			in:      `I'll call {'name': 'search', 'parameters': {'q': 'llamas'}} now.`,
			wantErr: "double quotes, not single quotes",
			want:    failed(),
		},
		{
			name:    "built-in call cut off after the tag",
			in:      `<|python_tag|>brave_search.call(query="weather in Paris`,
			wantErr: "unterminated string",
			want:    failed(),
		},
		{
			name:    "code after the tag (code interpreter) is not a call",
			in:      "<|python_tag|>import math\nprint(math.sqrt(2))",
			wantErr: "expected a JSON call object or a Python call",
			want:    failed(),
		},
		{
			name:    "function tag without a closing tag before prose",
			in:      `<function=get_weather>{"city": "Paris"} and then I will answer`,
			wantErr: "not followed by </function>",
			want:    failed(),
		},
	})
}
