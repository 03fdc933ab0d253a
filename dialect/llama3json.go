package dialect

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Llama3JSON returns the "llama3_json" dialect of Llama 3.1/3.2/3.3 JSON
// tool calling: a bare JSON object per call,
//
//	{"name": "get_weather", "parameters": {"city": "Paris"}}
//
// ("arguments" is accepted for "parameters"), optionally after the
// <|python_tag|> token, several separated by ";" (or given as a JSON array).
// An object counts as a call when it has a "name" and "parameters" or
// "arguments"; prose around it is kept as the action's text. After
// <|python_tag|>, a built-in tool call in Python syntax
// (brave_search.call(query="…")) is accepted too. Text without such an
// object is the final answer (Kind text); text that starts like a call
// object but is not valid JSON is a parse error.
//
// Results come back as one role "tool" message per call, with the call's
// generated id and the tool name: the Llama 3.x chat templates render role
// "tool" as the ipython turn the models were trained on. (Strict
// OpenAI-style servers reject role "tool" messages not preceded by native
// tool_calls; use the native dialect there.)
func Llama3JSON() Dialect { return llama3JSON{} }

type llama3JSON struct{}

const llamaHint = `{"name": "function name", "parameters": {"argument name": value}} for a call (several separated by ";"), or plain text for the final answer`

func (llama3JSON) Name() string { return "llama3_json" }

func (llama3JSON) SystemPrompt(tools []retrain.ToolSpec) string {
	if len(tools) == 0 {
		return noToolsPrompt
	}
	var b strings.Builder
	b.WriteString(framing)
	b.WriteString("\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n")
	b.WriteString(`Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.`)
	b.WriteString("\n\n")
	for _, t := range tools {
		b.WriteString(indentJSON(openAITool(t), "    "))
		b.WriteString("\n\n")
	}
	b.WriteString(`To call several functions at once, separate the JSON objects with ";". The results come back as tool messages, in the order of the calls. When you have the final answer, reply with it as plain text, without any JSON function call.`)
	return b.String()
}

func (llama3JSON) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags)
	if problem != "" {
		return failAction(text, reasoning, problem, llamaHint)
	}
	body := trimContent(rest)
	if i := strings.Index(body, pythonTag); i >= 0 {
		before, after := body[:i], stripFence(body[i+len(pythonTag):])
		t := strings.TrimSpace(after)
		if t == "" {
			return failAction(text, reasoning, "nothing follows <|python_tag|>", llamaHint)
		}
		if t[0] == '{' || (t[0] == '[' && !looksLikePyCall(t)) {
			calls, tail, p := callsFromJSON(t, 0)
			if p != "" {
				return failAction(text, reasoning, p, llamaHint)
			}
			return callAction(text, reasoning, joinContent(before, tail), calls)
		}
		calls, tail, err := parsePyCalls(t)
		if err != nil {
			return failAction(text, reasoning, "after <|python_tag|>, expected a JSON call object or a Python call: "+err.Error(), llamaHint)
		}
		return callAction(text, reasoning, joinContent(before, tail), calls)
	}
	s := stripFence(body)
	if at := findJSONCall(s); at >= 0 {
		calls, tail, p := callsFromJSON(s[at:], 0)
		if p != "" {
			return failAction(text, reasoning, p, llamaHint)
		}
		return callAction(text, reasoning, joinContent(s[:at], tail), calls)
	}
	// A reply that starts like a call object but does not decode is a
	// malformed call (cut off, bad JSON), not an answer.
	if t := strings.TrimSpace(s); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && strings.Contains(t, `"name"`) {
		if _, _, err := nextJSON(t); err != nil {
			return failAction(text, reasoning, "invalid JSON in the call: "+err.Error(), llamaHint)
		}
	}
	return textAction(text, reasoning, body)
}

// maxJSONCandidates bounds how many places findJSONCall tries, so that
// text full of brackets costs linear time.
const maxJSONCandidates = 64

// findJSONCall returns the offset of the first top-level JSON call object
// in s (or of a JSON array of them), or -1. Objects nested in a larger JSON
// value are not calls.
func findJSONCall(s string) int {
	tries := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' && s[i] != '[' {
			continue
		}
		// Cheap test first: an object opens with a key, a list of calls
		// with an object.
		j := i + 1
		for j < len(s) && strings.IndexByte(" \t\r\n", s[j]) >= 0 {
			j++
		}
		if j >= len(s) || (s[j] != '"' && !(s[i] == '[' && s[j] == '{')) {
			continue
		}
		if tries++; tries > maxJSONCandidates {
			return -1
		}
		end := valueEnd(s[i:])
		if end < 0 {
			continue
		}
		if v := json.RawMessage(s[i : i+end]); json.Valid(v) && isCallShaped(v) {
			return i
		}
		i += end - 1
	}
	return -1
}

// valueEnd returns the length of the bracketed JSON-like value at the start
// of s, counting brackets outside strings, or -1 when it is not closed.
func valueEnd(s string) int {
	depth, inString, escaped := 0, false, false
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return k + 1
			}
		}
	}
	return -1
}

// isCallShaped reports whether v is a JSON object with a "name" and
// "parameters" or "arguments" (or the OpenAI {"function": {…}} shape), or
// a non-empty array of such objects.
func isCallShaped(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil || len(items) == 0 {
			return false
		}
		for _, it := range items {
			if !isCallShaped(it) {
				return false
			}
		}
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return false
	}
	if f, ok := m["function"]; ok && m["name"] == nil {
		return isCallShaped(f)
	}
	var name string
	if json.Unmarshal(m["name"], &name) != nil || name == "" {
		return false
	}
	_, p := m["parameters"]
	_, a := m["arguments"]
	return p || a
}

func (d llama3JSON) AssistantMessage(action retrain.Action) retrain.Message {
	return assistantText(action, d.render)
}

// render writes an action built in code as the Llama 3.1 template does.
func (llama3JSON) render(a retrain.Action) string {
	var b strings.Builder
	b.WriteString(thinkPrefix(a.Reasoning))
	b.WriteString(a.Text)
	if a.Kind != retrain.ActionToolCall {
		return b.String()
	}
	if a.Text != "" {
		b.WriteString("\n")
	}
	for i, c := range a.ToolCalls {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(`{"name": ` + jsonString(c.Name) + `, "parameters": ` + argsText(c.Arguments) + `}`)
	}
	return b.String()
}

func (llama3JSON) ToolResults(results []retrain.ToolResult) []retrain.Message {
	return toolMessages(results)
}

func (llama3JSON) Feedback(text string) retrain.Message { return userFeedback(text) }
