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
// value may hold the tags literally (a file about this format): a
// </parameter> ends it only when followed, after white space, by another
// tag of the call or the end of the text (as in vLLM). Tolerated: a
// missing </parameter> before a <parameter=…> on a line of its own or the
// </function> ending the call; a missing </function> before </tool_call>
// or the next <function=…>; a missing </tool_call>; a <function=…> block
// without the <tool_call> wrapper (Qwen3-Coder often drops it). Parse
// errors: a malformed end tag (</parameter1>), a parameter given twice,
// text outside the parameters, a function name that is not one (an
// unrendered "{{ name }}"), and a call written as JSON. Text outside the
// blocks is the action's text; <think>…</think> is the reasoning. Output
// with no <function=…> block is the final answer.
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
	return toolsPrompt(tools,
		"\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>\n",
		func(t retrain.ToolSpec) string {
			return "<function>\n<name>" + t.Name + "</name>\n<description>" + strings.TrimSpace(t.Description) + "</description>\n<parameters>" + pyJSON(schemaOf(t)) + "</parameters>\n</function>"
		}, "\n",
		"\n</tools>\n\n"+
			"If you choose to call a function ONLY reply in the following format with NO suffix:\n\n"+
			"<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n"+
			"<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n- Write numbers, booleans, arrays and objects as JSON; write strings as they are\n- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after\n- You may call several functions, one <tool_call> block each; the results come back inside <tool_response></tool_response> tags, in the order of the calls\n- When you have the final answer, reply with it as plain text, without any function call\n</IMPORTANT>")
}

func (qwen3Coder) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags)
	if problem != "" {
		return failAction(text, reasoning, problem, qwenCoderHint)
	}
	body := trimContent(rest)
	calls, content, problem := newQwenParser(body).parse()
	switch {
	case problem != "":
		return failAction(text, reasoning, problem, qwenCoderHint)
	case len(calls) == 0:
		if call, ok := untaggedCall(body); ok {
			return failAction(text, reasoning, "the call "+snippet(call)+" is written as JSON: write it in the XML format", qwenCoderHint)
		}
		return textAction(text, reasoning, body)
	}
	return callAction(text, reasoning, joinContent(content...), calls)
}

// qwenParser reads Qwen3-Coder calls in one pass over s. Closing tags are
// recognized by what follows them, so that a value may hold the tags
// literally (a model writing a file about this format): a </parameter>
// ends a value only when white space and then another tag of the call, or
// the end of the text, follow it.
type qwenParser struct {
	s   string
	pos int
	// Finders of the tags, queried at positions that never decrease.
	toolOpen, toolClose, fnOpen *finder
	// Structural tags: the </parameter> that ends a value; where a value
	// whose </parameter> is missing ends (a <parameter= at the start of a
	// line, a </function> or </tool_call> followed by the next call or the
	// end of the text).
	paramEnd, lineParam, fnEnd, toolEnd *finder
}

func newQwenParser(s string) *qwenParser {
	return &qwenParser{
		s:         s,
		toolOpen:  newFinder(s, toolCallOpen, nil),
		toolClose: newFinder(s, toolCallClose, nil),
		fnOpen:    newFinder(s, functionOpen, nil),
		paramEnd:  newFinder(s, paramClose, followedBy(paramOpen, functionClose, toolCallClose, functionOpen)),
		lineParam: newFinder(s, paramOpen, func(s string, at, _ int) bool { return at > 0 && s[at-1] == '\n' }),
		fnEnd:     newFinder(s, functionClose, followedBy(toolCallClose, toolCallOpen, functionOpen)),
		toolEnd:   newFinder(s, toolCallClose, followedBy(toolCallOpen)),
	}
}

// parse reads the calls of the whole text and the content around them.
func (p *qwenParser) parse() (calls []retrain.ToolCall, content []string, problem string) {
	s := p.s
	for {
		i, f := p.toolOpen.next(p.pos), p.fnOpen.next(p.pos)
		if i < 0 && f < 0 {
			return calls, append(content, s[p.pos:]), ""
		}
		if f >= 0 && (i < 0 || f < i) {
			// A <function=…> block without the <tool_call> wrapper.
			content = append(content, s[p.pos:f])
			p.pos = f
			c, problem := p.function(len(calls))
			if problem != "" {
				return nil, nil, problem
			}
			calls = append(calls, c)
			if q := skipSpace(s, p.pos); strings.HasPrefix(s[q:], toolCallClose) {
				p.pos = q + len(toolCallClose)
			}
			continue
		}
		content = append(content, s[p.pos:i])
		p.pos = i + len(toolCallOpen)
		c, f := p.toolClose.next(p.pos), p.fnOpen.next(p.pos)
		if f < 0 || (c >= 0 && c < f) {
			msg := "the <tool_call> block holds no <function=…> block"
			if c < 0 {
				msg = "the <tool_call> block is not closed and holds no <function=…> block (was the output cut off?)"
			}
			return nil, nil, ordinal(len(calls)) + ": " + msg
		}
		content = append(content, s[p.pos:f])
		p.pos = f
		for {
			call, problem := p.function(len(calls))
			if problem != "" {
				return nil, nil, problem
			}
			calls = append(calls, call)
			q := skipSpace(s, p.pos)
			if strings.HasPrefix(s[q:], toolCallClose) {
				p.pos = q + len(toolCallClose)
				break
			}
			if strings.HasPrefix(s[q:], functionOpen) {
				p.pos = q
				continue
			}
			// Text after the function, inside the block.
			c, f := p.toolClose.next(q), p.fnOpen.next(q)
			if f >= 0 && (c < 0 || f < c) {
				content = append(content, s[q:f])
				p.pos = f
				continue
			}
			if c >= 0 {
				content = append(content, s[q:c])
				p.pos = c + len(toolCallClose)
			} else {
				p.pos = q // no </tool_call>: the rest is ordinary text
			}
			break
		}
	}
}

// function reads the <function=…> block at p.pos. n is the call's index,
// for messages. A missing </function> is tolerated before </tool_call> or
// the next <function=…>.
func (p *qwenParser) function(n int) (call retrain.ToolCall, problem string) {
	s := p.s
	start := p.pos + len(functionOpen)
	k := start
	for k < len(s) && s[k] != '>' && s[k] != '\n' {
		k++
	}
	if k >= len(s) || s[k] != '>' {
		return call, fmt.Sprintf("%s: the <function=…> tag is not closed with \">\" after the function name", ordinal(n))
	}
	name := strings.TrimSpace(s[start:k])
	switch {
	case name == "":
		return call, fmt.Sprintf("%s: the function name is empty", ordinal(n))
	case !validName(name):
		return call, fmt.Sprintf("%s: %s is not a function name", ordinal(n), snippet(name))
	}
	p.pos = k + 1
	var args object
	for {
		q := skipSpace(s, p.pos)
		switch {
		case strings.HasPrefix(s[q:], functionClose):
			p.pos = q + len(functionClose)
			return retrain.ToolCall{Name: name, Arguments: json.RawMessage(args.json())}, ""
		case strings.HasPrefix(s[q:], toolCallClose) || strings.HasPrefix(s[q:], functionOpen):
			p.pos = q
			return retrain.ToolCall{Name: name, Arguments: json.RawMessage(args.json())}, ""
		case strings.HasPrefix(s[q:], paramOpen):
			if problem := p.param(&args, q); problem != "" {
				return call, fmt.Sprintf("%s (%s): %s", ordinal(n), name, problem)
			}
			continue
		}
		if q == len(s) {
			return call, fmt.Sprintf("%s (%s): the <function=%s> block is not closed with </function> (was the output cut off?)", ordinal(n), name, name)
		}
		return call, fmt.Sprintf("%s (%s): unexpected text %s in the <function=%s> block: write each argument in a <parameter=…> block", ordinal(n), name, snippet(s[q:]), name)
	}
}

// param reads the <parameter=…> block at q into args.
func (p *qwenParser) param(args *object, q int) string {
	s := p.s
	start := q + len(paramOpen)
	k := start
	for k < len(s) && s[k] != '>' && s[k] != '\n' {
		k++
	}
	if k >= len(s) || s[k] != '>' {
		return "a <parameter=…> tag is not closed with \">\" after the parameter name"
	}
	name := strings.TrimSpace(s[start:k])
	if name == "" {
		return "a parameter name is empty"
	}
	if _, dup := args.vals[name]; dup {
		return fmt.Sprintf("the parameter %s is given twice", name)
	}
	end, next, closed := p.valueEnd(k + 1)
	v := s[k+1 : end]
	if i := strings.Index(v, "</parameter"); !closed && i >= 0 {
		return fmt.Sprintf("the value of <parameter=%s> ends with %s instead of </parameter>", name, snippet(v[i:]))
	}
	args.set(name, qwenValue(v))
	p.pos = next
	return ""
}

// valueEnd finds the end of the value that starts at v: its </parameter>,
// or, when that is missing, the next <parameter= on a line of its own, the
// </function> or </tool_call> that ends the call, or the end of the text.
// next is where parsing goes on; closed says the value had its
// </parameter>.
func (p *qwenParser) valueEnd(v int) (end, next int, closed bool) {
	implicit := -1
	if strings.HasPrefix(p.s[v:], paramOpen) {
		implicit = v
	} else {
		for _, f := range []*finder{p.lineParam, p.fnEnd, p.toolEnd} {
			if at := f.next(v); at >= 0 && (implicit < 0 || at < implicit) {
				implicit = at
			}
		}
	}
	if c := p.paramEnd.next(v); c >= 0 && (implicit < 0 || c < implicit) {
		return c, c + len(paramClose), true
	}
	if implicit >= 0 {
		return implicit, implicit, false
	}
	return len(p.s), len(p.s), false
}

// finder finds the occurrences of a tag in s that ok accepts (all, when
// ok is nil). It remembers its last answer, so that queries at positions
// that never decrease examine each occurrence once.
type finder struct {
	s, tag string
	ok     func(s string, at, end int) bool
	from   int // the last query position, -1 before the first
	at     int // the answer to it, -1 for none
}

func newFinder(s, tag string, ok func(s string, at, end int) bool) *finder {
	return &finder{s: s, tag: tag, ok: ok, from: -1, at: -1}
}

// next is the offset of the first accepted occurrence at or after pos, or
// -1.
func (f *finder) next(pos int) int {
	if f.from >= 0 && pos >= f.from && (f.at < 0 || f.at >= pos) {
		return f.at
	}
	f.from, f.at = pos, -1
	for k := pos; k <= len(f.s); {
		i := strings.Index(f.s[k:], f.tag)
		if i < 0 {
			break
		}
		k += i
		if f.ok == nil || f.ok(f.s, k, k+len(f.tag)) {
			f.at = k
			break
		}
		k += len(f.tag)
	}
	return f.at
}

// followedBy accepts an occurrence followed, after white space, by one of
// tags or by the end of the text.
func followedBy(tags ...string) func(s string, at, end int) bool {
	return func(s string, _, end int) bool {
		q := skipSpace(s, end)
		if q == len(s) {
			return true
		}
		for _, t := range tags {
			if strings.HasPrefix(s[q:], t) {
				return true
			}
		}
		return false
	}
}

// skipSpace returns the offset of the first byte at or after i in s that
// is not white space.
func skipSpace(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
		i++
	}
	return i
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
