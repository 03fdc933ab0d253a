package reward

import (
	"context"
	"fmt"
	"math"
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
	ga, err := parseAnswer(g)
	if err != nil {
		return false
	}
	pa, err := parseAnswer(p)
	if err != nil {
		return false
	}
	return equalAnswers(ga, pa, tol)
}

// looseKey is the form answers are compared in as text: lower case, no
// spaces or braces, "(B)" read as "b".
func looseKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || r == '{' || r == '}' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	k := b.String()
	if len(k) == 3 && k[0] == '(' && k[2] == ')' && isLetter(k[1]) {
		k = k[1:2]
	}
	return k
}

// mathEqualParams are math_equal's parameters.
type mathEqualParams struct {
	// Tolerance is the relative tolerance for inexact values.
	Tolerance float64 `json:"tolerance"`
	// Strict accepts only explicitly marked answers (tag, \boxed, ####,
	// answer phrase): no whole-completion or last-number fallback.
	Strict bool `json:"strict"`
}

func newMathEqual(params map[string]any) (Func, error) {
	p := mathEqualParams{Tolerance: DefaultTolerance}
	if err := DecodeParams(params, &p); err != nil {
		return nil, err
	}
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
		if f, ok := explicitAnswer(afterThink(completion)); ok {
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

func newExactMatch(params map[string]any) (Func, error) {
	var p exactMatchParams
	if err := DecodeParams(params, &p); err != nil {
		return nil, err
	}
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

// numericParams are numeric's parameters: |pred-gold| <= max(rel_tol *
// max(|pred|, |gold|), abs_tol).
type numericParams struct {
	AbsTol float64 `json:"abs_tol"`
	RelTol float64 `json:"rel_tol"`
}

func newNumeric(params map[string]any) (Func, error) {
	p := numericParams{RelTol: DefaultTolerance}
	if err := DecodeParams(params, &p); err != nil {
		return nil, err
	}
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
	a, err := parseAnswer(normalizeAnswer(s))
	if err != nil || a.kind != aScalar {
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
