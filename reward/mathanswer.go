package reward

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
)

// This file reads a normalized answer into a structure (a scalar, a tuple
// or interval, a set or list, a matrix) and compares two of them.

type answerKind uint8

const (
	aScalar answerKind = iota
	aTuple             // ordered, with its brackets: (1,2), [0,1)
	aSet               // unordered: {1,2}, "1, 2", unions of intervals, ± pairs
	aMatrix            // rows of a pmatrix/bmatrix, each an aTuple
)

type answer struct {
	kind        answerKind
	open, close string // aTuple brackets
	elems       []*answer
	expr        *node // aScalar
}

// maxElems bounds the elements compared in one answer.
const maxElems = 64

var (
	matrixRE = regexp.MustCompile(`^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{([pbvBV]?matrix|array)\}$`)
	// thousandsRE is a number written with thousands separators: 1,234,567.89.
	thousandsRE = regexp.MustCompile(`^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$`)
	// spacedThousandsRE is a number grouped by spaces: 1 234 567.
	spacedThousandsRE = regexp.MustCompile(`^-?\d{1,3}(?: \d{3})+(?:\.\d+)?%?$`)
)

// parseAnswer reads a normalized answer.
func parseAnswer(s string) (*answer, error) {
	return parseAnswerDepth(s, 0)
}

func parseAnswerDepth(s string, depth int) (*answer, error) {
	if depth > 8 {
		return nil, fmt.Errorf("%w: nested too deeply", errSyntax)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", errSyntax)
	}
	if len(s) > maxExprLen {
		return nil, fmt.Errorf("%w: too long", errSyntax)
	}
	if m := matrixRE.FindStringSubmatch(s); m != nil {
		return parseMatrix(m[2], depth)
	}
	if parts := splitTop(s, `\cup`); len(parts) > 1 {
		return parseList(parts, aSet, depth)
	}
	if thousandsRE.MatchString(s) || spacedThousandsRE.MatchString(s) {
		return parseScalar(strings.ReplaceAll(strings.ReplaceAll(s, ",", ""), " ", ""))
	}
	if parts := splitTop(s, ","); len(parts) > 1 {
		return parseList(parts, aSet, depth)
	}
	if open, inner, close, ok := enclosed(s); ok {
		parts := splitTop(inner, ",")
		switch {
		case open == "{" || open == `\{`:
			if len(parts) > 1 {
				return parseList(parts, aSet, depth)
			}
			return parseAnswerDepth(inner, depth+1)
		case len(parts) > 1:
			a, err := parseList(parts, aTuple, depth)
			if err != nil {
				return nil, err
			}
			a.open, a.close = open, close
			return a, nil
		case open == "[" && close == "]":
			return parseAnswerDepth(inner, depth+1)
		}
	}
	if strings.Count(s, `\pm`) == 1 && len(splitTop(s, "=")) == 1 {
		return parseList([]string{strings.Replace(s, `\pm`, "+", 1), strings.Replace(s, `\pm`, "-", 1)}, aSet, depth)
	}
	// "x = 5", "x \in [0,1)", "2+3=5": the part after the last relation.
	for _, rel := range []string{"=", `\approx`, `\in`} {
		if parts := splitTop(s, rel); len(parts) > 1 {
			last := strings.TrimSpace(parts[len(parts)-1])
			if last == "" {
				return nil, fmt.Errorf("%w: nothing after %q", errSyntax, rel)
			}
			return parseAnswerDepth(last, depth+1)
		}
	}
	return parseScalar(s)
}

func parseScalar(s string) (*answer, error) {
	n, err := parseExpr(s)
	if err != nil {
		return nil, err
	}
	return &answer{kind: aScalar, expr: n}, nil
}

func parseList(parts []string, kind answerKind, depth int) (*answer, error) {
	if len(parts) > maxElems {
		return nil, fmt.Errorf("%w: too many elements", errSyntax)
	}
	a := &answer{kind: kind}
	for _, p := range parts {
		e, err := parseAnswerDepth(p, depth+1)
		if err != nil {
			return nil, err
		}
		a.elems = append(a.elems, e)
	}
	return a, nil
}

func parseMatrix(body string, depth int) (*answer, error) {
	m := &answer{kind: aMatrix}
	for _, row := range strings.Split(body, `\\`) {
		if strings.TrimSpace(row) == "" {
			continue
		}
		r, err := parseList(strings.Split(row, "&"), aTuple, depth)
		if err != nil {
			return nil, err
		}
		m.elems = append(m.elems, r)
		if len(m.elems) > maxElems {
			return nil, fmt.Errorf("%w: too many rows", errSyntax)
		}
	}
	if len(m.elems) == 0 {
		return nil, fmt.Errorf("%w: empty matrix", errSyntax)
	}
	return m, nil
}

// bracket returns the bracket that starts s[i:], if any: ( [ { \{ or their
// closers, and whether it opens.
func bracket(s string, i int) (b string, opens, ok bool) {
	switch c := s[i]; c {
	case '(', '[', '{':
		return string(c), true, true
	case ')', ']', '}':
		return string(c), false, true
	case '\\':
		if i+1 < len(s) {
			switch s[i+1] {
			case '{':
				return `\{`, true, true
			case '}':
				return `\}`, false, true
			case '\\':
				return `\\`, false, false
			}
		}
	}
	return "", false, false
}

// splitTop splits s at sep where sep is outside all brackets. Brackets of
// any kind nest together, so intervals like [0,1) count as groups.
func splitTop(s, sep string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		if b, opens, ok := bracket(s, i); ok {
			if opens {
				depth++
			} else if depth > 0 {
				depth--
			}
			i += len(b) - 1
			continue
		}
		if s[i] == '\\' && strings.HasPrefix(s[i:], `\\`) {
			i++
			continue
		}
		if depth == 0 && strings.HasPrefix(s[i:], sep) {
			if sep[0] == '\\' && i+len(sep) < len(s) && isLetter(s[i+len(sep)]) {
				continue // \in inside \infty
			}
			parts = append(parts, s[start:i])
			start = i + len(sep)
			i = start - 1
		}
	}
	return append(parts, s[start:])
}

// enclosed reports whether s is one bracketed group, returning its
// brackets and content: "(1,2)", "[0,1)", "\{1,2\}".
func enclosed(s string) (open, inner, close string, ok bool) {
	first, opens, isB := bracket(s, 0)
	if !isB || !opens {
		return "", "", "", false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		b, o, isB := bracket(s, i)
		if !isB {
			if s[i] == '\\' {
				i++
			}
			continue
		}
		if o {
			depth++
		} else {
			depth--
		}
		end := i + len(b)
		if depth == 0 {
			if end != len(s) {
				return "", "", "", false
			}
			if (first == "{") != (b == "}") || (first == `\{`) != (b == `\}`) {
				return "", "", "", false
			}
			return first, s[len(first):i], b, true
		}
		i = end - 1
	}
	return "", "", "", false
}

// equalAnswers compares two parsed answers.
func equalAnswers(a, b *answer, tol float64) bool {
	switch {
	case a.kind == aScalar && b.kind == aScalar:
		return equalScalars(a.expr, b.expr, tol)
	case a.kind != b.kind || len(a.elems) != len(b.elems):
		return false
	case a.kind == aTuple:
		if a.open != b.open || a.close != b.close {
			return false
		}
		fallthrough
	case a.kind == aMatrix:
		for i := range a.elems {
			if !equalAnswers(a.elems[i], b.elems[i], tol) {
				return false
			}
		}
		return true
	}
	// Sets: every element of a matches a distinct element of b.
	used := make([]bool, len(b.elems))
next:
	for _, x := range a.elems {
		for j, y := range b.elems {
			if !used[j] && equalAnswers(x, y, tol) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

// samplePoints is how many points expressions with free variables are
// compared at.
const samplePoints = 5

// equalScalars compares two expressions. A percentage on either side is
// tried both as itself and divided by 100. Expressions with free variables
// are compared at fixed points.
func equalScalars(a, b *node, tol float64) bool {
	vars := map[string]bool{}
	freeVars(a, vars)
	freeVars(b, vars)
	for _, pa := range pctModes(a) {
		for _, pb := range pctModes(b) {
			if equalAt(a, b, vars, pa, pb, tol) {
				return true
			}
		}
	}
	return false
}

func pctModes(n *node) []bool {
	if hasOp(n, opPct) {
		return []bool{false, true}
	}
	return []bool{false}
}

func equalAt(a, b *node, vars map[string]bool, pctA, pctB bool, tol float64) bool {
	envA := &evalEnv{pctDivides: pctA}
	envB := &evalEnv{pctDivides: pctB}
	if len(vars) == 0 {
		x, err := eval(a, envA)
		if err != nil {
			return false
		}
		y, err := eval(b, envB)
		return err == nil && closeValues(x, y, tol)
	}
	valid := 0
	for k := range samplePoints {
		point := map[string]float64{}
		for v := range vars {
			point[v] = samplePoint(v, k)
		}
		envA.vars, envB.vars = point, point
		x, errA := eval(a, envA)
		y, errB := eval(b, envB)
		if errA != nil || errB != nil {
			if (errA == nil) != (errB == nil) {
				return false
			}
			continue
		}
		if !closeValues(x, y, tol) {
			return false
		}
		valid++
	}
	return valid >= 2
}

// samplePoint is variable v's value at point k: distinct per name, away
// from integers, in [0.5, 2.5).
func samplePoint(v string, k int) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", v, k)
	return 0.5 + float64(h.Sum64()%1_000_003)/1_000_003*2 + 1e-4
}
