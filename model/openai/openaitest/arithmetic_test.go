package openaitest

import "testing"

func TestArithmeticResponder(t *testing.T) {
	msg := func(role, content string) Message { return Message{Role: role, Content: Content(content)} }
	smol := msg("system", "call tools with <tool>{...}</tool>; results come back in <result></result>")
	tests := []struct {
		name    string
		req     ChatRequest
		content string
		args    string // native call arguments, when one is expected
	}{
		{"smolagent call", ChatRequest{Messages: []Message{smol, msg("user", "What is 37 * 12 + 5?")}},
			`<tool>{"name": "calculator", "args": {"expression":"37 * 12 + 5"}}</tool>`, ""},
		{"smolagent answer", ChatRequest{Messages: []Message{smol, msg("user", "What is 2 * 3?"), msg("assistant", "<tool>…</tool>"), msg("user", "<result>6</result>")}},
			"<answer>6</answer>", ""},
		{"hermes call", ChatRequest{Messages: []Message{msg("system", "use <tool_call></tool_call>"), msg("user", "What is (1 + 2) / 3?")}},
			`<tool_call>{"name": "calculator", "arguments": {"expression":"(1 + 2) / 3"}}</tool_call>`, ""},
		{"hermes answer", ChatRequest{Messages: []Message{msg("user", "What is 2 * 3?"), msg("assistant", "x"), msg("user", "<tool_response>6</tool_response>")}},
			"<answer>6</answer>", ""},
		{"native call", ChatRequest{Messages: []Message{msg("user", "What is 2 * 3?")}, Tools: []Tool{{Type: "function"}}},
			"", `{"expression":"2 * 3"}`},
		{"native answer", ChatRequest{Messages: []Message{msg("user", "What is 2 * 3?"), msg("assistant", ""), msg("tool", "6")}},
			"<answer>6</answer>", ""},
		{"tool error: guess", ChatRequest{Messages: []Message{smol, msg("user", "What is 2 / 0?"), msg("assistant", "x"), msg("user", "<result>Error: division by zero</result>")}},
			"<answer>0</answer>", ""},
		{"word problem: guess", ChatRequest{Messages: []Message{smol, msg("user", "Tom has 16 eggs and eats 3. How many are left?")}},
			"<answer>3</answer>", ""},
		{"no dialect: guess", ChatRequest{Messages: []Message{msg("user", "What is 2 * 3?")}},
			"<answer>3</answer>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ArithmeticResponder(&tt.req)
			if r.Content != tt.content {
				t.Errorf("content %q, want %q", r.Content, tt.content)
			}
			if tt.args != "" && (len(r.ToolCalls) != 1 || r.ToolCalls[0].Function.Name != "calculator" || r.ToolCalls[0].Function.Arguments != tt.args) {
				t.Errorf("tool calls %+v, want calculator with %s", r.ToolCalls, tt.args)
			}
		})
	}
}
