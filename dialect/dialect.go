// Package dialect maps model text to actions and tool results back to
// messages: the formats in which models call tools.
//
// Each built-in dialect has a constructor ([SmolAgent], [Hermes],
// [Llama3JSON], [Mistral], [Pythonic], [Qwen3Coder], [Native]) and a name
// for [Get]:
//
//	d, err := dialect.Get("hermes")
//	if err != nil { ... }
//	system := d.SystemPrompt(tools) // tools and the exact format to use
//	action := d.Parse(completion.Text, completion.ToolCalls)
//	if action.ParseError != "" {
//		msgs = append(msgs, d.AssistantMessage(action), d.Feedback(action.ParseError))
//	} else if action.Kind == retrain.ActionToolCall {
//		msgs = append(msgs, d.AssistantMessage(action))
//		msgs = append(msgs, d.ToolResults(run(action.ToolCalls))...)
//	}
//
// Rules common to all dialects: Parse never fails and keeps the output in
// Action.Raw; malformed output yields Kind text, no calls and a ParseError
// that says what was wrong and shows the expected format; calls without an
// id get call_0, call_1, … in their order in the turn; arguments are always
// a compact JSON object ({} when absent); a <think>…</think> block (or a
// lone </think> when the chat template opened the block) becomes
// Action.Reasoning, and an unclosed one is a parse error. Whether a called
// tool exists is not the parser's concern. Text dialects record the
// assistant turn as the raw output; results of text dialects come back in
// user messages, except llama3_json and pythonic, whose chat templates
// render role "tool" as the ipython turn (see each constructor).
package dialect

import "github.com/retrain-rl/retrain"

// Dialect is one tool-calling format. Implementations are stateless and safe
// for concurrent use.
type Dialect interface {
	// Name is the dialect's registered name (e.g. "smolagent", "hermes").
	Name() string
	// SystemPrompt instructs the model: the task framing, the tools and the
	// exact output format expected. tools may be empty.
	SystemPrompt(tools []retrain.ToolSpec) string
	// Parse turns one completion into an Action. text is the completion text;
	// native holds the completion's native tool calls (OpenAI tool_calls),
	// which only the native dialect uses. Parse never fails: malformed output
	// yields an Action with ParseError set and Raw kept.
	Parse(text string, native []retrain.ToolCall) retrain.Action
	// AssistantMessage is the assistant message that records action in the
	// conversation (native tool calls kept as such where the dialect uses them).
	// A text dialect writes the model's output exactly as generated, an empty
	// one as empty content; only an action built in code is rendered.
	AssistantMessage(action retrain.Action) retrain.Message
	// ToolResults formats the results of one turn's tool calls as the
	// messages the model sees next.
	ToolResults(results []retrain.ToolResult) []retrain.Message
	// Feedback formats an environment message to the model (a parse error,
	// an unknown tool, a nudge to answer) as a message.
	Feedback(text string) retrain.Message
}
