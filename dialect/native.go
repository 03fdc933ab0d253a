package dialect

import (
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Native returns the "native" dialect: OpenAI-style tool calling, where the
// tools go in the request's tools field and the server parses the model's
// calls into the completion's tool_calls. Parse takes the calls from its
// native argument (Kind tool_call when there are any, ids kept, arguments
// normalized to a compact JSON object, a JSON string holding an object
// accepted); a call without a name or whose arguments are not a JSON object
// is a parse error. Without native calls the text is the final answer,
// unless it holds the markup of a text tool-call format (<tool_call>,
// [TOOL_CALLS], <|python_tag|>, <function=, …) outside the reasoning: the
// server left a call it could not parse in the content, and that is a
// parse error. A <think> block left in the text (a server without a
// reasoning parser) becomes the reasoning.
//
// AssistantMessage keeps the calls as native tool_calls; results are role
// "tool" messages with tool_call_id and name. SystemPrompt only frames the
// task: it does not list the tools.
func Native() Dialect { return native{} }

type native struct{}

const nativeHint = "call tools through the tool-calling API with a JSON object of arguments, or reply in plain text for the final answer"

func (native) Name() string { return "native" }

func (native) SystemPrompt(tools []retrain.ToolSpec) string {
	if len(tools) == 0 {
		return framingNoTools + " Reply with your final answer as plain text."
	}
	return framing + " Call tools through the tool-calling interface; their results come back as tool messages. When you have the final answer, reply with it as plain text, without calling a tool."
}

func (native) Parse(text string, calls []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags)
	content := trimContent(rest)
	if len(calls) == 0 {
		if problem != "" {
			return failAction(text, reasoning, problem, nativeHint)
		}
		if m := leakedCallMarker(content); m != "" {
			return failAction(text, reasoning, "the reply holds a tool call written as text ("+m+") that the server did not turn into a tool call, probably because it is malformed", nativeHint)
		}
		return textAction(text, reasoning, content)
	}
	out := make([]retrain.ToolCall, 0, len(calls))
	for i, c := range calls {
		name := strings.TrimSpace(c.Name)
		if name == "" {
			return failAction(text, reasoning, ordinal(i)+" has no function name", nativeHint)
		}
		args, p := normalizeArgs(c.Arguments)
		if p != "" {
			return failAction(text, reasoning, fmt.Sprintf("%s (%s): the arguments %s", ordinal(i), name, p), nativeHint)
		}
		out = append(out, retrain.ToolCall{ID: strings.TrimSpace(c.ID), Name: name, Arguments: args})
	}
	return callAction(text, reasoning, content, out)
}

// callMarkers open the tool calls of the text formats that servers parse
// into native tool calls (Hermes/Qwen, Qwen3-Coder, Mistral, Llama,
// DeepSeek, Kimi). A server leaves the text in the content when it cannot
// parse the call.
var callMarkers = []string{"<tool_call>", "<function=", "[TOOL_CALLS]", "<|python_tag|>", "<|python_start|>", "<｜tool▁calls▁begin｜>", "<|tool_calls_section_begin|>"}

// leakedCallMarker returns the first call marker found in content, or "".
func leakedCallMarker(content string) string {
	for _, m := range callMarkers {
		if strings.Contains(content, m) {
			return m
		}
	}
	return ""
}

// AssistantMessage keeps native tool calls and the reasoning as fields.
// An action with neither text nor calls (a parse error) keeps its raw text
// as content, so the conversation still shows what the model wrote.
func (native) AssistantMessage(action retrain.Action) retrain.Message {
	m := retrain.Message{Role: retrain.RoleAssistant, Content: action.Text, Reasoning: action.Reasoning, ToolCalls: action.ToolCalls}
	if m.Content == "" && len(m.ToolCalls) == 0 {
		m.Content = action.Raw
	}
	return m
}

func (native) ToolResults(results []retrain.ToolResult) []retrain.Message {
	return toolMessages(results)
}

func (native) Feedback(text string) retrain.Message { return userFeedback(text) }
