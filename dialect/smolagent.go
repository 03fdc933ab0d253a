package dialect

import (
	"strings"

	"github.com/retrain-rl/retrain"
)

// SmolAgent returns the "smolagent" dialect, the seed's XML-tag format. The
// model may think inside <think>…</think> (or <reasoning>…</reasoning>),
// then either calls tools, one block per call,
//
//	<tool>{"name": "get_weather", "args": {"city": "Paris"}}</tool>
//
// ("arguments" is accepted for "args"), or answers:
//
//	<answer>It is sunny in Paris.</answer>
//
// Prose before the tags is kept as the action's text. When an output has
// both, the tool calls win (the answer was written before seeing the
// results); a <tool> tag inside the answer is text of the answer. A
// missing </tool> at the very end or before the next <tool> is tolerated
// when the JSON before it is complete (servers often stop on the closing
// tag); a missing </answer> is a parse error, so do not use "</answer>" as
// a stop sequence. Output with neither tag is a parse error.
//
// Results come back as one user message with one <result>…</result> block
// per call, in call order, the content XML-escaped; a failed call reads
// <result>Error: …</result>.
func SmolAgent() Dialect { return smolAgent{} }

type smolAgent struct{}

const smolHint = `<tool>{"name": "tool_name", "args": {"arg": "value"}}</tool> to call a tool (one block per call), or <answer>your final answer</answer> to answer`

func (smolAgent) Name() string { return "smolagent" }

func (smolAgent) SystemPrompt(tools []retrain.ToolSpec) string {
	var b strings.Builder
	if len(tools) == 0 {
		b.WriteString(framingNoTools)
		b.WriteString("\n\nNo tools are available. You may think first inside <think></think> tags. Then write your final answer inside <answer></answer> tags:\n<answer>your final answer</answer>\n")
		return b.String()
	}
	b.WriteString(framing)
	b.WriteString("\n\n# Tools\n\nEach tool takes a JSON object of arguments that follows the JSON Schema given with it:\n\n")
	b.WriteString(toolBullets(tools))
	b.WriteString(`
# Format

You may think first inside <think></think> tags. Then do exactly one of these:

1. Call tools. Write one <tool> block per call, holding a JSON object with the tool's name and its arguments:
<tool>{"name": "tool_name", "args": {"arg": "value"}}</tool>
You may call several tools in one turn. The results come back in <result></result> blocks, in the order of the calls.

2. Give your final answer, inside <answer></answer> tags:
<answer>your final answer</answer>

Do not write an <answer> in the same turn as a <tool> call: wait for the results.
`)
	return b.String()
}

func (smolAgent) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags, reasoningTags)
	if problem != "" {
		return failAction(text, reasoning, problem, smolHint)
	}
	// A <tool> tag inside the answer is text of the answer: calls are
	// looked for after it.
	answered, scan := "", rest
	if a := strings.Index(rest, "<answer>"); a >= 0 {
		if t, c := strings.Index(rest, "<tool>"), strings.Index(rest[a:], "</answer>"); t > a && c >= 0 && t < a+c {
			answered, scan = rest[:a+c+len("</answer>")], rest[a+c+len("</answer>"):]
		}
	}
	calls, content, problem, found := parseTaggedJSON(scan, "<tool>", "</tool>")
	switch {
	case problem != "":
		return failAction(text, reasoning, problem, smolHint)
	case found:
		return callAction(text, reasoning, joinContent(answered, content), calls)
	}
	answers, _ := scanBlocks(rest, "<answer>", "</answer>")
	if len(answers) == 0 {
		if strings.Contains(rest, "<tool_call>") {
			return failAction(text, reasoning, "found a <tool_call> block: in this format, write each call in a <tool> block", smolHint)
		}
		return failAction(text, reasoning, "found neither a <tool> block nor an <answer> block", smolHint)
	}
	if !answers[0].closed {
		return failAction(text, reasoning, "the <answer> block is not closed: end it with </answer>", smolHint)
	}
	return textAction(text, reasoning, strings.TrimSpace(answers[0].body))
}

func (d smolAgent) AssistantMessage(action retrain.Action) retrain.Message {
	return assistantText(action, d.render)
}

// render writes an action built in code in the smolagent format.
func (smolAgent) render(a retrain.Action) string {
	var b strings.Builder
	if a.Reasoning != "" {
		b.WriteString("<think>\n" + a.Reasoning + "\n</think>\n")
	}
	if a.Kind != retrain.ActionToolCall {
		b.WriteString("<answer>" + a.Text + "</answer>")
		return b.String()
	}
	if a.Text != "" {
		b.WriteString(a.Text + "\n")
	}
	for i, c := range a.ToolCalls {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(`<tool>{"name": ` + jsonString(c.Name) + `, "args": ` + argsText(c.Arguments) + `}</tool>`)
	}
	return b.String()
}

func (smolAgent) ToolResults(results []retrain.ToolResult) []retrain.Message {
	return userBlocks(results, "\n", func(r retrain.ToolResult) string {
		return "<result>" + xmlEscape(resultText(r)) + "</result>"
	})
}

func (smolAgent) Feedback(text string) retrain.Message { return userFeedback(text) }

// xmlEscaper escapes the characters that would end or confuse a tag.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// xmlEscape escapes &, < and > so that a result cannot close its block.
func xmlEscape(s string) string { return xmlEscaper.Replace(s) }

// argsText is a call's arguments as Python-spaced JSON, {} when absent.
func argsText(args []byte) string {
	if len(strings.TrimSpace(string(args))) == 0 {
		return "{}"
	}
	return pyJSON(args)
}
