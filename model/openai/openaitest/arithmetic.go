package openaitest

import (
	"encoding/json"
	"regexp"
	"strings"
)

// ArithmeticResponder is a Responder that plays arithmetic tasks with a
// calculator tool the obvious way, so that whole tool-using episodes run
// against the fake server. It is scripted, not a model.
//
//   - Before any tool result, when the task (the first user message) holds
//     an arithmetic expression ("What is 37 * 12 + 5?"), it calls the tool
//     "calculator" with {"expression": EXPR}, in the dialect the system
//     prompt describes (smolagent <tool>, Hermes <tool_call>), or as a
//     native tool call when tools are offered.
//   - After a tool result (a "tool" message, or a user message with a
//     <result> or <tool_response> block) it answers <answer>RESULT</answer>.
//   - With no expression (e.g. GSM8K word problems), or a failed tool call,
//     it answers the last number of the question: a fixed guess, usually
//     wrong.
func ArithmeticResponder(req *ChatRequest) Reply {
	var system, task, result string
	haveResult := false
	for i, m := range req.Messages {
		text := string(m.Content)
		switch {
		case m.Role == "system":
			system += text
		case m.Role == "user" && task == "":
			task = text
		case m.Role == "tool":
			result, haveResult = text, true
		case m.Role == "user" && i > 0:
			if ms := resultRe.FindAllStringSubmatch(text, -1); ms != nil {
				result, haveResult = ms[len(ms)-1][1], true
			}
		}
	}
	if haveResult {
		if n := numberRe.FindAllString(result, -1); len(n) > 0 && !strings.HasPrefix(strings.TrimSpace(result), "Error") {
			return Reply{Content: "<answer>" + n[len(n)-1] + "</answer>"}
		}
		return Reply{Content: "<answer>" + guess(task) + "</answer>"}
	}
	expr := findExpr(task)
	if expr == "" {
		return Reply{Content: "<answer>" + guess(task) + "</answer>"}
	}
	args, _ := json.Marshal(map[string]string{"expression": expr})
	switch {
	case len(req.Tools) > 0:
		return Reply{ToolCalls: []ToolCall{{Function: FunctionCall{Name: "calculator", Arguments: string(args)}}}}
	case strings.Contains(system, "<tool_call>"):
		return Reply{Content: `<tool_call>{"name": "calculator", "arguments": ` + string(args) + `}</tool_call>`}
	case strings.Contains(system, "<tool>"):
		return Reply{Content: `<tool>{"name": "calculator", "args": ` + string(args) + `}</tool>`}
	}
	return Reply{Content: "<answer>" + guess(task) + "</answer>"}
}

var (
	exprRunRe = regexp.MustCompile(`[\d\s+\-*/().^]+`)
	hasOpRe   = regexp.MustCompile(`\d[\s)]*[-+*/^][\s(]*[\d(]`)
	numberRe  = regexp.MustCompile(`-?\d[\d,]*(?:\.\d+)?`)
	resultRe  = regexp.MustCompile(`(?s)<(?:result|tool_response)>(.*?)</(?:result|tool_response)>`)
)

// findExpr returns the longest arithmetic expression in task, or "".
func findExpr(task string) string {
	best := ""
	for _, m := range exprRunRe.FindAllString(task, -1) {
		m = strings.TrimRight(strings.TrimSpace(m), ".")
		if hasOpRe.MatchString(m) && len(m) > len(best) {
			best = m
		}
	}
	return best
}

// guess is the answer without a tool result: the task's last number.
func guess(task string) string {
	n := numberRe.FindAllString(task, -1)
	if len(n) == 0 {
		return "0"
	}
	return strings.TrimRight(n[len(n)-1], ".,")
}
