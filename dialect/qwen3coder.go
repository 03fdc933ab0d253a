package dialect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Qwen3Coder returns the "qwen3_coder" dialect of Qwen3-Coder (and
// Qwen3.5-style XML tool calls): one XML-like block per call,
//
//	<tool_call>
//	<function=get_weather>
//	<parameter=city>
//	Paris
//	</parameter>
//	</function>
//	</tool_call>
//
// A parameter's value loses one leading and one trailing newline; it is
// then decoded as JSON when it is valid JSON (numbers, booleans, null,
// arrays, objects, quoted strings) and kept as a string otherwise. A
// missing </parameter> is tolerated before the next <parameter=…> or
// </function> (as vLLM does), a missing </tool_call> after a closed
// </function>, and a <function=…> block without the <tool_call> wrapper.
// Text outside the blocks is the action's text; <think>…</think> is the
// reasoning. Output with no <function=…> block is the final answer.
//
// Results come back as one user message holding one
// <tool_response>…</tool_response> block per call, as in the Hermes
// dialect (and as the Qwen3-Coder chat template renders role "tool").
func Qwen3Coder() Dialect { return qwen3Coder{} }

type qwen3Coder struct{}

const qwenCoderHint = "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter>\nvalue\n</parameter>\n</function>\n</tool_call> for each call, or plain text for the final answer"

// Qwen3-Coder tags.
const (
	functionOpen  = "<function="
	functionClose = "</function>"
	paramOpen     = "<parameter="
	paramClose    = "</parameter>"
	toolCallOpen  = "<tool_call>"
	toolCallClose = "</tool_call>"
)

func (qwen3Coder) Name() string { return "qwen3_coder" }

func (qwen3Coder) SystemPrompt(tools []retrain.ToolSpec) string {
	if len(tools) == 0 {
		return noToolsPrompt
	}
	var b strings.Builder
	b.WriteString(framing)
	b.WriteString("\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>")
	for _, t := range tools {
		b.WriteString("\n<function>\n<name>" + t.Name + "</name>\n<description>" + strings.TrimSpace(t.Description) + "</description>\n<parameters>" + pyJSON(schemaOf(t)) + "</parameters>\n</function>")
	}
	b.WriteString("\n</tools>\n\n")
	b.WriteString("If you choose to call a function ONLY reply in the following format with NO suffix:\n\n")
	b.WriteString("<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n")
	b.WriteString("<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n- Write numbers, booleans, arrays and objects as JSON; write strings as they are\n- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after\n- You may call several functions, one <tool_call> block each; the results come back inside <tool_response></tool_response> tags, in the order of the calls\n- When you have the final answer, reply with it as plain text, without any function call\n</IMPORTANT>")
	return b.String()
}

func (qwen3Coder) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags)
	if problem != "" {
		return failAction(text, reasoning, problem, qwenCoderHint)
	}
	body := trimContent(rest)
	var calls []retrain.ToolCall
	var content []string
	s := body
	for {
		i := strings.Index(s, toolCallOpen)
		f := strings.Index(s, functionOpen)
		if i < 0 && f < 0 {
			content = append(content, s)
			break
		}
		if i >= 0 && (f < 0 || i < f) {
			// <tool_call> … </tool_call>, holding one or more functions.
			content = append(content, s[:i])
			inner, after, closed := strings.Cut(s[i+len(toolCallOpen):], toolCallClose)
			if !strings.Contains(inner, functionOpen) {
				p := "the <tool_call> block holds no <function=…> block"
				if !closed {
					p = "the <tool_call> block is not closed and holds no <function=…> block (was the output cut off?)"
				}
				return failAction(text, reasoning, ordinal(len(calls))+": "+p, qwenCoderHint)
			}
			for {
				f := strings.Index(inner, functionOpen)
				if f < 0 {
					content = append(content, inner)
					break
				}
				content = append(content, inner[:f])
				c, tail, p := qwenFunction(inner[f:], closed, len(calls))
				if p != "" {
					return failAction(text, reasoning, p, qwenCoderHint)
				}
				calls = append(calls, c)
				inner = tail
			}
			s = after
			continue
		}
		// A <function=…> block without the <tool_call> wrapper.
		content = append(content, s[:f])
		c, tail, p := qwenFunction(s[f:], false, len(calls))
		if p != "" {
			return failAction(text, reasoning, p, qwenCoderHint)
		}
		calls = append(calls, c)
		s = tail
		if t, ok := strings.CutPrefix(strings.TrimLeft(s, " \t\r\n"), toolCallClose); ok {
			s = t
		}
	}
	if len(calls) == 0 {
		return textAction(text, reasoning, body)
	}
	return callAction(text, reasoning, joinContent(content...), calls)
}

// qwenFunction reads the <function=…> block at the start of s and returns
// its call and the text after it. n is the call's index, for messages.
// bounded says s ends where a closing </tool_call> was found, so that a
// missing </function> is tolerated there.
func qwenFunction(s string, bounded bool, n int) (call retrain.ToolCall, tail, problem string) {
	s = s[len(functionOpen):]
	gt := strings.IndexByte(s, '>')
	if gt < 0 || strings.Contains(s[:gt], "\n") {
		return call, "", fmt.Sprintf("%s: the <function=…> tag is not closed with \">\" after the function name", ordinal(n))
	}
	name := strings.TrimSpace(s[:gt])
	if name == "" {
		return call, "", fmt.Sprintf("%s: the function name is empty", ordinal(n))
	}
	s = s[gt+1:]
	end, next := len(s), len(s)
	if j := strings.Index(s, functionClose); j >= 0 {
		end, next = j, j+len(functionClose)
	} else if !bounded {
		return call, "", fmt.Sprintf("%s (%s): the <function=%s> block is not closed with </function> (was the output cut off?)", ordinal(n), name, name)
	}
	if j := strings.Index(s, functionOpen); j >= 0 && j < end {
		if !bounded {
			return call, "", fmt.Sprintf("%s (%s): the <function=%s> block is not closed with </function> before the next <function=…>", ordinal(n), name, name)
		}
		end, next = j, j
	}
	args, p := qwenParams(s[:end])
	if p != "" {
		return call, "", fmt.Sprintf("%s (%s): %s", ordinal(n), name, p)
	}
	return retrain.ToolCall{Name: name, Arguments: json.RawMessage(args)}, s[next:], ""
}

// qwenParams reads the <parameter=…> blocks of one function's body into a
// JSON object.
func qwenParams(body string) (string, string) {
	var o object
	consumed, closeAt := 0, -2 // closeAt: offset in the original body of the next </parameter>
	for {
		i := strings.Index(body, paramOpen)
		if i < 0 {
			return o.json(), ""
		}
		body = body[i+len(paramOpen):]
		consumed += i + len(paramOpen)
		gt := strings.IndexByte(body, '>')
		if gt < 0 || strings.Contains(body[:gt], "\n") {
			return "", "a <parameter=…> tag is not closed with \">\" after the parameter name"
		}
		name := strings.TrimSpace(body[:gt])
		if name == "" {
			return "", "a parameter name is empty"
		}
		body = body[gt+1:]
		end, next := len(body), len(body)
		if closeAt == -2 || (closeAt >= 0 && closeAt < consumed+gt+1) {
			// Search again only once passed, so that many unclosed
			// parameters cost linear time.
			closeAt = -1
			if j := strings.Index(body, paramClose); j >= 0 {
				closeAt = consumed + gt + 1 + j
			}
		}
		consumed += gt + 1
		if closeAt >= 0 {
			end, next = closeAt-consumed, closeAt-consumed+len(paramClose)
		}
		if j := strings.Index(body[:end], paramOpen); j >= 0 {
			end, next = j, j
		}
		o.set(name, qwenValue(body[:end]))
		body = body[next:]
		consumed += next
	}
}

// qwenValue turns a parameter's text into JSON: one surrounding newline is
// trimmed, valid JSON is kept as such, anything else becomes a string.
func qwenValue(v string) string {
	v = strings.TrimPrefix(v, "\n")
	v = strings.TrimSuffix(v, "\n")
	if t := strings.TrimSpace(v); t != "" && json.Valid([]byte(t)) {
		var b bytes.Buffer
		if json.Compact(&b, []byte(t)) == nil {
			return string(validUTF8(b.Bytes()))
		}
	}
	return jsonString(v)
}

func (d qwen3Coder) AssistantMessage(action retrain.Action) retrain.Message {
	return assistantText(action, d.render)
}

// render writes an action built in code as the Qwen3-Coder template does
// (strings as they are, other values as JSON).
func (qwen3Coder) render(a retrain.Action) string {
	return renderBlocks(a, func(c retrain.ToolCall) string {
		var b strings.Builder
		b.WriteString("<tool_call>\n<function=" + c.Name + ">\n")
		dec := json.NewDecoder(bytes.NewReader(c.Arguments))
		if tok, err := dec.Token(); err == nil && tok == json.Delim('{') {
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					break
				}
				var raw json.RawMessage
				if dec.Decode(&raw) != nil {
					break
				}
				v := string(compactJSON(raw))
				var s string
				if json.Unmarshal(raw, &s) == nil && !json.Valid([]byte(strings.TrimSpace(s))) {
					v = s
				}
				b.WriteString("<parameter=" + k.(string) + ">\n" + v + "\n</parameter>\n")
			}
		}
		b.WriteString("</function>\n</tool_call>")
		return b.String()
	})
}

func (qwen3Coder) ToolResults(results []retrain.ToolResult) []retrain.Message {
	return toolResponses(results)
}

func (qwen3Coder) Feedback(text string) retrain.Message { return userFeedback(text) }
