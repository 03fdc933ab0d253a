package reward

import (
	"iter"
	"regexp"
	"strings"
)

// How [ExtractAnswer] found an answer, in order of precedence.
const (
	// MethodAnswerTag: the content of the last <answer>…</answer>.
	MethodAnswerTag = "answer_tag"
	// MethodBoxed: the content of the last \boxed{…} (or \fbox{…}).
	MethodBoxed = "boxed"
	// MethodHashes: the rest of the line after the last "####" (GSM8K).
	MethodHashes = "hashes"
	// MethodPhrase: after the last "The answer is", "Final answer:",
	// "Answer:" or "The correct option is".
	MethodPhrase = "phrase"
	// MethodWhole: the whole completion, when it is itself a short answer.
	MethodWhole = "whole"
	// MethodLastMath: the last inline math ($…$, \(…\)) when it is an
	// answer and no number follows it: "The point is $(2, -3)$."
	MethodLastMath = "last_math"
	// MethodLastNumber: the last number in the completion.
	MethodLastNumber = "last_number"
)

// maxWholeLen is the longest completion taken whole as an answer.
const maxWholeLen = 200

// ExtractAnswer returns the final answer in a model's completion and how it
// was found (one of the Method constants; "" when nothing was found). Text
// after a closing </think> is preferred when there is any, and a few-shot
// turn the model went on to write ("\n\nQuestion: …") after an explicit
// answer is ignored. The precedence is an <answer> tag, then \boxed{},
// "####", an answer phrase, the whole completion when it is a short
// mathematical answer ("x = 5", "\frac12", "10 dollars"), a choice ("(B)
// 12") or a ratio ("3:1"), then the last inline math, and last the last
// number; those two skip a closing remark ("(2 hours 40 minutes)").
func ExtractAnswer(completion string) (answer, method string) {
	text := answerRegion(completion)
	if a, ok := explicitAnswer(text); ok {
		return a.text, a.method
	}
	t := strings.TrimSpace(text)
	if isBareAnswer(t) || isShortLine(t) && (choiceLeadRE.MatchString(normalizeAnswer(t)) || ratioRE.MatchString(t)) {
		return t, MethodWhole
	}
	// Remarks after the answer ("(2 hours 40 minutes)", ", or about 16.7%")
	// are not the answer.
	body := trimRemarks(text)
	if m, ok := lastMath(body); ok {
		return m, MethodLastMath
	}
	if n, ok := lastNumber(body); ok {
		return n, MethodLastNumber
	}
	if t != "" && len(t) <= maxWholeLen && !strings.Contains(t, "\n") {
		return t, MethodWhole
	}
	return "", ""
}

// choiceLeadRE is a line that starts with a multiple-choice letter:
// "(B) 12", "B) 12", "C. 7", "A)".
var choiceLeadRE = regexp.MustCompile(`^\*{0,2}(?:\([A-H]\)|[A-H]\))\*{0,2}(?:\s|$)|^[A-H]\.\s`)

// ratioRE is a ratio or a time of day: "3:1", "9:00".
var ratioRE = regexp.MustCompile(`^\d+(?:\s*:\s*\d+)+$`)

func isShortLine(t string) bool {
	return t != "" && len(t) <= maxWholeLen && !strings.Contains(t, "\n")
}

// ReferenceAnswer returns the answer in a dataset's reference: the part
// after "####" (GSM8K), the last \boxed{} (MATH solutions), an <answer> tag,
// or else the whole reference, trimmed.
func ReferenceAnswer(gold string) string {
	if a, ok := afterHashes(gold); ok {
		return a
	}
	if a, ok := lastBoxed(gold); ok {
		return a
	}
	if a, ok := answerTag(gold); ok {
		if b, ok := explicitAnswer(a); ok {
			return b.text
		}
		return a
	}
	return strings.TrimSpace(gold)
}

// HasExplicitAnswer reports whether completion marks a final answer
// explicitly: an answer tag, \boxed{}, "####" or an answer phrase.
func HasExplicitAnswer(completion string) bool {
	_, ok := explicitAnswer(answerRegion(completion))
	return ok
}

type found struct{ text, method string }

func explicitAnswer(text string) (found, bool) {
	if a, ok := answerTag(text); ok {
		// An answer tag may itself hold \boxed{} or a phrase.
		if a2, ok := lastBoxed(a); ok {
			return found{a2, MethodAnswerTag}, true
		}
		if a2, ok := answerPhrase(a); ok {
			return found{a2, MethodAnswerTag}, true
		}
		return found{refine(a, false), MethodAnswerTag}, true
	}
	if a, ok := lastBoxes(text); ok {
		return found{a, MethodBoxed}, true
	}
	if a, ok := afterHashes(text); ok {
		return found{a, MethodHashes}, true
	}
	if a, ok := answerPhrase(text); ok {
		return found{a, MethodPhrase}, true
	}
	return found{}, false
}

// answerRegion is the part of a completion its answer is looked for in:
// the text after </think> ([afterThink]), cut before a new few-shot turn
// ("\n\nQuestion: …") that follows an explicit answer.
func answerRegion(completion string) string {
	text := afterThink(completion)
	for _, loc := range nextTurnRE.FindAllStringIndex(text, 4) {
		if _, ok := explicitAnswer(text[:loc[0]]); ok {
			return text[:loc[0]]
		}
	}
	return text
}

// nextTurnRE starts a new few-shot turn a model went on to write.
var nextTurnRE = regexp.MustCompile(`\n\s*(?:Question|Problem|Q|Human|User)\s*:`)

// afterThink returns the text after the last </think>, or all of text when
// nothing follows it.
func afterThink(text string) string {
	i := strings.LastIndex(asciiLower(text), "</think>")
	if i < 0 {
		return text
	}
	if rest := strings.TrimSpace(text[i+len("</think>"):]); rest != "" {
		return rest
	}
	return text[:i]
}

// asciiLower lower-cases ASCII letters only, so byte offsets are kept.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// answerTag returns the content of the last <answer>…</answer> (to the end
// of text when the closing tag is missing).
func answerTag(text string) (string, bool) {
	low := asciiLower(text)
	i := strings.LastIndex(low, "<answer>")
	if i < 0 {
		return "", false
	}
	body := text[i+len("<answer>"):]
	if j := strings.Index(asciiLower(body), "</answer>"); j >= 0 {
		body = body[:j]
	}
	body = strings.TrimSpace(body)
	return body, body != ""
}

// lastBoxed returns the content of the last \boxed{…} or \fbox{…}, braces
// balanced; "\boxed 5" takes the next word. A box left open takes the rest.
func lastBoxed(text string) (string, bool) {
	i := max(strings.LastIndex(text, `\boxed`), strings.LastIndex(text, `\fbox`))
	if i < 0 {
		return "", false
	}
	rest := text[i+1:]
	rest = strings.TrimLeft(rest, "abcdefghijklmnopqrstuvwxyz")
	switch {
	case strings.HasPrefix(rest, "{"):
		inner, _, closed := braceGroup(rest)
		if !closed {
			inner = rest[1:]
		}
		inner = strings.TrimSpace(inner)
		return inner, inner != ""
	case strings.HasPrefix(rest, " "):
		w := strings.TrimSpace(rest)
		if j := strings.IndexAny(w, " \t\n$"); j >= 0 {
			w = w[:j]
		}
		return w, w != ""
	}
	return "", false
}

// boxSepRE is what may stand between boxes that together are one answer:
// "\boxed{2} and \boxed{3}", "$\boxed{2}$, $\boxed{3}$".
var boxSepRE = regexp.MustCompile(`^[\s,;$]*(?:(?:and|or|\\text\{\s*(?:and|or)\s*\})[\s,;$]*)?$`)

// lastBoxes returns the last \boxed{} answer; boxes just before it, joined
// to it by commas or "and"/"or" only, make one list answer with it.
func lastBoxes(text string) (string, bool) {
	last, ok := lastBoxed(text)
	if !ok {
		return "", false
	}
	type box struct {
		inner      string
		start, end int
	}
	var boxes []box
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], `\boxed{`)
		if j < 0 {
			break
		}
		start := i + j
		inner, after, closed := braceGroup(text[start+len(`\boxed`):])
		if !closed {
			break
		}
		end := len(text) - len(after)
		boxes = append(boxes, box{strings.TrimSpace(inner), start, end})
		i = end
	}
	n := len(boxes)
	if n < 2 || boxes[n-1].inner != last {
		return last, true
	}
	k := n - 1
	for k > 0 && boxSepRE.MatchString(text[boxes[k-1].end:boxes[k].start]) {
		k--
	}
	if k == n-1 {
		return last, true
	}
	parts := make([]string, 0, n-k)
	for _, b := range boxes[k:] {
		if b.inner != "" {
			parts = append(parts, b.inner)
		}
	}
	return strings.Join(parts, ", "), true
}

// braceGroup takes s starting with '{' and returns the content up to the
// matching '}', the text after it, and whether the group was closed. Escaped
// braces (\{ and \}) do not count.
func braceGroup(s string) (inner, after string, closed bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}

// afterHashes returns the rest of the line after the last "####".
func afterHashes(text string) (string, bool) {
	i := strings.LastIndex(text, "####")
	if i < 0 {
		return "", false
	}
	rest := strings.TrimLeft(text[i:], "#")
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	rest = strings.TrimSpace(rest)
	return rest, rest != ""
}

// answerPhraseRE finds "the answer is", "final answer:", "answer:", "the
// correct option is" (with markdown bold around); group 1 is "is", group 2
// the colon.
var answerPhraseRE = regexp.MustCompile(`(?i)\b(?:final\s+answer|answer|(?:correct\s+)?(?:option|choice))\b(?:\s*\*+)?(\s+is\b)?(?:\s*\*+)?\s*([:：])?`)

// answerPhrase returns the answer after the last answer phrase.
func answerPhrase(text string) (string, bool) {
	ms := answerPhraseRE.FindAllStringSubmatchIndex(text, -1)
	for k := len(ms) - 1; k >= 0 && k >= len(ms)-maxPhraseTries; k-- {
		m := ms[k]
		if m[2] < 0 && m[4] < 0 {
			continue // "answer" without "is" or a colon
		}
		a, ok := phraseTail(text[m[1]:])
		if !ok || wordCount(a) > maxPhraseWords {
			continue // "To answer this, we first ..." is no answer
		}
		return refine(a, true), true
	}
	return "", false
}

// sentenceEndRE finds where the sentence holding an answer ends: a period,
// '!' or '?' followed by a space, or a conjunction that starts a reason.
var sentenceEndRE = regexp.MustCompile(`[.!?](\s|$)|\s(?:because|since|as|which|so that|where)\s`)

// remarkRE is a parenthetical remark closing an answer: "42 (since 6*7)".
var remarkRE = regexp.MustCompile(`\s*\((?:[^()]*\s)?[A-Za-z]{3,}[^()]*\)\s*$`)

// phraseTail takes the answer that follows an answer phrase.
func phraseTail(tail string) (string, bool) {
	if len(tail) > maxTailLen {
		tail = tail[:maxTailLen]
	}
	tail = strings.TrimLeft(tail, " \t*:")
	if strings.HasPrefix(tail, "\n") || strings.HasPrefix(tail, "\r") {
		tail = strings.TrimLeft(tail, " \t\r\n*")
	}
	if j := strings.IndexByte(tail, '\n'); j >= 0 {
		tail = tail[:j]
	}
	tail = strings.TrimSpace(tail)
	if b, ok := lastBoxed(tail); ok {
		return b, true
	}
	if m, ok := leadingMath(tail); ok {
		return m, true
	}
	if loc := sentenceEndRE.FindStringIndex(tail); loc != nil {
		tail = tail[:loc[0]]
	}
	tail = remarkRE.ReplaceAllString(tail, "")
	tail = strings.TrimRight(strings.TrimSpace(tail), ".!?,;*")
	tail = strings.TrimSpace(tail)
	return tail, tail != ""
}

// leadingMath returns the math span s starts with: $…$, $$…$$, \(…\), \[…\].
func leadingMath(s string) (string, bool) {
	for _, d := range [][2]string{{"$$", "$$"}, {"$", "$"}, {`\(`, `\)`}, {`\[`, `\]`}} {
		if !strings.HasPrefix(s, d[0]) {
			continue
		}
		body := s[len(d[0]):]
		j := strings.Index(body, d[1])
		if d[0] == "$" {
			j = unescapedDollar(body)
		}
		if j < 0 {
			return "", false
		}
		body = strings.TrimSpace(body[:j])
		return body, body != ""
	}
	return "", false
}

// unescapedDollar returns the index of the first '$' in s not written "\$".
func unescapedDollar(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '$':
			return i
		}
	}
	return -1
}

// numberRE matches the numbers the last-number fallback considers: LaTeX
// fractions, simple fractions, thousands-separated and plain decimals, with
// an optional percent sign.
var numberRE = regexp.MustCompile(`\\[dt]?frac\{-?\d+\}\{\d+\}|-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?(?:\\?%)?|-?\.\d+`)

// lastNumber returns the last number in text.
func lastNumber(text string) (string, bool) {
	ms := numberRE.FindAllStringIndex(text, -1)
	if len(ms) == 0 {
		return "", false
	}
	m := ms[len(ms)-1]
	n := text[m[0]:withScale(text, m[1])]
	if strings.HasPrefix(n, "-") && m[0] > 0 && !strings.ContainsRune(" \t\n($=:[{", rune(text[m[0]-1])) {
		n = n[1:] // a hyphen, as in "3-4", not a minus sign
	}
	return n, true
}

// scaleAfterRE is a scale word right after a number: "1.5 million".
var scaleAfterRE = regexp.MustCompile(`^\s*(?i:thousand|million|billion|trillion)\b`)

// withScale returns end moved past a scale word that follows the number
// ending there.
func withScale(text string, end int) int {
	if loc := scaleAfterRE.FindStringIndex(text[end:]); loc != nil {
		return end + loc[1]
	}
	return end
}

// approxRemarkRE starts a remark restating an answer approximately:
// ", or about 16.7%", "(approximately 0.17)", "≈ 3.14".
var approxRemarkRE = regexp.MustCompile(`(?i)(?:,\s*|\s+|\s*\(\s*)(?:(?:or|which\s+is|that\s+is|i\.e\.,?)\s+)?(?:about|approximately|approx\.|roughly|around|nearly|\$?\\approx|≈)\s*\$?[-\d.]`)

// trimRemarks cuts text before a last-line remark that holds numbers but
// follows the answer: an approximate restatement or a parenthetical
// remark, when a number comes before it.
func trimRemarks(text string) string {
	start := strings.LastIndexByte(strings.TrimRight(text, " \t\r\n"), '\n') + 1
	start = max(start, len(text)-maxRemarkLen)
	line := text[start:]
	if loc := approxRemarkRE.FindStringIndex(line); loc != nil && numberRE.MatchString(line[:loc[0]]) {
		return text[:start+loc[0]]
	}
	trimmed := strings.TrimRight(line, " \t\r\n.!")
	if loc := remarkRE.FindStringIndex(trimmed); loc != nil && numberRE.MatchString(trimmed[:loc[0]]) {
		return text[:start+loc[0]]
	}
	return text
}

// maxRemarkLen bounds the end of a completion searched for a remark.
const maxRemarkLen = 300

// maxPhraseTries bounds how many answer phrases are tried, last first;
// maxTailLen bounds the text after one that is looked at.
const (
	maxPhraseTries = 16
	maxTailLen     = 1000
)

// maxPhraseWords is the most words an answer after an answer phrase may
// have; more means the phrase was prose.
const maxPhraseWords = 6

// refine reduces a sentence that holds a number ("She makes 18 dollars a
// day") to its first number (right after an answer phrase) or its last (in
// an answer tag); a mathematical answer or text without numbers ("Monday")
// is kept.
func refine(a string, first bool) string {
	if isBareAnswer(a) || !hasDigit(a) || !hasWord(normalizeAnswer(a)) {
		return a
	}
	if first {
		if loc := numberRE.FindStringIndex(a); loc != nil {
			return a[loc[0]:withScale(a, loc[1])]
		}
	}
	if n, ok := lastNumber(a); ok {
		return n
	}
	return a
}

// wordCount counts the runs of two or more letters in s that are not LaTeX
// commands.
func wordCount(s string) int {
	n := 0
	for i, j := range letterRuns(s) {
		if j-i >= 2 && (i == 0 || s[i-1] != '\\') {
			n++
		}
	}
	return n
}

// letterRuns yields where each run of ASCII letters in s starts and ends.
func letterRuns(s string) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := 0; i < len(s); {
			if !isLetter(s[i]) {
				i++
				continue
			}
			j := i
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			if !yield(i, j) {
				return
			}
			i = j
		}
	}
}

// mathSpanRE finds inline math: $…$, $$…$$, \(…\), \[…\].
var mathSpanRE = regexp.MustCompile(`\$\$([^$]+)\$\$|\$([^$]+)\$|\\\(([\s\S]+?)\\\)|\\\[([\s\S]+?)\\\]`)

// lastMath returns the last inline math span of text when it is itself an
// answer and no number follows it.
func lastMath(text string) (string, bool) {
	ms := mathSpanRE.FindAllStringSubmatchIndex(text, -1)
	if len(ms) == 0 {
		return "", false
	}
	m := ms[len(ms)-1]
	if numberRE.MatchString(text[m[1]:]) {
		return "", false
	}
	for g := 2; g < len(m); g += 2 {
		if m[g] >= 0 {
			span := strings.TrimSpace(text[m[g]:m[g+1]])
			return span, hasDigit(span) && isBareAnswer(span)
		}
	}
	return "", false
}

// isBareAnswer reports whether t, a whole completion, is itself an answer: a
// single short line that parses as mathematics with no words in it.
func isBareAnswer(t string) bool {
	if t == "" || len(t) > maxWholeLen || strings.ContainsAny(t, "\n") {
		return false
	}
	n := normalizeAnswer(t)
	if n == "" || hasWord(n) {
		return false
	}
	_, err := parseAnswer(n)
	return err == nil
}

// shortWords are two-letter English words; other two-letter runs ("ac",
// "xy") are products of variables.
var shortWords = map[string]bool{
	"is": true, "so": true, "it": true, "to": true, "of": true, "in": true, "on": true, "at": true,
	"be": true, "we": true, "he": true, "as": true, "or": true, "by": true, "if": true, "my": true,
	"no": true, "us": true, "do": true, "am": true,
}

// hasWord reports whether s holds a word: a run of three or more ASCII
// letters, or a two-letter English word, that is not a LaTeX command or a
// known mathematical name.
func hasWord(s string) bool {
	for i, j := range letterRuns(s) {
		cmd := i > 0 && s[i-1] == '\\' || strings.HasSuffix(s[:i], `\begin{`) || strings.HasSuffix(s[:i], `\end{`)
		if w := s[i:j]; !cmd && (len(w) >= 3 || shortWords[strings.ToLower(w)]) && !mathNames[w] {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
