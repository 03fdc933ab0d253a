package dialect

import (
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Hermes returns the "hermes" dialect: the format of Hermes 2 Pro/3,
// Qwen2.5 and Qwen3, one JSON object per call inside <tool_call> tags:
//
//	<think>…</think>
//	Let me check.
//	<tool_call>
//	{"name": "get_weather", "arguments": {"city": "Paris"}}
//	</tool_call>
//
// Text before, between and after the calls is kept as the action's text;
// the <think> block (or a lone </think>, when the chat template opened it)
// becomes the reasoning. Output with no <tool_call> is the final answer:
// Kind text, Text the output without the reasoning. Several JSON objects in
// one block, or a JSON array of them, are several calls; a code fence
// inside the tags is ignored. A missing </tool_call> is tolerated at the
// very end (servers often stop on the closing tag) and before the next
// <tool_call>, when the JSON before it is complete; otherwise a malformed
// block is a parse error, whose message names the usual mistakes (raw line
// breaks in strings, single quotes, True/False/None, trailing commas). A
// reply that ends with a JSON call object written without the tags (bare
// or in a code fence, as Qwen2.5-Coder does) is a parse error too, not an
// answer.
//
// Results come back as one user message holding one
// <tool_response>…</tool_response> block per call, in call order: exactly
// the text that the Qwen2.5/Qwen3 chat templates render for role "tool"
// messages, and portable to any text chat endpoint (a role "tool" message
// without native tool_calls before it is rejected by strict OpenAI-style
// servers). A failed call's block holds "Error: …".
func Hermes() Dialect { return hermes{} }

type hermes struct{}

const hermesHint = "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call> for each call, or plain text for the final answer"

func (hermes) Name() string { return "hermes" }

func (hermes) SystemPrompt(tools []retrain.ToolSpec) string {
	return toolsPrompt(tools,
		"\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n",
		openAIToolJSON, "\n",
		"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>\n\n"+
			"The results come back inside <tool_response></tool_response> tags, in the order of the calls. When you have the final answer, reply with it as plain text, without any <tool_call>.")
}

func (hermes) Parse(text string, _ []retrain.ToolCall) retrain.Action {
	reasoning, rest, problem := splitReasoning(text, thinkTags)
	if problem != "" {
		return failAction(text, reasoning, problem, hermesHint)
	}
	calls, content, problem, found := parseTaggedJSON(rest, "<tool_call>", "</tool_call>")
	switch {
	case problem != "":
		return failAction(text, reasoning, problem, hermesHint)
	case !found:
		if call, ok := untaggedCall(rest); ok {
			return failAction(text, reasoning, "the call "+snippet(call)+" is not inside <tool_call></tool_call> tags", hermesHint)
		}
		return textAction(text, reasoning, trimContent(rest))
	}
	return callAction(text, reasoning, content, calls)
}

// parseTaggedJSON finds the open…close blocks of s, each holding JSON call
// objects, and returns their calls and the content outside them. found is
// false when s has no block at all. A closing tag missing before the next
// opening tag is tolerated when the JSON before it is complete.
func parseTaggedJSON(s, open, close string) (calls []retrain.ToolCall, content, problem string, found bool) {
	blocks, outside := scanBlocks(s, open, close)
	if len(blocks) == 0 {
		return nil, "", "", false
	}
	for k := 0; k < len(blocks); k++ {
		b := blocks[k]
		for {
			body := stripFence(b.body)
			p, next := "", ""
			var cs []retrain.ToolCall
			if strings.TrimSpace(body) == "" {
				p = fmt.Sprintf("%s: the %s block is empty", ordinal(len(calls)), open)
			} else {
				var after string
				cs, after, p = callsFromJSON(body, len(calls))
				if t := strings.TrimLeft(after, " \t\r\n"); p == "" && strings.HasPrefix(t, open) {
					next = t[len(open):] // the closing tag is missing before the next block
				} else if p == "" && trimContent(after) != "" {
					p = fmt.Sprintf("%s: unexpected text after the JSON object in the %s block: %s", ordinal(len(calls)+len(cs)-1), open, snippet(after))
				}
			}
			if p != "" {
				if !b.closed {
					p = fmt.Sprintf("the last %s block is not closed with %s (was the output cut off?); %s", open, close, p)
				}
				return nil, "", p, true
			}
			calls = append(calls, cs...)
			if next == "" {
				break
			}
			b.body = next
		}
	}
	return calls, joinContent(outside...), "", true
}

func (d hermes) AssistantMessage(action retrain.Action) retrain.Message {
	return assistantText(action, d.render)
}

// render writes an action built in code as the Qwen chat templates do.
func (hermes) render(a retrain.Action) string {
	return renderBlocks(a, func(c retrain.ToolCall) string {
		return "<tool_call>\n{\"name\": " + jsonString(c.Name) + ", \"arguments\": " + argsText(c.Arguments) + "}\n</tool_call>"
	})
}

func (hermes) ToolResults(results []retrain.ToolResult) []retrain.Message {
	return toolResponses(results)
}

// toolResponses is one user message with a <tool_response> block per result.
func toolResponses(results []retrain.ToolResult) []retrain.Message {
	return userBlocks(results, "\n", func(r retrain.ToolResult) string {
		return "<tool_response>\n" + resultText(r) + "\n</tool_response>"
	})
}

func (hermes) Feedback(text string) retrain.Message { return userFeedback(text) }
