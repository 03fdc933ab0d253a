package reward

import (
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strings"
)

// This file reads a normalized answer into a structure (a scalar, a tuple
// or interval, a set or list, a matrix) and compares two of them.

type answerKind uint8

const (
	aScalar   answerKind = iota
	aTuple               // ordered, with its brackets: (1,2), [0,1)
	aSet                 // unordered: {1,2}, "1, 2", unions of intervals, ± pairs
	aMatrix              // rows of a pmatrix/bmatrix, each an aTuple
	aEquation            // "a + 3z = 0": expr is left minus right
)

type answer struct {
	kind        answerKind
	open, close string // aTuple brackets
	elems       []*answer
	expr        *node // aScalar, aEquation
	pm          bool  // an aSet read from "a \pm b"
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
	if a, ok, err := parseInequality(s, depth); ok {
		return a, err
	}
	if strings.Count(s, `\pm`) == 1 && len(splitTop(s, "=")) == 1 {
		a, err := parseList([]string{strings.Replace(s, `\pm`, "+", 1), strings.Replace(s, `\pm`, "-", 1)}, aSet, depth)
		if err != nil {
			return nil, err
		}
		a.pm = true
		return a, nil
	}
	if parts := splitTop(s, "="); len(parts) > 1 {
		return parseRelation(parts, depth)
	}
	// "x \in [0,1)", "\frac13 \approx 0.33": the part after the last relation.
	for _, rel := range []string{`\approx`, `\in`} {
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

// parseRelation reads s split at "=" outside brackets. A named value
// ("x = 5", "f(x) = 2x+1", "a_n = 2n+1", "(p,q) = (1,2)": a name on the
// left that names every variable of the right) and a calculation ("2+3=5",
// no variables anywhere) are their last part. Anything else ("a + 3z = 0",
// "7 = 11a+c", "y = 2x+1") is an equation, which only an equation equals,
// so no side of it passes for the answer.
func parseRelation(parts []string, depth int) (*answer, error) {
	last := strings.TrimSpace(parts[len(parts)-1])
	if last == "" {
		return nil, fmt.Errorf("%w: nothing after \"=\"", errSyntax)
	}
	v, err := parseAnswerDepth(last, depth+1)
	if err != nil {
		return nil, err
	}
	vars := map[string]bool{}
	answerVars(v, vars)
	if covers(strings.TrimSpace(parts[0]), vars) {
		return v, nil
	}
	calculation := len(vars) == 0 && v.kind != aEquation
	for _, p := range parts[:len(parts)-1] {
		n, err := parseExpr(strings.TrimSpace(p))
		if err != nil {
			continue // words name the value: "total = 260", "0.75 hours = 45"
		}
		vs := map[string]bool{}
		freeVars(n, vs)
		calculation = calculation && len(vs) == 0
	}
	if calculation {
		return v, nil
	}
	if len(parts) != 2 || v.kind != aScalar {
		return nil, fmt.Errorf("%w: not a value or an equation of two sides", errSyntax)
	}
	l, err := parseExpr(strings.TrimSpace(parts[0]))
	if err != nil {
		return nil, err
	}
	return &answer{kind: aEquation, expr: &node{op: opSub, args: []*node{l, v.expr}}}, nil
}

var (
	// nameRE is a name a value is given under, perhaps with a subscript or
	// arguments: x, \theta, a_n, f(x), P(A).
	nameRE = regexp.MustCompile(`^(?:[A-Za-z]|\\[a-z]+)(?:_\{?\w+\}?)?(?:\s*\([^()=]*\))?$`)
	// pointsNameRE is a segment or angle named by its points: AB,
	// \overline{AB}, \angle ABC, m\angle A.
	pointsNameRE = regexp.MustCompile(`^(?:[A-Z]{2,3}|\\overline\s*\{[A-Z]{2}\}|(?:m\s*)?\\angle\s*[A-Z]{1,3})$`)
	// nameListRE is a tuple of names: (p,q,r).
	nameListRE = regexp.MustCompile(`^\(\s*(?:[A-Za-z]|\\[a-z]+)(?:_\{?\w+\}?)?(?:\s*,\s*(?:[A-Za-z]|\\[a-z]+)(?:_\{?\w+\}?)?)+\s*\)$`)
	// nameTokenRE is one letter or one command word of a name.
	nameTokenRE = regexp.MustCompile(`\\([A-Za-z]+)|[A-Za-z]`)
)

// covers reports whether label is a name for a value with the variables
// vars: the value may use the variables of the name's subscript or
// arguments, never the name itself. "x" covers none, "f(x)" covers x,
// "a_n" covers n.
func covers(label string, vars map[string]bool) bool {
	allowed := map[string]bool{}
	switch {
	case nameRE.MatchString(label):
		head := nameTokenRE.FindStringIndex(label)
		for _, m := range nameTokenRE.FindAllStringSubmatch(label[head[1]:], -1) {
			allowed[m[0]], allowed[m[1]] = true, true
		}
	case !pointsNameRE.MatchString(label) && !nameListRE.MatchString(label):
		return false
	}
	for v := range vars {
		base, sub, _ := strings.Cut(v, "_")
		if base == "" || !allowed[base] {
			return false
		}
		for _, m := range nameTokenRE.FindAllString(sub, -1) {
			if !allowed[m] {
				return false
			}
		}
	}
	return true
}

// answerVars collects the free variables of every expression in a.
func answerVars(a *answer, into map[string]bool) {
	if a.expr != nil {
		freeVars(a.expr, into)
	}
	for _, e := range a.elems {
		answerVars(e, into)
	}
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
		if kind == aSet && e.pm {
			a.elems = append(a.elems, e.elems...) // {1 \pm \sqrt{5}, -2} has three elements
			continue
		}
		a.elems = append(a.elems, e)
	}
	return a, nil
}

// inequalityOps are the comparison signs parseInequality reads, longest
// first; strict reports whether the bound is excluded.
var inequalityOps = []struct {
	text         string
	less, strict bool
}{
	{`\leqslant`, true, false}, {`\geqslant`, false, false}, {`\leq`, true, false}, {`\geq`, false, false},
	{`\le`, true, false}, {`\ge`, false, false}, {`\lt`, true, true}, {`\gt`, false, true},
	{"<=", true, false}, {">=", false, false}, {"<", true, true}, {">", false, true},
}

// varNameRE is a single variable: x, y_1, \theta.
var varNameRE = regexp.MustCompile(`^(?:[A-Za-z]|\\[a-z]+)(?:_\{?\w+\}?)?$`)

// parseInequality reads an inequality in one variable as the interval it
// describes: "x > 3" is (3, ∞), "-2 \le x < 7" is [-2, 7). ok is false when
// s holds no comparison sign outside brackets.
func parseInequality(s string, depth int) (a *answer, ok bool, err error) {
	var parts []string
	type op struct{ less, strict bool }
	var ops []op
	level, start := 0, 0
	for i := 0; i < len(s); i++ {
		if n := nest(s, i, &level); n > 0 {
			i += n - 1
			continue
		}
		if level > 0 {
			continue
		}
		for _, o := range inequalityOps {
			if !strings.HasPrefix(s[i:], o.text) {
				continue
			}
			end := i + len(o.text)
			if o.text[0] == '\\' && end < len(s) && isLetter(s[end]) {
				continue // \left, \let
			}
			parts = append(parts, strings.TrimSpace(s[start:i]))
			ops = append(ops, op{o.less, o.strict})
			start = end
			i = end - 1
			break
		}
	}
	if len(ops) == 0 {
		return nil, false, nil
	}
	parts = append(parts, strings.TrimSpace(s[start:]))
	bad := fmt.Errorf("%w: not an inequality in one variable", errSyntax)
	isVar := func(p string) bool { return varNameRE.MatchString(p) && p != "e" && p != `\pi` && p != `\infty` }
	inf := &answer{kind: aScalar, expr: &node{op: opConst, name: "inf"}}
	negInf := &answer{kind: aScalar, expr: &node{op: opNeg, args: []*node{inf.expr}}}
	bound := func(p string) (*answer, error) {
		b, err := parseAnswerDepth(p, depth+1)
		if err != nil {
			return nil, err
		}
		if b.kind != aScalar {
			return nil, bad
		}
		return b, nil
	}
	interval := func(lo, hi *answer, loOpen, hiOpen bool) *answer {
		open, close := "[", "]"
		if loOpen {
			open = "("
		}
		if hiOpen {
			close = ")"
		}
		return &answer{kind: aTuple, open: open, close: close, elems: []*answer{lo, hi}}
	}
	switch {
	case len(parts) == 2 && isVar(parts[0]) != isVar(parts[1]):
		o := ops[0]
		if isVar(parts[1]) { // "3 < x" is "x > 3"
			o.less = !o.less
			parts[0], parts[1] = parts[1], parts[0]
		}
		b, err := bound(parts[1])
		if err != nil {
			return nil, true, err
		}
		if o.less {
			return interval(negInf, b, true, o.strict), true, nil
		}
		return interval(b, inf, o.strict, true), true, nil
	case len(parts) == 3 && isVar(parts[1]) && ops[0].less == ops[1].less:
		lo, hi := parts[0], parts[2]
		loOp, hiOp := ops[0], ops[1]
		if !ops[0].less { // "7 > x \ge -2"
			lo, hi, loOp, hiOp = hi, lo, hiOp, loOp
		}
		l, err := bound(lo)
		if err != nil {
			return nil, true, err
		}
		h, err := bound(hi)
		if err != nil {
			return nil, true, err
		}
		return interval(l, h, loOp.strict, hiOp.strict), true, nil
	}
	return nil, true, bad
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
		if n := nest(s, i, &depth); n > 0 {
			i += n - 1
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

// nest counts the bracket that starts s[i:], if any, in *depth (one more
// for an opener, one less for a closer, never below zero) and returns its
// length, for the scan to skip it; 0 when no bracket starts there.
func nest(s string, i int, depth *int) int {
	b, opens, ok := bracket(s, i)
	switch {
	case !ok:
		return 0
	case opens:
		*depth++
	case *depth > 0:
		*depth--
	}
	return len(b)
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
	case a.kind == aEquation || b.kind == aEquation:
		return a.kind == b.kind && proportional(a.expr, b.expr, tol)
	case a.kind == aMatrix && b.kind == aTuple:
		return equalVector(a, b, tol)
	case a.kind == aTuple && b.kind == aMatrix:
		return equalVector(b, a, tol)
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

// equalVector compares a matrix of one row or one column with a tuple
// written in parentheses or square brackets: the vector (6, -4) is the
// column \begin{pmatrix} 6 \\ -4 \end{pmatrix}.
func equalVector(m, t *answer, tol float64) bool {
	if !(t.open == "(" && t.close == ")" || t.open == "[" && t.close == "]") {
		return false
	}
	var entries []*answer
	switch {
	case len(m.elems) == 1:
		entries = m.elems[0].elems
	default:
		for _, row := range m.elems {
			if len(row.elems) != 1 {
				return false
			}
			entries = append(entries, row.elems[0])
		}
	}
	if len(entries) != len(t.elems) {
		return false
	}
	for i := range entries {
		if !equalAnswers(entries[i], t.elems[i], tol) {
			return false
		}
	}
	return true
}

// samplePoints is how many points expressions with free variables are
// compared at: the first samplePoints in [0.5, 2.5), where both sides must
// be defined alike, then negPoints in (-2.5, -0.5], which tell x from |x|
// and where a point only one side is defined at is skipped.
const (
	samplePoints = 5
	negPoints    = 3
)

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
	for k := range samplePoints + negPoints {
		point := map[string]float64{}
		for v := range vars {
			point[v] = samplePoint(v, k)
		}
		envA.vars, envB.vars = point, point
		x, errA := eval(a, envA)
		y, errB := eval(b, envB)
		if errA != nil || errB != nil {
			if (errA == nil) != (errB == nil) && k < samplePoints {
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
// from integers, in [0.5, 2.5) for k < samplePoints and negated beyond.
func samplePoint(v string, k int) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", v, k)
	x := 0.5 + float64(h.Sum64()%1_000_003)/1_000_003*2 + 1e-4
	if k >= samplePoints {
		return -x
	}
	return x
}

// equalEquations compares two equations as equations: "y = -x/2 + 3" and
// "x + 2y = 6" are equal because their sides' differences are proportional
// (by a constant other than 0) at every sample point.
func equalEquations(a, b string, tol float64) bool {
	fa, ok := equationNode(a)
	if !ok {
		return false
	}
	fb, ok := equationNode(b)
	return ok && proportional(fa, fb, tol)
}

// proportional reports whether fa and fb, each an equation's left side
// minus its right, are proportional by a constant other than 0 at every
// sample point: then the equations fa = 0 and fb = 0 are the same.
func proportional(fa, fb *node, tol float64) bool {
	vars := map[string]bool{}
	freeVars(fa, vars)
	freeVars(fb, vars)
	if len(vars) == 0 {
		return false
	}
	env := &evalEnv{}
	ratio, valid := 0.0, 0
	for k := range samplePoints + negPoints {
		point := map[string]float64{}
		for v := range vars {
			point[v] = samplePoint(v, k)
		}
		env.vars = point
		x, errA := eval(fa, env)
		y, errB := eval(fb, env)
		if errA != nil || errB != nil || math.IsInf(x.f, 0) || math.IsInf(y.f, 0) {
			continue
		}
		if closeFloats(x.f, 0, 0, 1e-9) || closeFloats(y.f, 0, 0, 1e-9) {
			if closeFloats(x.f, 0, 0, 1e-9) != closeFloats(y.f, 0, 0, 1e-9) {
				return false
			}
			continue
		}
		r := x.f / y.f
		if valid > 0 && !closeFloats(r, ratio, tol, 0) {
			return false
		}
		ratio = r
		valid++
	}
	return valid >= 2
}

// equationNode reads "L = R", with one "=" outside brackets, as L - R.
func equationNode(s string) (*node, bool) {
	sides := splitTop(s, "=")
	if len(sides) != 2 {
		return nil, false
	}
	l, err := parseExpr(strings.TrimSpace(sides[0]))
	if err != nil {
		return nil, false
	}
	r, err := parseExpr(strings.TrimSpace(sides[1]))
	if err != nil {
		return nil, false
	}
	return &node{op: opSub, args: []*node{l, r}}, true
}
