package dialect

import (
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Llama3JSON returns the "llama3_json" dialect of Llama 3.1/3.2/3.3 JSON
// tool calling: a bare JSON object per call,
//
//	{"name": "get_weather", "parameters": {"city": "Paris"}}
//
// ("arguments" is accepted for "parameters", and {"type": "function", …}
// or the OpenAI shape too), optionally after the <|python_tag|> token,
// several separated by ";" (or given as a JSON array). An object counts as
// a call when it has a "name" and "parameters" or "arguments"; calls may
// appear anywhere, in a code fence or not, and the prose around and
// between them is kept as the action's text. Also accepted: a call in
// Python syntax after <|python_tag|> (brave_search.call(query="…"), and
// Llama 3.3's custom-tool calls), or making up the whole reply (the tag
// dropped by a server that skips special tokens); and Llama 3.1's other
// custom-tool format, <function=name>{"arg": value}</function>. Text
// without a call is the final answer (Kind text); an object that opens
// like a call ({"name": …) and is cut off, or that has "parameters" or
// "arguments" but is not valid JSON (single quotes, True/None), is a parse
// error.
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
	return toolsPrompt(tools,
		"\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n"+
			`Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.`+"\n\n",
		indentedToolJSON, "\n\n",
		"\n\n"+`To call several functions at once, separate the JSON objects with ";". The results come back as tool messages, in the order of the calls. When you have the final answer, reply with it as plain text, without any JSON function call.`)
}

func (llama3JSON) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags)
	if problem != "" {
		return failAction(text, reasoning, problem, llamaHint)
	}
	body := trimContent(rest)
	if i := strings.Index(body, pythonTag); i >= 0 {
		calls, tail, p := pythonTagCalls(body[i:])
		if p != "" {
			return failAction(text, reasoning, p, llamaHint)
		}
		return callAction(text, reasoning, joinContent(body[:i], tail), calls)
	}
	// JSON call objects anywhere in the text, prose around and between
	// them kept as the content.
	var calls []retrain.ToolCall
	var content []string
	budget := maxJSONCandidates
	for s := body; ; {
		at, p := findJSONCall(s, &budget)
		if p != "" {
			return failAction(text, reasoning, ordinal(len(calls))+": "+p, llamaHint)
		}
		if at < 0 {
			content = append(content, s)
			break
		}
		cs, tail, p := callsFromJSON(s[at:], len(calls))
		if p != "" {
			return failAction(text, reasoning, p, llamaHint)
		}
		before, after := unfence(s[:at], tail)
		content = append(content, before)
		calls = append(calls, cs...)
		s = after
	}
	if len(calls) > 0 {
		return callAction(text, reasoning, joinContent(content...), calls)
	}
	if strings.Contains(body, functionOpen) {
		calls, content, p := functionTagCalls(body)
		if p != "" {
			return failAction(text, reasoning, p, llamaHint)
		}
		return callAction(text, reasoning, joinContent(content...), calls)
	}
	// A reply that is only a Python call: the form Llama 3.2/3.3 use
	// after <|python_tag|>, the tag dropped by a server that skips
	// special tokens.
	if t := strings.TrimSpace(stripFence(body)); looksLikePyCall(t) {
		if calls, tail, err := parsePyCalls(t); err == nil && len(calls) > 0 && trimContent(tail) == "" {
			return callAction(text, reasoning, "", calls)
		}
	}
	return textAction(text, reasoning, body)
}

// pythonTagCalls reads the calls after <|python_tag|> at the start of s:
// JSON call objects or Python calls, each call group possibly after its
// own <|python_tag|>, in a code fence or not. It returns the calls and the
// text after them.
func pythonTagCalls(s string) (calls []retrain.ToolCall, tail, problem string) {
	for strings.HasPrefix(s, pythonTag) {
		t, fenced := cutOpenFence(s[len(pythonTag):])
		t = strings.TrimLeft(t, " \t\r\n")
		if trimContent(t) == "" {
			return nil, "", "nothing follows <|python_tag|>"
		}
		var cs []retrain.ToolCall
		var after string
		if t[0] == '{' || (t[0] == '[' && !looksLikePyCall(t)) {
			var p string
			if cs, after, p = callsFromJSON(t, len(calls)); p != "" {
				return nil, "", p
			}
		} else {
			var err error
			if cs, after, err = parsePyCalls(t); err != nil {
				return nil, "", "after <|python_tag|>, expected a JSON call object or a Python call: " + err.Error()
			}
		}
		if fenced {
			after = cutCloseFence(after)
		}
		calls = append(calls, cs...)
		s = strings.TrimLeft(after, " \t\r\n;")
		if !strings.HasPrefix(s, pythonTag) {
			s = after
		}
	}
	return calls, s, ""
}

// functionTagCalls reads the calls written in Llama 3.1's other
// custom-tool format, <function=name>{"arg": value}</function>, and the
// content around them. A missing </function> is tolerated at the end of
// the text.
func functionTagCalls(s string) (calls []retrain.ToolCall, content []string, problem string) {
	for {
		i := strings.Index(s, functionOpen)
		if i < 0 {
			return calls, append(content, s), ""
		}
		content = append(content, s[:i])
		r := s[i+len(functionOpen):]
		gt := strings.IndexAny(r, ">\n")
		if gt < 0 || r[gt] != '>' {
			return nil, nil, ordinal(len(calls)) + `: the <function=…> tag is not closed with ">" after the function name`
		}
		name := strings.TrimSpace(r[:gt])
		if !validName(name) {
			return nil, nil, fmt.Sprintf("%s: %s is not a function name", ordinal(len(calls)), snippet(name))
		}
		r = strings.TrimLeft(r[gt+1:], " \t\r\n")
		args := emptyObject
		if !strings.HasPrefix(r, functionClose) {
			v, after, err := nextJSON(r)
			if err != nil {
				return nil, nil, fmt.Sprintf("%s (%s): invalid JSON arguments: %s", ordinal(len(calls)), name, jsonErr(err))
			}
			var p string
			if args, p = normalizeArgs(v); p != "" {
				return nil, nil, fmt.Sprintf("%s (%s): the arguments %s", ordinal(len(calls)), name, p)
			}
			r = strings.TrimLeft(after, " \t\r\n")
		}
		if after, ok := strings.CutPrefix(r, functionClose); ok {
			r = after
		} else if trimContent(r) != "" {
			return nil, nil, fmt.Sprintf("%s (%s): the arguments are not followed by </function>", ordinal(len(calls)), name)
		}
		calls = append(calls, retrain.ToolCall{Name: name, Arguments: args})
		s = r
	}
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
