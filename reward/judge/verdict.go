package judge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Scale is what a verdict is: a score from Min to Max, or yes/no when
// YesNo is set (yes is 1, no is 0).
type Scale struct {
	Min, Max float64
	YesNo    bool
}

// normalize maps a verdict on s to [0, 1].
func (s Scale) normalize(v float64) float64 {
	if s.YesNo {
		return v
	}
	return (v - s.Min) / (s.Max - s.Min)
}

// errNoVerdict is wrapped by the parse errors: the reply holds no verdict
// that can be read.
var errNoVerdict = errors.New("no verdict")

// body is the part of a reply that holds the verdict: the text after the
// last </think> (a reasoning block is skipped). A reasoning block that never
// ends holds no verdict.
func body(reply string) (string, error) {
	if i := strings.LastIndex(reply, "</think>"); i >= 0 {
		return reply[i+len("</think>"):], nil
	}
	if strings.Contains(reply, "<think>") {
		return "", fmt.Errorf("%w: the reasoning block (<think>) never ends; raise max_tokens", errNoVerdict)
	}
	return reply, nil
}

// ParseVerdict reads one verdict on scale s from a judge's reply and
// returns it in [0, 1]. It reads, in order: a JSON object (bare or in a
// code fence) with a "score", "rating", "grade", "verdict" or "answer" key;
// a labelled verdict in prose ("Score: 7", "**Rating:** 8/10", "Verdict:
// yes"); a fraction of the scale's maximum ("7/10", "7 out of 10"); a reply
// that is only a number or yes/no. Text before the last </think> is
// skipped. A reply with none of these, or a score outside the scale, is an
// error that says why.
func ParseVerdict(reply string, s Scale) (float64, error) {
	text, err := body(reply)
	if err != nil {
		return 0, err
	}
	if obj, ok := findJSONObject(text); ok {
		if v, ok := lookup(obj, verdictKeys...); ok {
			return value(v, s)
		}
	}
	if v, ok := labelled(text, verdictLabels); ok {
		return readValue(v, s)
	}
	if !s.YesNo {
		if m := fractionRE.FindAllStringSubmatch(text, -1); m != nil {
			for i := len(m) - 1; i >= 0; i-- {
				den, _ := strconv.ParseFloat(m[i][2], 64)
				if den == s.Max {
					return readValue(m[i][1], s)
				}
			}
		}
	}
	if t := trimDecor(text); t != "" && !strings.ContainsAny(t, "\n") {
		if v, err := readValue(t, s); err == nil {
			return v, nil
		}
	} else if last := lastLine(text); last != "" {
		if v, err := readValue(last, s); err == nil {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: found no %s in the reply", errNoVerdict, s.what())
}

// what names the verdict s asks for, for errors.
func (s Scale) what() string {
	if s.YesNo {
		return "yes/no verdict"
	}
	return fmt.Sprintf("score from %g to %g", s.Min, s.Max)
}

var verdictKeys = []string{"score", "rating", "grade", "verdict", "answer", "final_score", "overall"}

// numberRE matches a number.
var numberRE = regexp.MustCompile(`^[-+]?(\d+(\.\d*)?|\.\d+)`)

// fractionRE matches "7/10" and "7 out of 10".
var fractionRE = regexp.MustCompile(`([-+]?\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+(?:\.\d+)?)`)

// value reads a JSON value (a number, or a string) as a verdict on s.
func value(v any, s Scale) (float64, error) {
	switch x := v.(type) {
	case float64:
		return check(x, s)
	case bool:
		if s.YesNo {
			if x {
				return 1, nil
			}
			return 0, nil
		}
	case string:
		return readValue(x, s)
	case map[string]any: // {"score": {"value": 7}} or {"score": {"score": 7, "reason": ...}}
		if inner, ok := lookup(x, append([]string{"value"}, verdictKeys...)...); ok {
			return value(inner, s)
		}
	}
	return 0, fmt.Errorf("%w: the verdict %v is not a %s", errNoVerdict, v, s.what())
}

// readValue reads text such as "7", "7/10", "8.5 out of 10", "yes." as a
// verdict on s.
func readValue(text string, s Scale) (float64, error) {
	t := trimDecor(text)
	if s.YesNo {
		w := strings.ToLower(strings.TrimRightFunc(firstWord(t), func(r rune) bool { return !unicode.IsLetter(r) }))
		switch w {
		case "yes", "true", "pass", "correct":
			return 1, nil
		case "no", "false", "fail", "incorrect":
			return 0, nil
		}
		return 0, fmt.Errorf("%w: %q is not yes or no", errNoVerdict, abbreviate(t))
	}
	if m := fractionRE.FindStringSubmatch(t); m != nil && strings.HasPrefix(t, m[0]) {
		den, _ := strconv.ParseFloat(m[2], 64)
		if den != s.Max {
			return 0, fmt.Errorf("%w: %q is not on the scale %g to %g", errNoVerdict, m[0], s.Min, s.Max)
		}
		t = m[1]
	}
	n := numberRE.FindString(t)
	if n == "" {
		return 0, fmt.Errorf("%w: %q is not a number", errNoVerdict, abbreviate(t))
	}
	if rest := strings.TrimSpace(t[len(n):]); rest != "" && !allowedAfterNumber(rest) {
		return 0, fmt.Errorf("%w: %q is not a number", errNoVerdict, abbreviate(t))
	}
	x, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a number", errNoVerdict, n)
	}
	return check(x, s)
}

// allowedAfterNumber reports whether rest may follow a verdict's number
// ("7." "7 points" "7, because ..." "7 - good").
func allowedAfterNumber(rest string) bool {
	switch r := rune(rest[0]); {
	case r == '.' || r == ',' || r == ';' || r == ')' || r == '-' || r == '(' || r == '—' || r == '*':
		return true
	case unicode.IsLetter(r):
		return true
	}
	return strings.HasPrefix(rest, "—")
}

// check checks that x is on the scale and normalizes it.
func check(x float64, s Scale) (float64, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%w: %v is not a score", errNoVerdict, x)
	}
	if s.YesNo {
		if x == 0 || x == 1 {
			return x, nil
		}
		return 0, fmt.Errorf("%w: %g is not yes (1) or no (0)", errNoVerdict, x)
	}
	if x < s.Min || x > s.Max {
		return 0, fmt.Errorf("%w: the score %g is outside the scale %g to %g", errNoVerdict, x, s.Min, s.Max)
	}
	return s.normalize(x), nil
}

// labelled finds the last "LABEL: VALUE" of l in text and returns VALUE.
// It looks at the lines that mention a label, from the last: the regexp
// runs on a few short lines, not on a long reasoned reply.
func labelled(text string, l *labels) (string, bool) {
	for end := len(text); end > 0; {
		start := strings.LastIndexByte(text[:end], '\n') + 1
		line := text[start:end]
		end = start - 1
		if !l.mentioned(line) {
			continue
		}
		if m := l.re.FindAllStringSubmatch(line, -1); m != nil {
			return m[len(m)-1][1], true
		}
	}
	return "", false
}

// labels are the labels of a verdict with their regexp.
type labels struct {
	words []string // lower case, with spaces
	re    *regexp.Regexp
}

// newLabels returns the labels keys.
func newLabels(keys []string) *labels {
	l := &labels{re: labelRE(keys)}
	for _, k := range keys {
		l.words = append(l.words, strings.ToLower(strings.ReplaceAll(k, "_", " ")))
	}
	return l
}

// mentioned reports whether line may hold one of the labels.
func (l *labels) mentioned(line string) bool {
	lower := strings.ReplaceAll(strings.ToLower(line), "_", " ")
	for _, w := range l.words {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// labelRE returns the regexp of "LABEL: VALUE", "LABEL is VALUE" and
// "LABEL of VALUE" for the labels keys (any case; a space or an underscore
// in a label matches either; markdown emphasis allowed around the label).
func labelRE(keys []string) *regexp.Regexp {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		q := regexp.QuoteMeta(strings.ReplaceAll(k, "_", " "))
		quoted[i] = strings.ReplaceAll(q, " ", `[ _]`)
	}
	return regexp.MustCompile(`(?im)(?:^|[^\pL\pN])(?:` + strings.Join(quoted, "|") + `)(?:\*\*|__)?\s*(?:[:=]|\bis\b|\bof\b)\s*(?:\*\*|__)?\s*([^\n]+)`)
}

// verdictLabels are the labels of verdictKeys.
var verdictLabels = newLabels(verdictKeys)

// trimDecor removes markdown emphasis, quotes, brackets and space around s.
func trimDecor(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("*_`\"'[]", r)
	})
}

func firstWord(s string) string {
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return s[:i]
	}
	return s
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return trimDecor(s)
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// findJSONObject returns the last JSON object in text: inside a code fence
// (```json ... ```) when there is one, else the last balanced {...} that
// decodes.
func findJSONObject(text string) (map[string]any, bool) {
	v, ok := findJSON(text, '{')
	if !ok {
		return nil, false
	}
	obj, ok := v.(map[string]any)
	return obj, ok
}

// findJSON returns the last JSON value opening with open ('{' or '[') in
// text, looking first inside code fences.
func findJSON(text string, open byte) (any, bool) {
	for _, block := range slicesReverse(fences(text)) {
		if v, ok := lastJSON(block, open); ok {
			return v, true
		}
	}
	return lastJSON(text, open)
}

// fences returns the contents of the ``` code fences of text.
func fences(text string) []string {
	var out []string
	for {
		i := strings.Index(text, "```")
		if i < 0 {
			return out
		}
		rest := text[i+3:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 && !strings.ContainsAny(rest[:nl], "{[") {
			rest = rest[nl+1:] // the fence's language tag
		}
		j := strings.Index(rest, "```")
		if j < 0 {
			return append(out, rest)
		}
		out = append(out, rest[:j])
		text = rest[j+3:]
	}
}

func slicesReverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// maxJSONTries bounds the openings lastJSON tries to decode, so that a reply
// full of braces costs little.
const maxJSONTries = 64

// lastJSON returns the last value opening with open in text that decodes
// as JSON (what follows it is ignored): the outermost one, when values
// nest.
func lastJSON(text string, open byte) (any, bool) {
	var best any
	bestStart, bestEnd := -1, -1
	for end, tries := len(text), 0; end > 0 && tries < maxJSONTries; tries++ {
		i := strings.LastIndexByte(text[:end], open)
		if i < 0 {
			break
		}
		end = i
		dec := json.NewDecoder(strings.NewReader(text[i:]))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			continue
		}
		e := i + int(dec.InputOffset())
		if bestStart >= 0 && e <= bestStart {
			break // an earlier value, apart from the one found
		}
		if bestStart < 0 || e >= bestEnd {
			best, bestStart, bestEnd = v, i, e
		}
	}
	if bestStart < 0 {
		return nil, false
	}
	return plainNumbers(best), true
}

// plainNumbers turns the json.Numbers of v into float64s.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	}
	return v
}

// lookup returns the value of the first of keys in obj, compared without
// case, spaces or underscores.
func lookup(obj map[string]any, keys ...string) (any, bool) {
	for _, want := range keys {
		for k, v := range obj {
			if squash(k) == squash(want) {
				return v, true
			}
		}
	}
	return nil, false
}

// squash lowers s and drops what is not a letter or digit.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// parseRubric reads one verdict per criterion (named names) on scale s
// from a judge's reply: a JSON object keyed by the criteria's names (at the
// top or under "scores"), or lines "NAME: VALUE". It returns the values in
// [0, 1], with an error for each criterion it could not read; err is set
// when it could read none.
func parseRubric(reply string, names []string, s Scale) (vals []float64, errs []error, err error) {
	text, err := body(reply)
	if err != nil {
		return nil, nil, err
	}
	vals, errs = make([]float64, len(names)), make([]error, len(names))
	obj, hasObj := findJSONObject(text)
	if hasObj {
		if inner, ok := lookup(obj, "scores", "criteria", "ratings"); ok {
			if m, ok := inner.(map[string]any); ok {
				obj = m
			}
		}
	}
	read := 0
	for i, name := range names {
		vals[i], errs[i] = 0, fmt.Errorf("%w: found no %s for %q in the reply", errNoVerdict, s.what(), name)
		if hasObj {
			if v, ok := lookup(obj, name); ok {
				vals[i], errs[i] = value(v, s)
				if errs[i] == nil {
					read++
				}
				continue
			}
		}
		if v, ok := labelled(text, newLabels([]string{name})); ok {
			vals[i], errs[i] = readValue(v, s)
			if errs[i] == nil {
				read++
			}
		}
	}
	if read == 0 {
		return nil, nil, fmt.Errorf("%w: found no %s for any criterion (%s) in the reply", errNoVerdict, s.what(), strings.Join(names, ", "))
	}
	return vals, errs, nil
}

// responseRE matches "Response 2: 7" and its kin in prose.
var responseRE = regexp.MustCompile(`(?im)(?:^|[^\pL\pN])(?:response|sample|answer|candidate)\s*#?\s*(\d+)\s*(?:\*\*|__)?\s*[:=\-–—]\s*(?:\*\*|__)?\s*(?:score\s*[:=]?\s*)?([^\n]+)`)

// parseGroup reads one verdict per response of a group of n from a
// judge's reply: {"scores": [...]} (numbers, or objects with an "id" or
// "response" and a "score"), an object keyed "1".."n", a bare JSON array,
// or lines "Response K: VALUE". It returns the values in [0, 1]; every
// response must have one.
func parseGroup(reply string, n int, s Scale) ([]float64, error) {
	text, err := body(reply)
	if err != nil {
		return nil, err
	}
	var list []any
	if obj, ok := findJSONObject(text); ok {
		if inner, ok := lookup(obj, "scores", "ratings", "results", "rankings"); ok {
			switch x := inner.(type) {
			case []any:
				list = x
			case map[string]any:
				obj = x
			}
		}
		if list == nil {
			if vals, err := keyedScores(obj, n, s); err == nil {
				return vals, nil
			}
		}
	}
	if list == nil {
		if v, ok := findJSON(text, '['); ok {
			list, _ = v.([]any)
		}
	}
	if list != nil {
		return listScores(list, n, s)
	}
	vals, found := make([]float64, n), make([]bool, n)
	for _, m := range responseRE.FindAllStringSubmatch(text, -1) {
		k, err := strconv.Atoi(m[1])
		if err != nil || k < 1 || k > n {
			continue
		}
		if v, err := readValue(m[2], s); err == nil {
			vals[k-1], found[k-1] = v, true
		}
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("%w: found no %s for response %d of %d in the reply", errNoVerdict, s.what(), i+1, n)
		}
	}
	return vals, nil
}

// listScores reads a JSON list of n verdicts: numbers or strings in order,
// or objects with a score and an "id"/"response"/"index" (1-based).
func listScores(list []any, n int, s Scale) ([]float64, error) {
	if len(list) != n {
		return nil, fmt.Errorf("%w: the reply scores %d responses, not %d", errNoVerdict, len(list), n)
	}
	vals, found := make([]float64, n), make([]bool, n)
	for i, item := range list {
		k := i
		if obj, ok := item.(map[string]any); ok {
			if id, ok := lookup(obj, "id", "response", "index", "sample"); ok {
				f, isNum := id.(float64)
				if !isNum || f != math.Trunc(f) || f < 1 || f > float64(n) {
					return nil, fmt.Errorf("%w: %v is not a response number from 1 to %d", errNoVerdict, id, n)
				}
				k = int(f) - 1
			}
		}
		v, err := value(item, s)
		if err != nil {
			return nil, fmt.Errorf("response %d: %w", k+1, err)
		}
		vals[k], found[k] = v, true
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("%w: found no %s for response %d of %d in the reply", errNoVerdict, s.what(), i+1, n)
		}
	}
	return vals, nil
}

// keyedScores reads an object keyed "1".."n" (or "response 1"...).
func keyedScores(obj map[string]any, n int, s Scale) ([]float64, error) {
	vals := make([]float64, n)
	for i := range n {
		k := strconv.Itoa(i + 1)
		v, ok := lookup(obj, k, "response "+k, "response_"+k, "sample "+k)
		if !ok {
			return nil, fmt.Errorf("%w: found no %s for response %d of %d in the reply", errNoVerdict, s.what(), i+1, n)
		}
		x, err := value(v, s)
		if err != nil {
			return nil, fmt.Errorf("response %d: %w", i+1, err)
		}
		vals[i] = x
	}
	return vals, nil
}
