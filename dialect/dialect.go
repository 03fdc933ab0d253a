// Package dialect maps model text to actions and tool results back to
// messages: the formats in which models call tools.
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
	AssistantMessage(action retrain.Action) retrain.Message
	// ToolResults formats the results of one turn's tool calls as the
	// messages the model sees next.
	ToolResults(results []retrain.ToolResult) []retrain.Message
	// Feedback formats an environment message to the model (a parse error,
	// an unknown tool, a nudge to answer) as a message.
	Feedback(text string) retrain.Message
}
