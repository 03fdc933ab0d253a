package dialect

import (
	"strings"

	"github.com/retrain-rl/retrain"
)

// resultText is what the model sees of one result: the output, or
// "Error: <message>" for a failed call.
func resultText(r retrain.ToolResult) string {
	if r.Success {
		return r.Output
	}
	msg := r.Error
	if msg == "" {
		msg = r.Output
	}
	if msg == "" {
		msg = "the tool call failed"
	}
	return "Error: " + msg
}

// toolMessages formats results as one role "tool" message each, with the
// call id and tool name.
func toolMessages(results []retrain.ToolResult) []retrain.Message {
	if len(results) == 0 {
		return nil
	}
	msgs := make([]retrain.Message, len(results))
	for i, r := range results {
		msgs[i] = retrain.Message{Role: retrain.RoleTool, Content: resultText(r), ToolCallID: r.CallID, Name: r.Name}
	}
	return msgs
}

// userBlocks formats results as one user message holding one block per
// result, in order, each made by wrap and separated by sep.
func userBlocks(results []retrain.ToolResult, sep string, wrap func(retrain.ToolResult) string) []retrain.Message {
	if len(results) == 0 {
		return nil
	}
	parts := make([]string, len(results))
	for i, r := range results {
		parts[i] = wrap(r)
	}
	return []retrain.Message{{Role: retrain.RoleUser, Content: strings.Join(parts, sep)}}
}

// userFeedback is the feedback message of every dialect: a user message.
func userFeedback(text string) retrain.Message {
	return retrain.Message{Role: retrain.RoleUser, Content: text}
}

// assistantText is the assistant message of a text dialect: the raw output
// exactly as generated, or, for an action built in code, the action written
// in the dialect's format by render. An action is the model's when it has
// raw text or a parse error; one with neither but nothing in it either
// (no text, reasoning or calls) is an empty completion too. The model's
// empty output stays empty: rendering it would put text the model never
// wrote (smolagent's "<answer></answer>") into the history.
func assistantText(action retrain.Action, render func(retrain.Action) string) retrain.Message {
	content := action.Raw
	if content == "" && action.ParseError == "" && !emptyAction(action) {
		content = render(action)
	}
	return retrain.Message{Role: retrain.RoleAssistant, Content: content}
}

// emptyAction reports whether an action holds nothing to render.
func emptyAction(a retrain.Action) bool {
	return a.Text == "" && a.Reasoning == "" && len(a.ToolCalls) == 0
}

// renderBlocks writes an action built in code as the Qwen chat templates do:
// the reasoning as a <think> block, the text, then each call as the block
// that block writes, on its own line.
func renderBlocks(a retrain.Action, block func(retrain.ToolCall) string) string {
	var b strings.Builder
	b.WriteString(thinkPrefix(a.Reasoning))
	b.WriteString(a.Text)
	if a.Kind != retrain.ActionToolCall {
		return b.String()
	}
	for i, c := range a.ToolCalls {
		if i > 0 || a.Text != "" {
			b.WriteString("\n")
		}
		b.WriteString(block(c))
	}
	return b.String()
}

// thinkPrefix writes reasoning as a leading <think> block, or nothing.
func thinkPrefix(reasoning string) string {
	if reasoning == "" {
		return ""
	}
	return "<think>\n" + reasoning + "\n</think>\n\n"
}
