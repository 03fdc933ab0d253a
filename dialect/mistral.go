package dialect

import (
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Mistral returns the "mistral" dialect of Mistral's models. It reads every
// form the tokenizer versions produce:
//
//	[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]   (v3: Mistral 7B v0.3, Mixtral, Nemo)
//	[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Paris"}          (v7/v8)
//	[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}                            (v11+: Small 3.2, Magistral, Devstral)
//	[TOOL_CALLS]get_weather{"city": "Paris"}
//
// several calls being several [TOOL_CALLS] markers or several array items.
// Ids written by the model (an "id" key, [CALL_ID]) are kept. Content
// before [TOOL_CALLS] (and after the calls) is the action's text;
// [THINK]…[/THINK] or <think>…</think> is the reasoning; a code fence
// after [TOOL_CALLS] is ignored. A reply that ends with a JSON array of
// {"name", "arguments"} objects (the [TOOL_CALLS] token dropped by a
// server that skips special tokens) is read as calls too, the prose before
// it being the text; a lone JSON call object without [TOOL_CALLS] is a
// parse error. Other text without [TOOL_CALLS] is the final answer (Kind
// text).
//
// Results come back as one user message holding one
// [TOOL_RESULTS]…[/TOOL_RESULTS] block per call, in call order (the v11+
// layout; in a user message because Mistral's chat templates demand native
// tool calls with 9-character ids before role "tool" messages). A failed
// call's block holds "Error: …".
func Mistral() Dialect { return mistral{} }

type mistral struct{}

const mistralHint = `[TOOL_CALLS][{"name": "function_name", "arguments": {"argument name": value}}] to call functions, or plain text for the final answer`

// Mistral control tokens.
const (
	toolCallsTok = "[TOOL_CALLS]"
	argsTok      = "[ARGS]"
	callIDTok    = "[CALL_ID]"
)

func (mistral) Name() string { return "mistral" }

func (mistral) SystemPrompt(tools []retrain.ToolSpec) string {
	return toolsPrompt(tools,
		"\n\n# Tools\n\nYou can call these functions. Each takes a JSON object of arguments that follows its JSON Schema:\n[AVAILABLE_TOOLS][",
		openAIToolJSON, ", ",
		"][/AVAILABLE_TOOLS]\n\n"+
			"To call functions, write [TOOL_CALLS] followed by a JSON list of calls:\n[TOOL_CALLS][{\"name\": \"function_name\", \"arguments\": {\"argument name\": value}}]\n"+
			"The results come back in [TOOL_RESULTS][/TOOL_RESULTS] blocks, in the order of the calls. When you have the final answer, reply with it as plain text, without [TOOL_CALLS].")
}

func (mistral) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, mistralThinkTags, thinkTags)
	if problem != "" {
		return failAction(text, reasoning, problem, mistralHint)
	}
	body := trimContent(rest)
	i := strings.Index(body, toolCallsTok)
	if i < 0 {
		// A JSON list of calls ending the reply is the v3 form whose
		// [TOOL_CALLS] token a server that skips special tokens dropped;
		// a lone call object is a call without the marker.
		if call, ok := untaggedCall(body); ok {
			if !strings.HasPrefix(call, "[") {
				return failAction(text, reasoning, "the call "+snippet(call)+" does not follow [TOOL_CALLS]", mistralHint)
			}
			j := strings.LastIndex(body, call)
			calls, _, p := callsFromJSON(call, 0)
			if p == "" {
				before, _ := unfence(body[:j], "")
				return callAction(text, reasoning, trimContent(before), calls)
			}
		}
		return textAction(text, reasoning, body)
	}
	content := []string{body[:i]}
	var calls []retrain.ToolCall
	for _, seg := range strings.Split(body[i+len(toolCallsTok):], toolCallsTok) {
		cs, tail, p := mistralCalls(seg, len(calls))
		if p != "" {
			return failAction(text, reasoning, p, mistralHint)
		}
		calls = append(calls, cs...)
		content = append(content, tail)
	}
	return callAction(text, reasoning, joinContent(content...), calls)
}

// mistralCalls reads the calls written after one [TOOL_CALLS] marker and
// returns them with the text after them. first is the index of the first
// call, for messages.
func mistralCalls(seg string, first int) (calls []retrain.ToolCall, tail, problem string) {
	t, fenced := cutOpenFence(seg)
	if fenced {
		defer func() { tail = cutCloseFence(tail) }()
	}
	t = strings.TrimLeft(t, " \t\r\n")
	switch {
	case trimContent(t) == "":
		return nil, "", ordinal(first) + ": nothing follows [TOOL_CALLS]"
	case strings.HasPrefix(t, argsTok) || strings.HasPrefix(t, callIDTok):
		return nil, "", ordinal(first) + ": the function name is missing after [TOOL_CALLS]"
	case t[0] == '[' || t[0] == '{':
		return callsFromJSON(t, first)
	}
	end := strings.IndexAny(t, "[{")
	if end < 0 {
		return nil, "", fmt.Sprintf("%s: %s has no JSON object of arguments (write [TOOL_CALLS]name[ARGS]{…})", ordinal(first), snippet(t))
	}
	name := strings.TrimSpace(t[:end])
	if !validName(name) {
		return nil, "", fmt.Sprintf("%s: %s is not a function name", ordinal(first), snippet(name))
	}
	r := t[end:]
	id := ""
	if after, ok := strings.CutPrefix(r, callIDTok); ok {
		k := strings.IndexAny(after, "[{")
		if k < 0 {
			return nil, "", fmt.Sprintf("%s (%s): no JSON object of arguments after [CALL_ID]", ordinal(first), name)
		}
		id, r = strings.TrimSpace(after[:k]), after[k:]
	}
	r = strings.TrimLeft(strings.TrimPrefix(r, argsTok), " \t\r\n")
	if r == "" {
		return nil, "", fmt.Sprintf("%s (%s): the JSON object of arguments is missing", ordinal(first), name)
	}
	v, tail, err := nextJSON(r)
	if err != nil {
		return nil, "", fmt.Sprintf("%s (%s): invalid JSON arguments: %s", ordinal(first), name, jsonErr(err))
	}
	args, p := normalizeArgs(v)
	if p != "" {
		return nil, "", fmt.Sprintf("%s (%s): the arguments %s", ordinal(first), name, p)
	}
	return []retrain.ToolCall{{ID: id, Name: name, Arguments: args}}, tail, ""
}

func (d mistral) AssistantMessage(action retrain.Action) retrain.Message {
	return assistantText(action, d.render)
}

// render writes an action built in code in the [TOOL_CALLS] list form.
func (mistral) render(a retrain.Action) string {
	var b strings.Builder
	if a.Reasoning != "" {
		b.WriteString("[THINK]" + a.Reasoning + "[/THINK]")
	}
	b.WriteString(a.Text)
	if a.Kind != retrain.ActionToolCall {
		return b.String()
	}
	b.WriteString(toolCallsTok + "[")
	for i, c := range a.ToolCalls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"name": ` + jsonString(c.Name) + `, "arguments": ` + argsText(c.Arguments) + `}`)
	}
	b.WriteString("]")
	return b.String()
}

func (mistral) ToolResults(results []retrain.ToolResult) []retrain.Message {
	return userBlocks(results, "", func(r retrain.ToolResult) string {
		return "[TOOL_RESULTS]" + resultText(r) + "[/TOOL_RESULTS]"
	})
}

func (mistral) Feedback(text string) retrain.Message { return userFeedback(text) }
