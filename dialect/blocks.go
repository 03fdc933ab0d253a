package dialect

import "strings"

// block is the body of one open…close tag pair found in text.
type block struct {
	body string
	// closed is false for a last block whose closing tag is missing; its
	// body runs to the end of the text.
	closed bool
}

// scanBlocks finds the open…close blocks of s, in order, and returns them
// with the text outside them joined. Blocks do not nest: a block ends at the
// first closing tag after its opening tag.
func scanBlocks(s, open, close string) (blocks []block, outside []string) {
	for {
		i := strings.Index(s, open)
		if i < 0 {
			return blocks, append(outside, s)
		}
		outside = append(outside, s[:i])
		s = s[i+len(open):]
		j := strings.Index(s, close)
		if j < 0 {
			return append(blocks, block{body: s}), outside
		}
		blocks = append(blocks, block{body: s[:j], closed: true})
		s = s[j+len(close):]
	}
}

// stripFence removes a Markdown code fence (```json … ```) around s, which
// models sometimes put inside a tag or around a whole reply.
func stripFence(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "```") {
		return s
	}
	nl := strings.IndexByte(t, '\n')
	if nl < 0 {
		return s
	}
	t = strings.TrimSpace(t[nl+1:])
	t, ok := strings.CutSuffix(t, "```")
	if !ok {
		return s
	}
	return t
}

// cutOpenFence removes the opening line of a Markdown code fence
// ("```json\n") at the start of s, after white space; ok says whether there
// was one.
func cutOpenFence(s string) (rest string, ok bool) {
	t := strings.TrimLeft(s, " \t\r\n")
	if !strings.HasPrefix(t, "```") {
		return s, false
	}
	nl := strings.IndexByte(t, '\n')
	if nl < 0 || strings.ContainsAny(strings.TrimSpace(t[3:nl]), " \t`") {
		return s, false
	}
	return t[nl+1:], true
}

// cutCloseFence removes a closing code fence ("```") at the start of s,
// after white space.
func cutCloseFence(s string) string {
	if r, ok := strings.CutPrefix(strings.TrimLeft(s, " \t\r\n"), "```"); ok {
		return r
	}
	return s
}

// unfence removes a code fence around something found in text: the fence's
// opening line at the end of before ("…prose\n```json") and then its closing
// "```" at the start of after. Text without such a fence is returned as it
// is.
func unfence(before, after string) (string, string) {
	t := strings.TrimRight(before, " \t\r\n")
	i := strings.LastIndexByte(t, '\n') + 1
	line := strings.TrimSpace(t[i:])
	if !strings.HasPrefix(line, "```") || strings.ContainsAny(line[3:], " \t`") {
		return before, after
	}
	return t[:i], cutCloseFence(after)
}
