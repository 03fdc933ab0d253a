package calculator

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEval(t *testing.T) {
	tests := []struct {
		expr, want string
	}{
		// precedence and associativity
		{"1+2*3", "7"},
		{"(1+2)*3", "9"},
		{"10-4-3", "3"},
		{"2*3^2", "18"},
		{"2^3^2", "512"},
		{"2**3**2", "512"},
		{"(2^3)^2", "64"},
		{"100/10/5", "2"},
		{"2+3%2", "3"},
		// unary minus binds looser than power
		{"-2^2", "-4"},
		{"(-2)^2", "4"},
		{"2^-2", "0.25"},
		{"--3", "3"},
		{"+3", "3"},
		{"-(1+2)*-3", "9"},
		{"(-2)^3", "-8"},
		{"(-1)^1000001", "-1"},
		// exact rationals
		{"1/3*3", "1"},
		{"0.1+0.2", "0.3"},
		{"1/3", "0.333333333333"},
		{"2/3", "0.666666666667"},
		{"1/8", "0.125"},
		{"3^-2", "0.111111111111"},
		{"1/3+1/6", "0.5"},
		{"0.1*3", "0.3"},
		{"1.5e3", "1500"},
		{"1.5e-3", "0.0015"},
		{".5", "0.5"},
		{"5.", "5"},
		{"-0.0", "0"},
		{"123456789012345678901234567890*10", "1234567890123456789012345678900"},
		{"10^30", "1000000000000000000000000000000"},
		{"1/2^100", "7.88860905221e-31"},
		{"100000000000000000000/3", "3.33333333333e+19"},
		{"0.1^1000", "1e-1000"},
		// modulo has the sign of the divisor
		{"7%3", "1"},
		{"-7%3", "2"},
		{"7%-3", "-2"},
		{"7.5%2", "1.5"},
		// functions
		{"sqrt(16)", "4"},
		{"sqrt(0.25)", "0.5"},
		{"sqrt(2)", "1.41421356237"},
		{"sqrt(2)^2", "2"},
		{"abs(-5)", "5"},
		{"abs(2-7.5)", "5.5"},
		{"round(2.5)", "3"},
		{"round(-2.5)", "-3"},
		{"round(2.4999)", "2"},
		{"round(pi, 3)", "3.142"},
		{"round(1234, -2)", "1200"},
		{"floor(-1.5)", "-2"},
		{"ceil(-1.5)", "-1"},
		{"floor(7/2)", "3"},
		{"ceil(7/2)", "4"},
		{"min(3, 1, 2)", "1"},
		{"max(1/3, 0.3)", "0.333333333333"},
		{"max(4)", "4"},
		// powers that are not integers
		{"4^1.5", "8"},
		{"4^0.5", "2"},
		{"2^0.5", "1.41421356237"},
		{"2^-0.5", "0.707106781187"},
		{"8^(1/3)", "2"},
		{"0^0", "1"},
		{"0^2.5", "0"},
		// constants
		{"pi", "3.14159265359"},
		{"e^2", "7.38905609893"},
		{"0*pi*-1", "0"},
		{"  1 +\t2 ", "3"},
	}
	for _, tt := range tests {
		got, err := Eval(tt.expr)
		if err != nil {
			t.Errorf("Eval(%q): %v", tt.expr, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Eval(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestEvalBig(t *testing.T) {
	got, err := Eval("2^10000")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3011 || !strings.HasPrefix(got, "19950631168807583848") || !strings.HasSuffix(got, "596709376") {
		t.Errorf("2^10000 = %.30s... (%d digits), want 3011 digits 19950631168807583848...596709376", got, len(got))
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		expr   string
		column int
		want   string // a substring of the message
	}{
		{"1/0", 2, "division by zero"},
		{"1/(2-2)", 2, "division by zero"},
		{"1%0", 2, "modulo by zero"},
		{"0^-1", 2, "zero to a negative power"},
		{"(-8)^(1/3)", 5, "not a real number"},
		{"sqrt(-4)", 1, "sqrt of a negative number (-4)"},
		{"1 + sin(1)", 5, `unknown function "sin"; the known functions are abs, ceil, floor, max, min, round, sqrt`},
		{"2*x", 3, `unknown name "x"`},
		{"sqrt", 1, "call it with parentheses"},
		{"round(1,2,3)", 1, "round takes 1 or 2 arguments, got 3"},
		{"max()", 1, "max takes at least 1 argument, got 0"},
		{"sqrt(1, 2)", 1, "sqrt takes 1 argument, got 2"},
		{"round(1, 0.5)", 1, "must be an integer"},
		{"2(3)", 2, `unexpected "(" after a complete expression`},
		{"(1+2", 5, `expected ")" to close the "(" at column 1, found the end of the expression`},
		{"max(1, 2", 9, `expected "," or ")" in the call of max (opened at column 4)`},
		{"1+", 3, "expected a number"},
		{"1+2)", 4, `unmatched ")"`},
		{")", 1, `found ")"`},
		{"1 $ 2", 3, "unexpected character '$'"},
		{"2×3", 2, `use "*" for multiplication`},
		{"2+2=", 4, `without "="`},
		{"1e", 1, "malformed number"},
		{"1.2.3", 1, "malformed number"},
		{"2pi", 1, "is an operator such as * missing?"},
		{"1e99999", 1, "the limit is 10000"},
		{"1e9999", 1, "out of range"},
		{"2^40000", 2, "out of range"},
		{"(2^30000)*(2^30000)", 10, "out of range"},
		{"2^-40000", 2, "out of range"},
		{"pi^100000", 3, "out of range"},
		{"2^2^2^2^2^2", 4, "out of range"}, // 2^65536 is the first too large,
		{"10^99999999999999999999", 3, "out of range"},
		{"", 0, "empty"},
		{"  ", 0, "empty"},
		{strings.Repeat("1+", 600) + "1", 0, "too long (1201 characters); the limit is 1000"},
		{strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200), 101, "nested too deeply"},
		{strings.Repeat("-", 200) + "1", 101, "nested too deeply"},
		{"1 + \xff", 5, "not valid UTF-8"},
	}
	for _, tt := range tests {
		got, err := Eval(tt.expr)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Eval(%.30q) = %.30q, %v; want an *Error", tt.expr, got, err)
			continue
		}
		if e.Column != tt.column || !strings.Contains(e.Message, tt.want) {
			t.Errorf("Eval(%.30q) error = column %d %q; want column %d and a message containing %q", tt.expr, e.Column, e.Message, tt.column, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Column: 4, Message: "division by zero"}, "division by zero (at column 4)"},
		{&Error{Message: "the expression is empty"}, "the expression is empty"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// number matches every result Eval returns.
var number = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$`)

func FuzzEval(f *testing.F) {
	for _, s := range []string{
		"1+2*3", "2^3^2", "-2^2", "1/3*3", "0.1+0.2", "sqrt(2)", "round(pi, 3)", "max(1, 2, 3)",
		"(1+2", "2(3)", "1e5", ".5e-3", "2**-0.5", "7%-3", "1/0", "((((1))))", "abs(-1)^0.5",
		"2^2^2^2^2", "floor(1e20/7)", "ceil(-e)", "min()", "9999999999^99",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		start := time.Now()
		got, err := Eval(expr)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Eval(%q) took %v", expr, d)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("Eval(%q) error %v (%T) is not an *Error with a message", expr, err, err)
			}
			if e.Column < 0 || e.Column > len(expr)+1 {
				t.Fatalf("Eval(%q): column %d out of range", expr, e.Column)
			}
			return
		}
		if !number.MatchString(got) {
			t.Fatalf("Eval(%q) = %q, not a number", expr, got)
		}
		// A result is itself an expression, with the same value when it
		// was printed exactly (no rounding to 12 digits).
		if len(got) > MaxLen {
			return
		}
		if again, err := Eval(got); err != nil {
			t.Fatalf("Eval(Eval(%q) = %q): %v", expr, got, err)
		} else if len(strings.TrimLeft(strings.ReplaceAll(got, ".", ""), "-0")) < 12 && !strings.Contains(got, "e") && again != got {
			t.Fatalf("Eval(%q) = %q, but Eval(%q) = %q", expr, got, got, again)
		}
	})
}
