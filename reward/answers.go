package reward

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
)

// DefaultTolerance is math_equal's relative tolerance for inexact values.
const DefaultTolerance = 1e-6

// Equivalent reports whether two extracted answers are mathematically
// equal (see the package doc for the rules). tol is the relative tolerance
// for inexact values; 0 means [DefaultTolerance].
func Equivalent(gold, pred string, tol float64) bool {
	if tol <= 0 {
		tol = DefaultTolerance
	}
	g, p := normalizeAnswer(gold), normalizeAnswer(pred)
	if g == "" || p == "" {
		return false
	}
	if looseKey(g) == looseKey(p) {
		return true
	}
	if c, ok := choiceLetter(g, goldChoiceRE); ok {
		if d, ok := choiceLetter(p, predChoiceRE); ok {
			return c == d
		}
	}
	// A reference with both the letter and the value, "(B) 12" (AMC
	// problems in MATH): either matches.
	if m := choiceValueRE.FindStringSubmatch(g); m != nil {
		if d, ok := choiceLetter(p, predChoiceRE); ok {
			return m[1][0]&^0x20 == d
		}
		return Equivalent(m[2], p, tol)
	}
	ga, errG := parseAnswer(g)
	pa, errP := parseAnswer(p)
	if errG == nil && errP == nil && equalAnswers(ga, pa, tol) {
		return true
	}
	if equalEquations(g, p, tol) {
		return true
	}
	// "x = \frac{1}{3} \approx 0.33": the exact value before \approx counts.
	if parts := splitTop(p, `\approx`); len(parts) > 1 && strings.TrimSpace(parts[0]) != "" {
		if Equivalent(g, parts[0], tol) {
			return true
		}
	}
	// A unit letter beside a constant: "5 m", "30 m^2" against 30.
	if errG == nil && isConstant(ga) {
		if q, ok := dropUnitLetter(p); ok {
			qa, err := parseAnswer(q)
			return err == nil && equalAnswers(ga, qa, tol)
		}
	}
	if errP == nil && isConstant(pa) {
		if q, ok := dropUnitLetter(g); ok {
			qa, err := parseAnswer(q)
			return err == nil && equalAnswers(qa, pa, tol)
		}
	}
	return false
}

// Multiple-choice answers: a reference "(C)" or "C" is matched by a
// prediction that starts with that letter ("(C) 12", "C)", "C. 12",
// "option C").
var (
	goldChoiceRE  = regexp.MustCompile(`^(?:\(([A-Ha-h])\)|([A-H]))$`)
	choiceValueRE = regexp.MustCompile(`^\(([A-Ha-h])\)\s*([^\s,;(].*)$`)
	predChoiceRE  = regexp.MustCompile(`^(?:(?i:option|choice)\s*)?(?:\(([A-Ha-h])\)(?:\s.*)?|([A-H])\)(?:\s.*)?|([A-H])(?:[.:]\s.*)?)$`)
)

// choiceLetter returns the upper-case choice letter re finds in s.
func choiceLetter(s string, re *regexp.Regexp) (byte, bool) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	for _, g := range m[1:] {
		if g != "" {
			return g[0] &^ 0x20, true
		}
	}
	return 0, false
}

// unitLetterRE is a quantity followed by a one-letter unit (metres,
// seconds, grams, hours, litres), perhaps squared or cubed.
var unitLetterRE = regexp.MustCompile(`^(.*[\d}])\s*(?:m|s|g|h|l|L)\s*(?:\^\s*\{?\s*[23]\s*\}?)?$`)

// dropUnitLetter removes a one-letter unit after a quantity.
func dropUnitLetter(s string) (string, bool) {
	m := unitLetterRE.FindStringSubmatch(s)
	if m == nil || !hasDigit(m[1]) {
		return "", false
	}
	return m[1], true
}

// isConstant reports whether a is one number: a scalar without variables.
func isConstant(a *answer) bool {
	if a.kind != aScalar {
		return false
	}
	vars := map[string]bool{}
	freeVars(a.expr, vars)
	return len(vars) == 0
}

// looseKey is the form answers are compared in as text: lower case, no
// spaces (but one between two digits, so "2 1/2" is not "21/2"), braces
// dropped only around a single character (so "2^{x+1}" is not "2^x+1"),
// "(B)" read as "b".
func looseKey(s string) string {
	s = singleBraceRE.ReplaceAllString(s, "$1")
	var b strings.Builder
	pendingSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pendingSpace = true
			continue
		}
		if pendingSpace && unicode.IsDigit(r) && b.Len() > 0 {
			if k := b.String(); isDigit(k[len(k)-1]) {
				b.WriteByte(' ')
			}
		}
		pendingSpace = false
		b.WriteRune(unicode.ToLower(r))
	}
	k := b.String()
	if len(k) == 3 && k[0] == '(' && k[2] == ')' && isLetter(k[1]) {
		k = k[1:2]
	}
	return k
}

// singleBraceRE is a brace group around one character: "x^{2}", "\frac{1}{2}".
var singleBraceRE = regexp.MustCompile(`\{\s*([^{}\s\\])\s*\}`)

// mathEqualParams are math_equal's parameters.
type mathEqualParams struct {
	// Tolerance is the relative tolerance for inexact values.
	Tolerance float64 `json:"tolerance"`
	// Strict accepts only explicitly marked answers (tag, \boxed, ####,
	// answer phrase): no whole-completion or last-number fallback.
	Strict bool `json:"strict"`
}

func newMathEqual(p mathEqualParams) (Func, error) {
	if p.Tolerance < 0 || p.Tolerance >= 1 {
		return nil, fmt.Errorf("%w: tolerance must be in [0, 1), got %g", ErrBadParams, p.Tolerance)
	}
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		pred, method := extractFor(s.Completion, p.Strict)
		gold := ReferenceAnswer(s.Task.Answer)
		sc := Score{Extracted: pred, Detail: detail(method, gold)}
		if pred != "" && gold != "" && Equivalent(gold, pred, p.Tolerance) {
			sc.Value = 1
		}
		return sc, nil
	}), nil
}

func extractFor(completion string, strict bool) (answer, method string) {
	if strict {
		if f, ok := explicitAnswer(answerRegion(completion)); ok {
			return f.text, f.method
		}
		return "", ""
	}
	return ExtractAnswer(completion)
}

func detail(method, gold string) string {
	if method == "" {
		method = "none"
	}
	return fmt.Sprintf("extracted by %s; reference %q", method, gold)
}

// exactMatchParams are exact_match's parameters.
type exactMatchParams struct {
	// CaseSensitive compares letters' case too (default false).
	CaseSensitive bool `json:"case_sensitive"`
	// IgnoreWhitespace removes all whitespace (by default runs of whitespace
	// count as one space and the ends are trimmed).
	IgnoreWhitespace bool `json:"ignore_whitespace"`
	// IgnorePunctuation removes Unicode punctuation and symbols.
	IgnorePunctuation bool `json:"ignore_punctuation"`
	// Extract compares the extracted answer (default true); false compares
	// the whole completion.
	Extract *bool `json:"extract"`
	// Strict: as for math_equal.
	Strict bool `json:"strict"`
}

func newExactMatch(p exactMatchParams) (Func, error) {
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		pred, method := s.Completion, MethodWhole
		if p.Extract == nil || *p.Extract {
			pred, method = extractFor(s.Completion, p.Strict)
		}
		gold := ReferenceAnswer(s.Task.Answer)
		sc := Score{Extracted: pred, Detail: detail(method, gold)}
		if method != "" && p.normalize(pred) == p.normalize(gold) {
			sc.Value = 1
		}
		return sc, nil
	}), nil
}

func (p exactMatchParams) normalize(s string) string {
	s = plainText(s)
	if !p.CaseSensitive {
		s = strings.ToLower(s)
	}
	if p.IgnorePunctuation {
		s = strings.Map(func(r rune) rune {
			if unicode.IsPunct(r) || unicode.IsSymbol(r) {
				return -1
			}
			return r
		}, s)
	}
	if p.IgnoreWhitespace {
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// plainText removes the markup around a text answer, which exact_match
// ignores: \boxed{}, math delimiters, \text{} and its kin, markdown
// emphasis, and a final period after a letter or digit when the text holds
// no other ("Paris." but not "U.S.A.").
func plainText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxNormalizeLen {
		return s
	}
	for n := 0; n < 4; n++ {
		t := unwrapBoxed(s)
		t = stripMathDelimiters(t)
		if len(t) >= 2 && t[0] == '$' && t[len(t)-1] == '$' && unescapedDollar(t[1:]) == len(t)-2 {
			t = t[1 : len(t)-1]
		}
		t = unwrapTextCommands(t)
		t = strings.TrimSpace(strings.Trim(strings.TrimSpace(t), "*_"))
		if t == s {
			break
		}
		s = t
	}
	if n := len(s); n >= 2 && s[n-1] == '.' && (isLetter(s[n-2]) || isDigit(s[n-2])) && !strings.Contains(s[:n-1], ".") {
		s = s[:n-1]
	}
	return s
}

// unwrapTextCommands replaces \text{X} and its kin by X.
func unwrapTextCommands(s string) string {
	for n := 0; n < 32; n++ {
		loc := textCmdRE.FindStringIndex(s)
		if loc == nil {
			break
		}
		inner, after, ok := braceGroup(s[loc[1]-1:])
		if !ok {
			break
		}
		s = s[:loc[0]] + inner + after
	}
	return s
}

// numericParams are numeric's parameters: |pred-gold| <= max(rel_tol *
// max(|pred|, |gold|), abs_tol).
type numericParams struct {
	AbsTol float64 `json:"abs_tol"`
	RelTol float64 `json:"rel_tol"`
}

func newNumeric(p numericParams) (Func, error) {
	if p.AbsTol < 0 || p.RelTol < 0 {
		return nil, fmt.Errorf("%w: abs_tol and rel_tol must not be negative", ErrBadParams)
	}
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		pred, method := ExtractAnswer(s.Completion)
		gold := ReferenceAnswer(s.Task.Answer)
		sc := Score{Extracted: pred, Detail: detail(method, gold)}
		gs, gOK := numberValues(gold)
		ps, pOK := numberValues(pred)
		if !gOK || !pOK {
			sc.Detail += "; not a number"
			return sc, nil
		}
		for _, g := range gs {
			for _, v := range ps {
				if closeFloats(g, v, p.RelTol, p.AbsTol) {
					sc.Value = 1
					return sc, nil
				}
			}
		}
		return sc, nil
	}), nil
}

// numberValues reads s as one number without free variables; a percentage
// yields both readings.
func numberValues(s string) ([]float64, bool) {
	n := normalizeAnswer(s)
	a, err := parseAnswer(n)
	if err == nil && !isConstant(a) {
		if q, ok := dropUnitLetter(n); ok { // "5 m"
			a, err = parseAnswer(q)
		}
	}
	if err != nil || !isConstant(a) {
		return nil, false
	}
	var out []float64
	for _, pct := range pctModes(a.expr) {
		v, err := eval(a.expr, &evalEnv{pctDivides: pct})
		if err != nil || math.IsInf(v.f, 0) {
			return nil, false
		}
		out = append(out, v.f)
	}
	return out, true
}
