package dialect

import (
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain"
)

// textAction is a plain text response.
func textAction(raw, reasoning, text string) retrain.Action {
	return retrain.Action{Kind: retrain.ActionText, Text: text, Reasoning: reasoning, Raw: raw}
}

// callAction is a tool-call action. Calls without an id get call_<index>,
// the index being the call's position in the turn.
func callAction(raw, reasoning, text string, calls []retrain.ToolCall) retrain.Action {
	for i := range calls {
		if calls[i].ID == "" {
			calls[i].ID = "call_" + strconv.Itoa(i)
		}
	}
	return retrain.Action{Kind: retrain.ActionToolCall, Text: text, ToolCalls: calls, Reasoning: reasoning, Raw: raw}
}

// failAction is the action for output that could not be parsed: Kind is
// text, Text and ToolCalls are empty, the reasoning found is kept, and
// ParseError says what was wrong and shows the expected format.
func failAction(raw, reasoning, problem, hint string) retrain.Action {
	msg := problem
	if hint != "" {
		msg += ". Expected format: " + hint
	}
	return retrain.Action{Kind: retrain.ActionText, Reasoning: reasoning, Raw: raw, ParseError: msg}
}

// endTokens are special tokens that servers leave in the text when they do
// not skip special tokens; they end a turn and are not part of its content.
var endTokens = []string{"<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|eom_id|>", "<|eot|>", "</s>"}

// trimContent trims white space and trailing end-of-turn tokens.
func trimContent(s string) string {
	for {
		s = strings.TrimSpace(s)
		cut := false
		for _, t := range endTokens {
			if strings.HasSuffix(s, t) {
				s, cut = s[:len(s)-len(t)], true
			}
		}
		if !cut {
			return s
		}
	}
}

// joinContent joins the non-empty trimmed pieces of content around tool
// calls with a blank line.
func joinContent(pieces ...string) string {
	var kept []string
	for _, p := range pieces {
		if p = trimContent(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n\n")
}

// snippet quotes the start of s for an error message.
func snippet(s string) string {
	const max = 40
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

// ordinal is "tool call 1", "tool call 2"… for error messages.
func ordinal(i int) string { return "tool call " + strconv.Itoa(i+1) }

// validName reports whether name can be a function name written in a tag
// or after a marker: not empty, without white space, quotes, braces or
// angle brackets (an unrendered template such as "{{ tool.name }}", or
// prose, is not a name).
func validName(name string) bool {
	return name != "" && !strings.ContainsAny(name, " \t\r\n{}<>\"'")
}
