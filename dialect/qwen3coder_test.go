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

// TestQwen3CoderParseRealOutputs holds outputs of Qwen3-Coder and Qwen3.5/
// 3.6 seen in vLLM's and SGLang's tests and bug reports, malformed ones
// included.
func TestQwen3CoderParseRealOutputs(t *testing.T) {
	runParseCases(t, Qwen3Coder(), []parseCase{
		{
			name: "content, then a call, no line break between (vLLM test)",
			in:   "Sure! Let me check the weather for you.<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n<parameter=state>\nTX\n</parameter>\n<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>",
			want: calls("Sure! Let me check the weather for you.", tc("call_0", "get_current_weather", `{"city":"Dallas","state":"TX","unit":"fahrenheit"}`)),
		},
		{
			name: "a JSON object over several lines (vLLM test)",
			in:   "<tool_call>\n<function=calculate_area>\n<parameter=shape>\nrectangle\n</parameter>\n<parameter=dimensions>\n{\"width\": 10, \n \"height\": 20}\n</parameter>\n<parameter=precision>\n2\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "calculate_area", `{"shape":"rectangle","dimensions":{"width":10,"height":20},"precision":2}`)),
		},
		{
			name: "parallel calls (vLLM test)",
			in:   "<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=get_current_weather>\n<parameter=city>\nOrlando\n</parameter>\n</function>\n</tool_call><|im_end|>",
			want: calls("", tc("call_0", "get_current_weather", `{"city":"Dallas"}`), tc("call_1", "get_current_weather", `{"city":"Orlando"}`)),
		},
		{
			name: "opening <tool_call> omitted after text (Qwen3-Coder 30B)",
			in:   "I'll list the files first.\n\n<function=list_files>\n<parameter=path>\n.\n</parameter>\n</function>\n</tool_call>",
			want: calls("I'll list the files first.", tc("call_0", "list_files", `{"path":"."}`)),
		},
		{
			name: "one line, no line breaks",
			in:   "<tool_call><function=f><parameter=a>1</parameter><parameter=b>x y</parameter></function></tool_call>",
			want: calls("", tc("call_0", "f", `{"a":1,"b":"x y"}`)),
		},
		{
			name: "a value holding a literal </parameter>",
			in:   "<tool_call>\n<function=write_file>\n<parameter=path>\nNOTES.md\n</parameter>\n<parameter=content>\nA parameter block ends with </parameter> here.\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "write_file", `{"path":"NOTES.md","content":"A parameter block ends with </parameter> here."}`)),
		},
		{
			name: "a value holding literal <tool_call> and </function> tags",
			in:   "<tool_call>\n<function=write_file>\n<parameter=content>\nwrap calls in <tool_call>…</tool_call>; end them with </function> here\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "write_file", `{"content":"wrap calls in <tool_call>…</tool_call>; end them with </function> here"}`)),
		},
		{
			name: "missing </parameter> before </function> in the first of two calls",
			in:   "<tool_call>\n<function=f>\n<parameter=a>\n1\n</function>\n</tool_call>\n<tool_call>\n<function=g>\n<parameter=b>\nx\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "f", `{"a":1}`), tc("call_1", "g", `{"b":"x"}`)),
		},
		{
			name: "missing </function> before the next <function=…>",
			in:   "<tool_call>\n<function=a>\n<parameter=x>\n1\n</parameter>\n<function=b>\n<parameter=y>\n2\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "a", `{"x":1}`), tc("call_1", "b", `{"y":2}`)),
		},
		{
			name: "Python-style list stays a string (no schema to convert it)",
			in:   "<tool_call>\n<function=search>\n<parameter=query>\n['python', 'tutorial']\n</parameter>\n</function>\n</tool_call>",
			want: calls("", tc("call_0", "search", `{"query":"['python', 'tutorial']"}`)),
		},
		{
			name:    "malformed end tag </parameter1> (Qwen3.6, SGLang issue 27336)",
			in:      "<tool_call>\n<function=get_weather>\n<parameter=city>\n上海\n</parameter1>\n</function>\n</tool_call>",
			wantErr: `ends with "</parameter1>" instead of </parameter>`,
			want:    failed(),
		},
		{
			name:    "a parameter given twice",
			in:      "<tool_call>\n<function=edit>\n<parameter=edits>\n[1]\n</parameter>\n<parameter=edits>\n[2]\n</parameter>\n</function>\n</tool_call>",
			wantErr: "the parameter edits is given twice",
			want:    failed(),
		},
		{
			name:    "unrendered template as the function name",
			in:      "<tool_call>\n<function={{ tool_call.name }}>\n</function>\n</tool_call>",
			wantErr: "is not a function name",
			want:    failed(),
		},
		{
			name:    "Hermes JSON call instead of XML",
			in:      "I'll check.\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
			wantErr: "is written as JSON: write it in the XML format",
			want:    failed(),
		},
		{
			name:    "JSON arguments inside the function block",
			in:      "<tool_call>\n<function=get_weather>\n{\"city\": \"Paris\"}\n</function>\n</tool_call>",
			wantErr: "unexpected text",
			want:    failed(),
		},
		{
			name:    "parameter name missing (vLLM issue 55495)",
			in:      "<tool_call>\n<function=bash>\n<parameter=\nls -la\n</parameter>\n</function>\n</tool_call>",
			wantErr: `not closed with ">" after the parameter name`,
			want:    failed(),
		},
	})
}
