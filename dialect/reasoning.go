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
	// next[k] is the offset in text of the next opening tag of pairs[k]
	// at or after pos, or -1; it is searched again only once passed, so
	// the whole split takes linear time.
	next := make([]int, len(pairs))
	for k, p := range pairs {
		next[k] = strings.Index(text, p.open)
	}
	var b strings.Builder
	pos := 0
	for {
		at, which := -1, 0
		for k, p := range pairs {
			if next[k] >= 0 && next[k] < pos {
				if n := strings.Index(text[pos:], p.open); n >= 0 {
					next[k] = pos + n
				} else {
					next[k] = -1
				}
			}
			if next[k] >= 0 && (at < 0 || next[k] < at) {
				at, which = next[k], k
			}
		}
		if at < 0 {
			b.WriteString(text[pos:])
			break
		}
		p := pairs[which]
		b.WriteString(text[pos:at])
		bodyStart := at + len(p.open)
		end := strings.Index(text[bodyStart:], p.close)
		if end < 0 {
			parts = append(parts, text[bodyStart:])
			problem = fmt.Sprintf("the %s block is not closed (was the output cut off?): end your reasoning with %s, then write your tool call or answer", p.open, p.close)
			break
		}
		parts = append(parts, text[bodyStart:bodyStart+end])
		pos = bodyStart + end + len(p.close)
	}
	var kept []string
	for _, s := range parts {
		if s = strings.TrimSpace(s); s != "" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, "\n\n"), b.String(), problem
}
