package reward

import (
	"strings"
	"testing"
)

func FuzzExtractAnswer(f *testing.F) {
	for _, c := range mathCases {
		f.Add(c.pred)
	}
	for _, c := range realCases {
		f.Add(c.pred)
	}
	for _, s := range []string{`\boxed{`, `\boxed{\boxed{}`, "<answer>", "####", "The answer is", "$$", `\(`, "<think></think>", "-", "1,", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, completion string) {
		a, method := ExtractAnswer(completion)
		if (a == "") != (method == "") {
			t.Errorf("ExtractAnswer(%q) = %q, %q: an answer without a method or the reverse", completion, a, method)
		}
		// The answer is part of the completion; several boxed answers are
		// joined with ", ".
		parts := []string{a}
		if method == MethodBoxed {
			parts = strings.Split(a, ", ")
		}
		for _, p := range parts {
			if !strings.Contains(completion, p) {
				t.Errorf("ExtractAnswer(%q) = %q, not part of the completion", completion, a)
			}
		}
		if r := ReferenceAnswer(completion); !strings.Contains(completion, r) {
			t.Errorf("ReferenceAnswer(%q) = %q, not part of the reference", completion, r)
		}
	})
}

func FuzzEquivalent(f *testing.F) {
	for _, c := range mathCases {
		f.Add(c.gold, c.pred)
	}
	for _, c := range realCases {
		f.Add(c.gold, c.pred)
	}
	f.Fuzz(func(t *testing.T, gold, pred string) {
		_ = Equivalent(gold, pred, 0)
		if normalizeAnswer(gold) != "" && !Equivalent(gold, gold, 0) {
			t.Errorf("Equivalent(%q, itself) = false", gold)
		}
	})
}

func FuzzParseAnswer(f *testing.F) {
	for _, c := range mathCases {
		f.Add(normalizeAnswer(c.gold))
	}
	for _, c := range realCases {
		f.Add(normalizeAnswer(c.pred))
	}
	for _, s := range []string{"x <", "< x", "1 < x < ", `x \le \le 2`, "a < b < c < d", `(-\infty,\infty)`, `\emptyset`,
		`\begin{pmatrix}1\\2\end{pmatrix}`, `\sin 2x y`, "xy^2", "x = y = ", "(B) 12", "2^2^2^2^2", "9^9^9^9", "1000!", `\frac{1}{0}`, `\sqrt[0]{2}`, "((((((1))))))", "|1|2|", "x_", `\binom{5}{9}`, "1e400", "2^{-99999}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAnswer(s)
		if err != nil {
			return
		}
		if a == nil {
			t.Fatalf("parseAnswer(%q) = nil, nil", s)
		}
		// Comparing an answer with itself never panics and, when it can be
		// evaluated, is true.
		_ = equalAnswers(a, a, DefaultTolerance)
	})
}

// TestLongInputs feeds the extractor and the parser large and deeply nested
// inputs; they must return (the fuzz targets check the same on random input).
func TestLongInputs(t *testing.T) {
	inputs := []string{
		strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000),
		strings.Repeat(`\boxed{`, 5000),
		strings.Repeat(`\frac{1}{`, 2000) + "2" + strings.Repeat("}", 2000),
		strings.Repeat("9", 100000),
		strings.Repeat("1,000 ", 20000),
		strings.Repeat("The answer is 5. ", 5000),
		strings.Repeat("$x$ ", 20000),
		strings.Repeat("<answer>", 10000),
		strings.Repeat("2^", 300) + "2",
		strings.Repeat("99999999999^", 50) + "9",
		strings.Repeat("9", 900) + "!",
		strings.Repeat(`\sqrt{`, 500) + "2" + strings.Repeat("}", 500),
	}
	for _, in := range inputs {
		a, _ := ExtractAnswer(in)
		_ = Equivalent(in, a, 0)
		_ = Equivalent(in, in, 0)
	}
}

func BenchmarkMathEqual(b *testing.B) {
	completion := strings.Repeat("Some reasoning with 12 and 3/4 of things. ", 50) + `So the answer is \boxed{\frac{\sqrt{2}}{2}}.`
	for b.Loop() {
		a, _ := ExtractAnswer(completion)
		Equivalent(`\frac{1}{\sqrt{2}}`, a, 0)
	}
}

func BenchmarkLongCompletion(b *testing.B) {
	completion := strings.Repeat("step 12 gives 3,456 and $x$; ", 20000)
	for b.Loop() {
		a, _ := ExtractAnswer(completion)
		Equivalent("3456", a, 0)
	}
}
