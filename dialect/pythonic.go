package dialect

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
)

// Pythonic returns the "pythonic" dialect of Llama 3.2 and Llama 4: a
// Python list of calls with keyword arguments,
//
//	[get_weather(city="Paris"), f(x=1, y=[1, 2], z={"a": None}, flag=True)]
//
// Argument values are Python literals, turned into JSON: strings (either
// quote, triple quotes, escapes), ints, floats, True/False/None, lists,
// tuples (arrays), dicts (objects). Positional arguments, variables and
// nested calls are parse errors. Llama 4's <|python_start|>…<|python_end|>
// wrapper, a <|python_tag|> prefix, a code fence, and calls without the
// brackets (separated by commas or on lines of their own) are accepted; a
// list that starts the reply or ends it (Llama 4 often explains first)
// makes the prose around it the action's text. A call written as JSON is a
// parse error. Other text is the final answer (Kind text).
//
// Results come back as one role "tool" message per call, with the call's
// generated id and the tool name: the Llama chat templates render role
// "tool" as the ipython turn the models were trained on.
func Pythonic() Dialect { return pythonic{} }

type pythonic struct{}

const pythonicHint = `[func_name1(param_name1=value1, param_name2=value2), func_name2(param=value)] with Python literal values, or plain text for the final answer`

// Llama special tokens around Python tool calls.
const (
	pythonStart = "<|python_start|>"
	pythonEnd   = "<|python_end|>"
	pythonTag   = "<|python_tag|>"
)

func (pythonic) Name() string { return "pythonic" }

func (pythonic) SystemPrompt(tools []retrain.ToolSpec) string {
	return toolsPrompt(tools,
		"\n\nYou are an expert in composing functions. You are given a question and a set of possible functions. Based on the question, you will need to make one or more function/tool calls to achieve the purpose.\n\n"+
			"If you decide to invoke any of the function(s), you MUST put it in the format of [func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]\n"+
			"Write argument values as Python literals (strings in quotes, numbers, True/False/None, lists, dicts). You SHOULD NOT include any other text in a response that calls functions.\n\n"+
			"Here is a list of functions in JSON format that you can invoke.\n\n[\n",
		indentedToolJSON, ",\n",
		"\n]\n\nThe results come back as tool messages, in the order of the calls. When you have the final answer, reply with it as plain text, without any function call.")
}

func (pythonic) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags)
	if problem != "" {
		return failAction(text, reasoning, problem, pythonicHint)
	}
	body := trimContent(rest)
	for _, tag := range []string{pythonStart, pythonTag} {
		i := strings.Index(body, tag)
		if i < 0 {
			continue
		}
		inner, after, _ := strings.Cut(body[i+len(tag):], pythonEnd)
		calls, tail, err := parsePyCalls(stripFence(inner))
		if err != nil {
			return failAction(text, reasoning, "invalid call after "+tag+": "+err.Error(), pythonicHint)
		}
		if len(calls) == 0 {
			return failAction(text, reasoning, "no call after "+tag, pythonicHint)
		}
		return callAction(text, reasoning, joinContent(body[:i], tail, after), calls)
	}
	t := strings.TrimSpace(stripFence(body))
	if looksLikePyCall(t) {
		calls, tail, err := parsePyCalls(t)
		if err != nil {
			return failAction(text, reasoning, "invalid call: "+err.Error(), pythonicHint)
		}
		if len(calls) > 0 {
			return callAction(text, reasoning, joinContent(tail), calls)
		}
		return textAction(text, reasoning, body)
	}
	// A list of calls (in a code fence or not) after prose: it must end
	// the reply, or start it after the fence line.
	for i := strings.IndexByte(t, '['); i > 0; {
		if looksLikePyCall(t[i:]) {
			if calls, tail, err := parsePyCalls(t[i:]); err == nil && len(calls) > 0 {
				if before, after := unfence(t[:i], tail); trimContent(after) == "" || strings.TrimSpace(before) == "" {
					return callAction(text, reasoning, joinContent(before, after), calls)
				}
			}
			break
		}
		j := strings.IndexByte(t[i+1:], '[')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if call, ok := untaggedCall(body); ok {
		return failAction(text, reasoning, "the call "+snippet(call)+" is written as JSON: write calls in Python syntax", pythonicHint)
	}
	return textAction(text, reasoning, body)
}

// parsePyCalls parses "[call, …]" or bare "call, …" at the start of s and
// returns the calls and the text after them.
func parsePyCalls(s string) ([]retrain.ToolCall, string, error) {
	p := &pyParser{s: s}
	p.skipSpace()
	var calls []retrain.ToolCall
	var err error
	if p.peek() == '[' {
		calls, err = p.callList()
	} else {
		calls, err = p.bareCalls()
	}
	if err != nil {
		return nil, s, err
	}
	return calls, p.s[p.i:], nil
}

// looksLikePyCall reports whether s starts like a Python call, bracketed or
// not: name( followed by ")" or "keyword=". Such text is taken as an
// attempted call, so a syntax error in it is a parse error, not an answer.
func looksLikePyCall(s string) bool {
	p := &pyParser{s: s}
	p.skipSpace()
	if p.peek() == '[' {
		p.i++
		p.skipSpace()
	}
	if p.funcName() == "" {
		return false
	}
	p.skipSpace()
	if p.peek() != '(' {
		return false
	}
	p.i++
	p.skipSpace()
	if p.peek() == ')' {
		return true
	}
	if p.ident() == "" {
		return false
	}
	p.skipSpace()
	return p.peek() == '=' && !strings.HasPrefix(p.s[p.i:], "==")
}

func (d pythonic) AssistantMessage(action retrain.Action) retrain.Message {
	return assistantText(action, d.render)
}

// render writes an action built in code as a Python list of calls.
func (pythonic) render(a retrain.Action) string {
	var b strings.Builder
	b.WriteString(thinkPrefix(a.Reasoning))
	if a.Kind != retrain.ActionToolCall {
		b.WriteString(a.Text)
		return b.String()
	}
	if a.Text != "" {
		b.WriteString(a.Text + "\n")
	}
	b.WriteByte('[')
	for i, c := range a.ToolCalls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name + "(")
		dec := json.NewDecoder(bytes.NewReader(c.Arguments))
		dec.UseNumber()
		if tok, err := dec.Token(); err == nil && tok == json.Delim('{') {
			for n := 0; dec.More(); n++ {
				k, err := dec.Token()
				if err != nil {
					break
				}
				if n > 0 {
					b.WriteString(", ")
				}
				b.WriteString(k.(string) + "=")
				if writePy(&b, dec) != nil {
					break
				}
			}
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
	return b.String()
}

// writePy writes the next JSON value of dec as a Python literal.
func writePy(b *strings.Builder, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		open, close := "[", "]"
		if v == '{' {
			open, close = "{", "}"
		}
		b.WriteString(open)
		for n := 0; dec.More(); n++ {
			if n > 0 {
				b.WriteString(", ")
			}
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				b.WriteString(pyQuote(k.(string)) + ": ")
			}
			if err := writePy(b, dec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		b.WriteString(close)
	case string:
		b.WriteString(pyQuote(v))
	case json.Number:
		b.WriteString(v.String())
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case nil:
		b.WriteString("None")
	}
	return nil
}

// pyQuote writes s as a double-quoted Python string literal.
func pyQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (pythonic) ToolResults(results []retrain.ToolResult) []retrain.Message {
	return toolMessages(results)
}

func (pythonic) Feedback(text string) retrain.Message { return userFeedback(text) }
