package dialect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestSmolAgentParse(t *testing.T) {
	runParseCases(t, SmolAgent(), []parseCase{
		{
			name: "one call",
			in:   `<tool>{"name": "get_weather", "args": {"city": "Paris"}}</tool>`,
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "arguments key, think block and prose before",
			in:   "<think>\nI need the weather.\n</think>\nLet me look it up.\n<tool>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"days\": 3}}\n</tool>",
			want: withReasoning(calls("Let me look it up.", tc("call_0", "get_weather", `{"city":"Zürich","days":3}`)), "I need the weather."),
		},
		{
			name: "reasoning tag",
			in:   "<reasoning>2+2 is 4</reasoning><answer>4</answer>",
			want: withReasoning(answer("4"), "2+2 is 4"),
		},
		{
			name: "several calls",
			in:   `<tool>{"name": "a", "args": {}}</tool>` + "\n" + `<tool>{"name": "b", "args": {"x": [1, {"y": "}"}]}}</tool>`,
			want: calls("", tc("call_0", "a", `{}`), tc("call_1", "b", `{"x":[1,{"y":"}"}]}`)),
		},
		{
			name: "no args",
			in:   `<tool>{"name": "now"}</tool>`,
			want: calls("", tc("call_0", "now", `{}`)),
		},
		{
			name: "braces and escaped quotes inside strings",
			in:   `<tool>{"name": "run", "args": {"code": "if x { print(\"} {\") }"}}</tool>`,
			want: calls("", tc("call_0", "run", `{"code":"if x { print(\"} {\") }"}`)),
		},
		{
			name:    "a closing tag inside a JSON string ends the block",
			in:      `<tool>{"name": "run", "args": {"code": "</tool>"}}</tool>`,
			wantErr: "tool call 1",
			want:    failed(),
		},
		{
			name: "escaped quotes and unicode",
			in:   `<tool>{"name": "echo", "args": {"s": "say \"hi\" \u00e9 😀 {}"}}</tool>`,
			want: calls("", tc("call_0", "echo", `{"s":"say \"hi\" \u00e9 😀 {}"}`)),
		},
		{
			name: "code fence inside the tag",
			in:   "<tool>\n```json\n{\"name\": \"f\", \"args\": {\"a\": 1}}\n```\n</tool>",
			want: calls("", tc("call_0", "f", `{"a":1}`)),
		},
		{
			name: "arguments as a JSON string",
			in:   `<tool>{"name": "f", "arguments": "{\"a\": 1}"}</tool>`,
			want: calls("", tc("call_0", "f", `{"a":1}`)),
		},
		{
			name: "answer trimmed",
			in:   "The capital is Paris.\n<answer>\n  Paris \n</answer>",
			want: answer("Paris"),
		},
		{
			name: "multiline answer",
			in:   "<answer>line 1\nline 2</answer>",
			want: answer("line 1\nline 2"),
		},
		{
			name: "tool wins over answer",
			in:   `<tool>{"name": "f", "args": {}}</tool><answer>guess</answer>`,
			want: calls("<answer>guess</answer>", tc("call_0", "f", `{}`)),
		},
		{
			name: "missing closing tag at the end, JSON complete",
			in:   `<tool>{"name": "f", "args": {"q": "x"}}`,
			want: calls("", tc("call_0", "f", `{"q":"x"}`)),
		},
		{
			name:    "missing closing tag, JSON cut off",
			in:      `<tool>{"name": "f", "args": {"q": "x`,
			wantErr: "not closed with </tool>",
			want:    failed(),
		},
		{
			name:    "neither tag",
			in:      "The answer is 4.",
			wantErr: "neither a <tool> block nor an <answer> block",
			want:    failed(),
		},
		{
			name:    "unclosed answer",
			in:      "<answer>4",
			wantErr: "</answer>",
			want:    failed(),
		},
		{
			name:    "bad JSON",
			in:      `<tool>{'name': 'f', 'args': {}}</tool>`,
			wantErr: "invalid JSON",
			want:    failed(),
		},
		{
			name:    "missing name",
			in:      `<tool>{"args": {"a": 1}}</tool>`,
			wantErr: `no "name"`,
			want:    failed(),
		},
		{
			name:    "arguments not an object",
			in:      `<tool>{"name": "f", "args": [1, 2]}</tool>`,
			wantErr: "must be a JSON object, got an array",
			want:    failed(),
		},
		{
			name:    "empty tool block",
			in:      `<tool>  </tool>`,
			wantErr: "empty",
			want:    failed(),
		},
		{
			name:    "extra closing brace",
			in:      `<tool>{"name": "f", "args": {}}}</tool>`,
			wantErr: "unexpected text after the JSON object",
			want:    failed(),
		},
		{
			name:    "unclosed think",
			in:      "<think>let me think about",
			wantErr: "<think> block is not closed",
			want:    withReasoning(failed(), "let me think about"),
		},
	})
}

func TestSmolAgentParseErrorShowsFormat(t *testing.T) {
	a := SmolAgent().Parse("hello", nil)
	for _, want := range []string{"Expected format", "<tool>", "<answer>"} {
		if !strings.Contains(a.ParseError, want) {
			t.Errorf("ParseError %q lacks %q", a.ParseError, want)
		}
	}
}

func TestSmolAgentToolResults(t *testing.T) {
	got := SmolAgent().ToolResults([]retrain.ToolResult{
		{CallID: "call_0", Name: "html", Output: "<b>bold</b> & \"quoted\"", Success: true},
		{CallID: "call_1", Name: "fail", Error: "no such city: <Atlantis>"},
	})
	want := []retrain.Message{{
		Role:    retrain.RoleUser,
		Content: "<result>&lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\"</result>\n<result>Error: no such city: &lt;Atlantis&gt;</result>",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToolResults mismatch (-want +got):\n%s", diff)
	}
	if got := SmolAgent().ToolResults(nil); got != nil {
		t.Errorf("ToolResults(nil) = %v, want nil", got)
	}
}

func TestSmolAgentSystemPrompt(t *testing.T) {
	p := SmolAgent().SystemPrompt([]retrain.ToolSpec{weatherTool})
	for _, want := range []string{"get_weather", "Get the current weather", `{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}`, `<tool>{"name": "tool_name", "args": {"arg": "value"}}</tool>`, "<answer>"} {
		if !strings.Contains(p, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, p)
		}
	}
	if p := SmolAgent().SystemPrompt(nil); !strings.Contains(p, "No tools") || strings.Contains(p, "<tool>") {
		t.Errorf("system prompt without tools = %q", p)
	}
}

// TestSmolAgentParseRealOutputs holds outputs of models prompted with the
// smolagent format, malformed ones included.
func TestSmolAgentParseRealOutputs(t *testing.T) {
	runParseCases(t, SmolAgent(), []parseCase{
		{
			name: "closing tag missing between calls",
			in:   "<tool>{\"name\": \"search\", \"args\": {\"q\": \"a\"}}\n<tool>{\"name\": \"search\", \"args\": {\"q\": \"b\"}}</tool>",
			want: calls("", tc("call_0", "search", `{"q":"a"}`), tc("call_1", "search", `{"q":"b"}`)),
		},
		{
			name: "parameters key and the OpenAI shape",
			in:   "<tool>{\"name\": \"a\", \"parameters\": {\"x\": 1}}</tool>\n<tool>{\"type\": \"function\", \"function\": {\"name\": \"b\", \"arguments\": \"{\\\"y\\\": 2}\"}}</tool>",
			want: calls("", tc("call_0", "a", `{"x":1}`), tc("call_1", "b", `{"y":2}`)),
		},
		{
			name: "a list of calls in one block",
			in:   `<tool>[{"name": "a", "args": {}}, {"name": "b", "args": {"k": "v"}}]</tool>`,
			want: calls("", tc("call_0", "a", `{}`), tc("call_1", "b", `{"k":"v"}`)),
		},
		{
			name: "prose after the call",
			in:   "<tool>{\"name\": \"calculator\", \"args\": {\"expression\": \"2+2\"}}</tool>\nWaiting for the result.",
			want: calls("Waiting for the result.", tc("call_0", "calculator", `{"expression":"2+2"}`)),
		},
		{
			name: "template-opened think, answer and end token",
			in:   "2+2 is 4.\n</think>\n<answer>4</answer><|im_end|>",
			want: withReasoning(answer("4"), "2+2 is 4."),
		},
		{
			name: "markup inside the answer",
			in:   "<answer>The answer is <b>4</b> (see <tool> docs).</answer>",
			want: answer("The answer is <b>4</b> (see <tool> docs)."),
		},
		{
			name: "two answers: the first counts",
			in:   "<answer>4</answer>\n<answer>four</answer>",
			want: answer("4"),
		},
		{
			name: "empty answer",
			in:   "<think>no idea</think><answer></answer>",
			want: withReasoning(answer(""), "no idea"),
		},
		{
			name:    "Hermes tags instead of <tool>",
			in:      "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n</tool_call>",
			wantErr: "found a <tool_call> block: in this format, write each call in a <tool> block",
			want:    failed(),
		},
		{
			name:    "raw line break inside a JSON string",
			in:      "<tool>{\"name\": \"python\", \"args\": {\"code\": \"x = 1\nprint(x)\"}}</tool>",
			wantErr: `write line breaks and tabs inside JSON strings as \n and \t`,
			want:    failed(),
		},
		{
			name:    "a bare answer without tags",
			in:      "<think>easy</think>\nThe answer is 4.",
			wantErr: "neither a <tool> block nor an <answer> block",
			want:    withReasoning(failed(), "easy"),
		},
	})
}
