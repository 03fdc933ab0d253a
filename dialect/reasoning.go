package dialect

import (
	"fmt"
	"strings"
)

// tagPair is an opening and a closing tag, e.g. <think> and </think>.
type tagPair struct{ open, close string }

// Reasoning tags the text dialects understand.
var (
	thinkTags        = tagPair{"<think>", "</think>"}
	reasoningTags    = tagPair{"<reasoning>", "</reasoning>"}
	mistralThinkTags = tagPair{"[THINK]", "[/THINK]"}
)

// splitReasoning takes the reasoning blocks (e.g. <think>…</think>) out of
// text, wherever they are. It returns the reasoning, the blocks' bodies
// trimmed and joined by a blank line, and the text with the blocks removed.
//
// A closing tag with no opening tag before it counts as the end of a block
// that began at the start of text: chat templates of thinking models (Qwen3,
// DeepSeek-R1) often put the opening tag in the prompt, so the completion
// holds only "…reasoning…</think>answer".
//
// An opening tag that is never closed makes problem non-empty (the output was
// probably cut off while thinking); reasoning then holds what was written.
func splitReasoning(text string, pairs ...tagPair) (reasoning, rest, problem string) {
	var parts []string
	for _, p := range pairs {
		c := strings.Index(text, p.close)
		if c < 0 {
			continue
		}
		if o := strings.Index(text, p.open); o >= 0 && o < c {
			continue
		}
		parts = append(parts, text[:c])
		text = text[c+len(p.close):]
		break
	}
	var b strings.Builder
	for {
		at, which := -1, 0
		for i, p := range pairs {
			if j := strings.Index(text, p.open); j >= 0 && (at < 0 || j < at) {
				at, which = j, i
			}
		}
		if at < 0 {
			b.WriteString(text)
			break
		}
		p := pairs[which]
		b.WriteString(text[:at])
		body := text[at+len(p.open):]
		end := strings.Index(body, p.close)
		if end < 0 {
			parts = append(parts, body)
			problem = fmt.Sprintf("the %s block is not closed (was the output cut off?): end your reasoning with %s, then write your tool call or answer", p.open, p.close)
			break
		}
		parts = append(parts, body[:end])
		text = body[end+len(p.close):]
	}
	var kept []string
	for _, s := range parts {
		if s = strings.TrimSpace(s); s != "" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, "\n\n"), b.String(), problem
}
