package calculator

import (
	"math"
	"math/big"
	"slices"
	"strings"
)

// Eval evaluates an arithmetic expression and returns its value as text.
//
// Arithmetic is exact on rationals: 1/3*3 is 1 and 0.1+0.2 is 0.3. The
// operators are + - * / % (modulo, with the sign of the divisor, as in
// Python) and ^ or ** (power, right-associative, binding tighter than unary
// minus: -2^2 is -4), with parentheses. Numbers are integers, decimals and
// exponent forms (1.5e3). The functions are abs, ceil, floor, max, min,
// round (round(x) or round(x, digits), halves away from zero) and sqrt; the
// constants are pi and e.
//
// Integral results print exactly; other exact results print exactly when
// their decimal expansion ends within 20 significant digits, else rounded
// to 12 (1/3 is "0.333333333333"). Results that are approximations (sqrt of
// a non-square, a non-integer power, pi) are rounded to 12 significant
// digits.
//
// The expression may have at most [MaxLen] characters, and no value may
// need more than about 9,800 digits. Errors are *Error values naming the
// column they refer to.
func Eval(expr string) (string, error) {
	n, err := parse(expr)
	if err != nil {
		return "", err
	}
	v, err := eval(n)
	if err != nil {
		return "", err
	}
	return format(v), nil
}

// constants are the named values.
var constants = map[string]float64{"pi": math.Pi, "e": math.E}

// function is a built-in function; col is the column of its name.
type function struct {
	minArgs, maxArgs int // maxArgs < 0: no limit
	call             func(col int, args []value) (value, error)
}

var functions map[string]function

func init() {
	functions = map[string]function{
		"abs":   {1, 1, func(_ int, a []value) (value, error) { return value{new(big.Rat).Abs(a[0].r), a[0].exact}, nil }},
		"ceil":  {1, 1, fnCeil},
		"floor": {1, 1, fnFloor},
		"max":   {1, -1, func(_ int, a []value) (value, error) { return pick(a, 1), nil }},
		"min":   {1, -1, func(_ int, a []value) (value, error) { return pick(a, -1), nil }},
		"round": {1, 2, fnRound},
		"sqrt":  {1, 1, fnSqrt},
	}
}

// functionNames lists the functions for error messages.
func functionNames() string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func eval(n node) (value, error) {
	switch n := n.(type) {
	case *numNode:
		return exactValue(n.val), nil
	case *nameNode:
		if c, ok := constants[n.name]; ok {
			return fromFloat64(c), nil
		}
		if _, ok := functions[n.name]; ok {
			return value{}, errorAt(n.col, "%s is a function; call it with parentheses, e.g. %s(2)", n.name, n.name)
		}
		return value{}, errorAt(n.col, "unknown name %q; the known constants are e and pi, and the functions are %s", n.name, functionNames())
	case *unaryNode:
		x, err := eval(n.x)
		if err != nil {
			return value{}, err
		}
		if n.op == "-" {
			return value{new(big.Rat).Neg(x.r), x.exact}, nil
		}
		return x, nil
	case *binaryNode:
		x, err := eval(n.x)
		if err != nil {
			return value{}, err
		}
		y, err := eval(n.y)
		if err != nil {
			return value{}, err
		}
		v, err := binary(n.col, n.op, x, y)
		if err != nil {
			return value{}, err
		}
		if tooBig(v.r) {
			return value{}, errTooBig(n.col)
		}
		return v, nil
	case *callNode:
		f, ok := functions[n.name]
		if !ok {
			return value{}, errorAt(n.col, "unknown function %q; the known functions are %s", n.name, functionNames())
		}
		if len(n.args) < f.minArgs || f.maxArgs >= 0 && len(n.args) > f.maxArgs {
			want := "1 argument"
			switch {
			case f.maxArgs < 0:
				want = "at least 1 argument"
			case f.maxArgs == 2:
				want = "1 or 2 arguments"
			}
			return value{}, errorAt(n.col, "%s takes %s, got %d", n.name, want, len(n.args))
		}
		args := make([]value, len(n.args))
		for i, a := range n.args {
			v, err := eval(a)
			if err != nil {
				return value{}, err
			}
			args[i] = v
		}
		v, err := f.call(n.col, args)
		if err != nil {
			return value{}, err
		}
		if tooBig(v.r) {
			return value{}, errTooBig(n.col)
		}
		return v, nil
	}
	panic("calculator: unknown node type")
}

func errTooBig(col int) *Error {
	return errorAt(col, "the result is out of range: writing it exactly needs more than %d bits (about 9,800 digits); use smaller numbers or exponents", maxBits)
}

// binary applies op to x and y; col is the operator's column.
func binary(col int, op string, x, y value) (value, error) {
	switch op {
	case "+":
		return combine(new(big.Rat).Add(x.r, y.r), x, y), nil
	case "-":
		return combine(new(big.Rat).Sub(x.r, y.r), x, y), nil
	case "*":
		return combine(new(big.Rat).Mul(x.r, y.r), x, y), nil
	case "/":
		if y.r.Sign() == 0 {
			return value{}, errorAt(col, "division by zero")
		}
		return combine(new(big.Rat).Quo(x.r, y.r), x, y), nil
	case "%":
		if y.r.Sign() == 0 {
			return value{}, errorAt(col, "modulo by zero")
		}
		// x - y·floor(x/y): the result has the sign of y.
		q := new(big.Rat).SetInt(floorRat(new(big.Rat).Quo(x.r, y.r)))
		return combine(new(big.Rat).Sub(x.r, q.Mul(q, y.r)), x, y), nil
	case "^":
		return power(col, x, y)
	}
	panic("calculator: unknown operator " + op)
}

// power returns x^y.
func power(col int, x, y value) (value, error) {
	switch {
	case x.r.Sign() == 0:
		switch y.r.Sign() {
		case -1:
			return value{}, errorAt(col, "zero to a negative power is undefined (division by zero)")
		case 0:
			return combine(big.NewRat(1, 1), x, y), nil
		}
		return combine(new(big.Rat), x, y), nil
	case y.isInt():
		return intPower(col, x, y)
	case x.r.Sign() < 0:
		return value{}, errorAt(col, "a negative number to a non-integer power is not a real number")
	}
	// A half-integer power of an exact square stays exact: 4^1.5 = 8.
	if x.exact && y.exact && y.r.Denom().Cmp(big.NewInt(2)) == 0 {
		if s, ok := sqrtExact(x.r); ok {
			return intPower(col, exactValue(s), exactValue(new(big.Rat).SetInt(y.r.Num())))
		}
	}
	t, _ := y.r.Float64()
	f, ok := powFloat(x.float(), t, maxBits)
	if !ok {
		return value{}, errTooBig(col)
	}
	return approx(f), nil
}

// intPower returns x^y for an integer y and a non-zero x.
func intPower(col int, x, y value) (value, error) {
	n := y.r.Num()
	num, den := x.r.Num(), x.r.Denom()
	if new(big.Int).Abs(num).Cmp(den) == 0 { // x is 1 or -1
		r := big.NewRat(1, 1)
		if num.Sign() < 0 && n.Bit(0) == 1 {
			r.Neg(r)
		}
		return combine(r, x, y), nil
	}
	if !n.IsInt64() || n.BitLen() > 32 {
		return value{}, errTooBig(col)
	}
	e := n.Int64()
	abs := max(e, -e)
	if !x.exact || !y.exact {
		// Approximations: square-and-multiply at floatPrec bits.
		if int64(x.float().MantExp(nil))*abs > 2*maxBits {
			return value{}, errTooBig(col)
		}
		f := new(big.Float).SetPrec(floatPrec).SetInt64(1)
		b := x.float()
		for k := abs; k > 0; k >>= 1 {
			if k&1 == 1 {
				f.Mul(f, b)
			}
			b.Mul(b, b)
		}
		if e < 0 {
			f.Quo(new(big.Float).SetPrec(floatPrec).SetInt64(1), f)
		}
		if exp := f.MantExp(nil); exp > maxBits || exp < -maxBits {
			return value{}, errTooBig(col)
		}
		return approx(f), nil
	}
	// Exact: the result has at least (bits-1)·|e| bits in each part.
	if int64(num.BitLen()-1+den.BitLen()-1)*abs > maxBits {
		return value{}, errTooBig(col)
	}
	p := big.NewInt(abs)
	rn := new(big.Int).Exp(num, p, nil)
	rd := new(big.Int).Exp(den, p, nil)
	if e < 0 {
		rn, rd = rd, rn
	}
	return exactValue(new(big.Rat).SetFrac(rn, rd)), nil
}

func fnFloor(_ int, a []value) (value, error) {
	return value{new(big.Rat).SetInt(floorRat(a[0].r)), a[0].exact}, nil
}

func fnCeil(_ int, a []value) (value, error) {
	n := floorRat(new(big.Rat).Neg(a[0].r))
	return value{new(big.Rat).SetInt(n.Neg(n)), a[0].exact}, nil
}

func fnRound(col int, a []value) (value, error) {
	x := a[0]
	if len(a) == 1 {
		return value{new(big.Rat).SetInt(roundRat(x.r)), x.exact}, nil
	}
	d := a[1]
	if !d.isInt() || d.r.Num().CmpAbs(big.NewInt(maxPlaces)) > 0 {
		return value{}, errorAt(col, "round's second argument, the number of decimal places, must be an integer from -%d to %d", maxPlaces, maxPlaces)
	}
	places := d.r.Num().Int64()
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(max(places, -places)), nil))
	if places < 0 {
		scale.Inv(scale)
	}
	r := new(big.Rat).SetInt(roundRat(new(big.Rat).Mul(x.r, scale)))
	return value{r.Quo(r, scale), x.exact}, nil
}

func fnSqrt(col int, a []value) (value, error) {
	x := a[0]
	if x.r.Sign() < 0 {
		return value{}, errorAt(col, "sqrt of a negative number (%s) is not a real number", format(x))
	}
	if x.exact {
		if s, ok := sqrtExact(x.r); ok {
			return exactValue(s), nil
		}
	}
	return approx(x.float().Sqrt(x.float())), nil
}

// pick returns the largest (sign 1) or smallest (sign -1) of a.
func pick(a []value, sign int) value {
	best := a[0]
	for _, v := range a[1:] {
		if v.r.Cmp(best.r)*sign > 0 {
			best = v
		}
	}
	return best
}
