// Package answer reads a move or an action out of a model's turn for the
// game and bridge environments: it picks the dialect the answer is written
// in (a tool-calling dialect, whose final-answer form is used, or "plain",
// the whole completion), pulls the answer's text out of a parsed action,
// and shows what an answer looks like in a dialect.
//
//	d, err := answer.Dialect("smolagent") // or "plain", or "" for smolagent
//	a := d.Parse(completion.Text, nil)
//	move, problem := answer.Text(a) // problem != "": tell the model what was wrong
//	fmt.Println(answer.Example(d, "b2")) // <answer>b2</answer>
package answer

import (
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
)

// Names of answer formats beside the dialects of package dialect.
const (
	// Default is the dialect used when none is named.
	Default = "smolagent"
	// Plain is the plain-text format: the whole completion (after any
	// <think> block) is the answer.
	Plain = "plain"
)

// Dialect returns the dialect called name: "" means [Default], [Plain] the
// plain-text format, anything else a dialect of package dialect.
func Dialect(name string) (dialect.Dialect, error) {
	switch strings.TrimSpace(name) {
	case "":
		return dialect.Get(Default)
	case Plain:
		return PlainDialect(), nil
	}
	d, err := dialect.Get(name)
	if err != nil {
		return nil, fmt.Errorf("%w (or %q for plain text)", err, Plain)
	}
	return d, nil
}

// PlainDialect returns the plain-text format: the model writes its answer
// and nothing else. A leading <think>…</think> block (or text up to a lone
// </think>) is taken as reasoning; an unclosed <think> is a parse error.
// The format offers no tools.
func PlainDialect() dialect.Dialect { return plain{} }

type plain struct{}

func (plain) Name() string { return Plain }

func (plain) SystemPrompt([]retrain.ToolSpec) string {
	return "You may think first inside <think></think> tags. Then write only your answer, with nothing else around it."
}

func (plain) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	a := retrain.Action{Kind: retrain.ActionText, Raw: text}
	rest := text
	if i := strings.LastIndex(rest, "</think>"); i >= 0 {
		a.Reasoning = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest[:i]), "<think>"))
		rest = rest[i+len("</think>"):]
	} else if i := strings.Index(rest, "<think>"); i >= 0 {
		a.Reasoning = strings.TrimSpace(rest[i+len("<think>"):])
		a.ParseError = "the <think> block is not closed (was the output cut off?): end your reasoning with </think>, then write your answer"
		return a
	}
	a.Text = strings.TrimSpace(rest)
	if a.Text == "" {
		a.ParseError = "the reply is empty: write your answer"
	}
	return a
}

func (plain) AssistantMessage(a retrain.Action) retrain.Message {
	content := a.Raw
	if content == "" {
		content = a.Text
		if a.Reasoning != "" {
			content = "<think>\n" + a.Reasoning + "\n</think>\n" + content
		}
	}
	return retrain.Message{Role: retrain.RoleAssistant, Content: content}
}

func (plain) ToolResults(results []retrain.ToolResult) []retrain.Message {
	msgs := make([]retrain.Message, 0, len(results))
	for _, r := range results {
		text := r.Output
		if !r.Success {
			text = "Error: " + r.Error
		}
		msgs = append(msgs, retrain.Message{Role: retrain.RoleUser, Content: text})
	}
	return msgs
}

func (plain) Feedback(text string) retrain.Message {
	return retrain.Message{Role: retrain.RoleUser, Content: text}
}

// Text returns the answer an action holds, cleaned by [Clean], or a
// problem to tell the model: the action could not be parsed, it called a
// tool (none is offered), or its answer is empty. A parse error's hint at
// the dialect's general format ("Expected format: …", which mentions tool
// calls) is left out: the caller shows the answer it expects.
func Text(a retrain.Action) (text, problem string) {
	switch {
	case a.ParseError != "":
		msg, _, _ := strings.Cut(a.ParseError, ". Expected format: ")
		return "", strings.TrimRight(msg, ". ")
	case a.Kind == retrain.ActionToolCall:
		return "", "no tools are available here; give your answer instead of a tool call"
	}
	text = Clean(a.Text)
	if text == "" {
		return "", "the answer is empty"
	}
	return text, ""
}

// Clean trims white space, then one pair of matching quotes or backticks
// around the answer, then a trailing full stop.
func Clean(s string) string {
	s = strings.TrimSpace(s)
	for _, q := range []string{"```", "`", `"`, "'"} {
		if len(s) >= 2*len(q) && strings.HasPrefix(s, q) && strings.HasSuffix(s, q) {
			s = strings.TrimSpace(s[len(q) : len(s)-len(q)])
			break
		}
	}
	if strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "..") {
		s = strings.TrimSpace(strings.TrimSuffix(s, "."))
	}
	return s
}

// Example shows how the answer ans is written in d, e.g. "<answer>b2</answer>"
// for smolagent and "b2" for plain text.
func Example(d dialect.Dialect, ans string) string {
	return d.AssistantMessage(retrain.Action{Kind: retrain.ActionText, Text: ans}).Content
}
