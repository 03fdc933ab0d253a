package dialect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestQwen3CoderParse(t *testing.T) {
	runParseCases(t, Qwen3Coder(), []parseCase{
		{
			name: "one call",
			in:   "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris","days":3}`)),
		},
		{
			name: "multi-line code value keeps inner newlines",
			in:   "I'll write the file.\n\n<tool_call>\n<function=write_file>\n<parameter=path>\n/tmp/a.py\n</parameter>\n<parameter=content>\ndef f():\n    return {\"a\": 1}\n\n</parameter>\n</function>\n</tool_call>",
			want: calls("I'll write the file.", tc("call_0", "write_file", `{"path":"/tmp/a.py","content":"def f():\n    return {\"a\": 1}\n"}`)),
		},
		{
			name: "JSON values",
			in:   "<tool_call>\n<function=f>\n<parameter=flag>\ntrue\n</parameter>\n<parameter=opts>\n{\"a\": [1, 2], \"b\": null}\n</parameter>\n<parameter=ratio>\n-0.5\n</parameter>\n<parameter=quoted>\n\"42\"\n</parameter>\n<parameter=word>\nTrue\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "f", `{"flag":true,"opts":{"a":[1,2],"b":null},"ratio":-0.5,"quoted":"42","word":"True"}`)),
		},
		{
			name: "several calls",
			in:   "<tool_call>\n<function=a>\n</function>\n</tool_call>\n<tool_call>\n<function=b>\n<parameter=x>\nyes\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "a", `{}`), tc("call_1", "b", `{"x":"yes"}`)),
		},
		{
			name: "missing </parameter> tolerated",
			in:   "<tool_call>\n<function=f>\n<parameter=a>\n1\n<parameter=b>\ntext\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "f", `{"a":1,"b":"text"}`)),
		},
		{
			name: "missing </tool_call> after </function>",
			in:   "<tool_call>\n<function=f>\n<parameter=q>\nx\n</parameter>\n</function>\n",
			want: calls("", tc("call_0", "f", `{"q":"x"}`)),
		},
		{
			name: "missing </function> inside a closed tool_call",
			in:   "<tool_call>\n<function=f>\n<parameter=q>\nx\n</parameter>\n</tool_call>",
			want: calls("", tc("call_0", "f", `{"q":"x"}`)),
		},
		{
			name: "function without the tool_call wrapper",
			in:   "<function=list_files>\n<parameter=path>\n.\n</parameter>\n</function>",
			want: calls("", tc("call_0", "list_files", `{"path":"."}`)),
		},
		{
			name: "unicode and tags in values",
			in:   "<tool_call>\n<function=echo>\n<parameter=s>\nnaïve <b>ünïcödé</b> 😀\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "echo", `{"s":"naïve <b>ünïcödé</b> 😀"}`)),
		},
		{
			name: "think then call",
			in:   "<think>\nlist first\n</think>\n\n<tool_call>\n<function=ls>\n</function>\n</tool_call>",
			want: withReasoning(calls("", tc("call_0", "ls", `{}`)), "list first"),
		},
		{
			name: "plain answer",
			in:   "The file contains 3 functions.",
			want: answer("The file contains 3 functions."),
		},
		{
			name:    "cut off inside a value",
			in:      "<tool_call>\n<function=write_file>\n<parameter=content>\ndef f(",
			wantErr: "not closed with </function>",
			want:    failed(),
		},
		{
			name:    "tool_call without a function",
			in:      "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
			wantErr: "holds no <function=",
			want:    failed(),
		},
		{
			name:    "function tag not closed",
			in:      "<tool_call>\n<function=f\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>",
			wantErr: `not closed with ">"`,
			want:    failed(),
		},
		{
			name:    "empty function name",
			in:      "<tool_call>\n<function=>\n</function>\n</tool_call>",
			wantErr: "function name is empty",
			want:    failed(),
		},
	})
}

func TestQwen3CoderToolResults(t *testing.T) {
	got := Qwen3Coder().ToolResults([]retrain.ToolResult{{CallID: "call_0", Name: "ls", Output: "a.go\nb.go", Success: true}})
	want := []retrain.Message{{Role: retrain.RoleUser, Content: "<tool_response>\na.go\nb.go\n</tool_response>"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToolResults mismatch (-want +got):\n%s", diff)
	}
}

func TestQwen3CoderSystemPrompt(t *testing.T) {
	p := Qwen3Coder().SystemPrompt([]retrain.ToolSpec{weatherTool})
	for _, want := range []string{"<name>get_weather</name>", `"required": ["city"]`, "<function=example_function_name>", "<parameter=example_parameter_1>"} {
		if !strings.Contains(p, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, p)
		}
	}
}
