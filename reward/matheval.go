package reward

import (
	"errors"
	"fmt"
	"math"
	"math/big"
)

// value is an evaluated expression: exact (a rational) when only rational
// arithmetic was involved, else a float.
type value struct {
	r      *big.Rat // set when exact
	f      float64
	exact  bool
	approx bool // a decimal literal was involved: compare with tolerance
}

// Limits that keep exact arithmetic cheap.
const (
	maxExactBits = 1 << 14 // largest exact power result, in bits
	maxFactorial = 1000
	maxBinom     = 10000
)

var errUndefined = errors.New("undefined value")

func exactValue(r *big.Rat, approx bool) value {
	f, _ := r.Float64()
	return value{r: r, f: f, exact: true, approx: approx}
}

func floatValue(f float64, approx bool) (value, error) {
	if math.IsNaN(f) {
		return value{}, errUndefined
	}
	return value{f: f, approx: approx}, nil
}

// evalEnv holds what evaluation depends on besides the tree: variable values
// and how "%" is read.
type evalEnv struct {
	vars       map[string]float64
	pctDivides bool // "50%" is 0.5 when true, 50 when false
}

func eval(n *node, env *evalEnv) (value, error) {
	switch n.op {
	case opNum:
		return exactValue(n.num, n.dec), nil
	case opConst:
		switch n.name {
		case "pi":
			return floatValue(math.Pi, false)
		case "e":
			return floatValue(math.E, false)
		default:
			return floatValue(math.Inf(1), false)
		}
	case opVar:
		v, ok := env.vars[n.name]
		if !ok {
			return value{}, fmt.Errorf("%w: free variable %s", errUndefined, n.name)
		}
		return floatValue(v, false)
	}
	args := make([]value, len(n.args))
	approx := false
	for i, a := range n.args {
		v, err := eval(a, env)
		if err != nil {
			return value{}, err
		}
		args[i] = v
		approx = approx || v.approx
	}
	allExact := true
	for _, a := range args {
		allExact = allExact && a.exact
	}
	switch n.op {
	case opNeg:
		if allExact {
			return exactValue(new(big.Rat).Neg(args[0].r), approx), nil
		}
		return floatValue(-args[0].f, approx)
	case opAdd, opSub, opMul:
		if allExact {
			r := new(big.Rat)
			switch n.op {
			case opAdd:
				r.Add(args[0].r, args[1].r)
			case opSub:
				r.Sub(args[0].r, args[1].r)
			default:
				r.Mul(args[0].r, args[1].r)
			}
			return exactValue(r, approx), nil
		}
		a, b := args[0].f, args[1].f
		switch n.op {
		case opAdd:
			return floatValue(a+b, approx)
		case opSub:
			return floatValue(a-b, approx)
		}
		return floatValue(a*b, approx)
	case opDiv:
		if allExact {
			if args[1].r.Sign() == 0 {
				return value{}, fmt.Errorf("%w: division by zero", errUndefined)
			}
			return exactValue(new(big.Rat).Quo(args[0].r, args[1].r), approx), nil
		}
		if args[1].f == 0 {
			return value{}, fmt.Errorf("%w: division by zero", errUndefined)
		}
		return floatValue(args[0].f/args[1].f, approx)
	case opPct:
		if !env.pctDivides {
			return args[0], nil
		}
		if args[0].exact {
			return exactValue(new(big.Rat).Quo(args[0].r, big.NewRat(100, 1)), approx), nil
		}
		return floatValue(args[0].f/100, approx)
	case opPow:
		return powValue(args[0], args[1], approx)
	case opSqrt:
		return rootValue(args[0], 2, approx)
	case opRoot:
		if args[1].exact && args[1].r.IsInt() && args[1].r.Num().IsInt64() {
			if k := args[1].r.Num().Int64(); k >= 1 && k <= 64 {
				return rootValue(args[0], int(k), approx)
			}
		}
		if args[1].f == 0 {
			return value{}, fmt.Errorf("%w: zeroth root", errUndefined)
		}
		return floatValue(math.Pow(args[0].f, 1/args[1].f), approx)
	case opAbs:
		if allExact {
			return exactValue(new(big.Rat).Abs(args[0].r), approx), nil
		}
		return floatValue(math.Abs(args[0].f), approx)
	case opFact:
		a := args[0]
		if a.exact && a.r.IsInt() && a.r.Sign() >= 0 && a.r.Num().IsInt64() && a.r.Num().Int64() <= maxFactorial {
			k := a.r.Num().Int64()
			if k == 0 {
				return exactValue(big.NewRat(1, 1), approx), nil
			}
			return exactValue(new(big.Rat).SetInt(new(big.Int).MulRange(1, k)), approx), nil
		}
		if a.f < 0 {
			return value{}, fmt.Errorf("%w: factorial of a negative number", errUndefined)
		}
		return floatValue(math.Gamma(a.f+1), approx)
	case opBinom:
		a, b := args[0], args[1]
		if allExact && a.r.IsInt() && b.r.IsInt() && a.r.Num().IsInt64() && b.r.Num().IsInt64() {
			nn, kk := a.r.Num().Int64(), b.r.Num().Int64()
			if nn >= 0 && nn <= maxBinom && kk >= 0 {
				if kk > nn {
					return exactValue(new(big.Rat), approx), nil
				}
				return exactValue(new(big.Rat).SetInt(new(big.Int).Binomial(nn, kk)), approx), nil
			}
		}
		return value{}, fmt.Errorf("%w: binomial of non-integers", errUndefined)
	case opFunc:
		return funcValue(n.name, args, approx)
	}
	return value{}, fmt.Errorf("%w: unknown operation %q", errUndefined, n.op)
}

// powValue computes a^b, exactly for integer exponents of bounded size and
// for exact roots ((9/4)^(1/2) = 3/2).
func powValue(a, b value, approx bool) (value, error) {
	if a.exact && b.exact && b.r.IsInt() && b.r.Num().IsInt64() {
		k := b.r.Num().Int64()
		bits := int64(a.r.Num().BitLen() + a.r.Denom().BitLen())
		if abs64(k) <= maxExactBits && bits*abs64(k) <= maxExactBits {
			if a.r.Sign() == 0 && k < 0 {
				return value{}, fmt.Errorf("%w: division by zero", errUndefined)
			}
			num := new(big.Int).Exp(a.r.Num(), big.NewInt(abs64(k)), nil)
			den := new(big.Int).Exp(a.r.Denom(), big.NewInt(abs64(k)), nil)
			if k < 0 {
				num, den = den, num
			}
			return exactValue(new(big.Rat).SetFrac(num, den), approx), nil
		}
	}
	if a.exact && b.exact && !b.r.IsInt() && b.r.Denom().IsInt64() && b.r.Denom().Int64() <= 64 {
		// a^(p/q) = (a^(1/q))^p when the root is exact.
		q := int(b.r.Denom().Int64())
		if root, err := rootValue(a, q, approx); err == nil && root.exact {
			return powValue(root, exactValue(new(big.Rat).SetInt(b.r.Num()), b.approx), approx)
		}
	}
	return floatValue(math.Pow(a.f, b.f), approx)
}

// rootValue computes the k-th root of a, exactly when a is a perfect power.
func rootValue(a value, k int, approx bool) (value, error) {
	if a.exact {
		neg := a.r.Sign() < 0
		if neg && k%2 == 0 {
			return value{}, fmt.Errorf("%w: even root of a negative number", errUndefined)
		}
		num, okN := intRoot(new(big.Int).Abs(a.r.Num()), k)
		den, okD := intRoot(a.r.Denom(), k)
		if okN && okD {
			r := new(big.Rat).SetFrac(num, den)
			if neg {
				r.Neg(r)
			}
			return exactValue(r, approx), nil
		}
	}
	if a.f < 0 {
		if k%2 == 0 {
			return value{}, fmt.Errorf("%w: even root of a negative number", errUndefined)
		}
		return floatValue(-math.Pow(-a.f, 1/float64(k)), approx)
	}
	return floatValue(math.Pow(a.f, 1/float64(k)), approx)
}

// intRoot returns the exact k-th root of x >= 0, if there is one.
func intRoot(x *big.Int, k int) (*big.Int, bool) {
	if k == 1 {
		return x, true
	}
	if k == 2 {
		r := new(big.Int).Sqrt(x)
		return r, new(big.Int).Mul(r, r).Cmp(x) == 0
	}
	if x.BitLen() > 1000 {
		return nil, false
	}
	f, _ := new(big.Float).SetInt(x).Float64()
	guess := math.Round(math.Pow(f, 1/float64(k)))
	for _, d := range []float64{0, -1, 1} {
		c, _ := big.NewFloat(guess + d).Int(nil)
		if c.Sign() < 0 {
			continue
		}
		if new(big.Int).Exp(c, big.NewInt(int64(k)), nil).Cmp(x) == 0 {
			return c, true
		}
	}
	return nil, false
}

// floatFuncs are the functions of one argument, computed on floats; log,
// which may take a base, is computed in funcValue.
var floatFuncs = map[string]func(float64) float64{
	"sin":    math.Sin,
	"cos":    math.Cos,
	"tan":    math.Tan,
	"sec":    func(x float64) float64 { return 1 / math.Cos(x) },
	"csc":    func(x float64) float64 { return 1 / math.Sin(x) },
	"cot":    func(x float64) float64 { return 1 / math.Tan(x) },
	"arcsin": math.Asin,
	"arccos": math.Acos,
	"arctan": math.Atan,
	"sinh":   math.Sinh,
	"cosh":   math.Cosh,
	"tanh":   math.Tanh,
	"exp":    math.Exp,
	"ln":     math.Log,
}

func funcValue(name string, args []value, approx bool) (value, error) {
	x := args[0].f
	var y float64
	f, ok := floatFuncs[name]
	switch {
	case ok:
		y = f(x)
	case name == "log":
		// log_b x with a base; bare log is base 10.
		base := 10.0
		if len(args) > 1 {
			base = args[1].f
		}
		y = math.Log(x) / math.Log(base)
	default:
		return value{}, fmt.Errorf("%w: unknown function %s", errUndefined, name)
	}
	if math.IsInf(y, 0) && !math.IsInf(x, 0) {
		return value{}, fmt.Errorf("%w: %s(%g)", errUndefined, name, x)
	}
	return floatValue(y, approx)
}

// closeValues reports whether x and y are equal: exactly when both are
// exact and neither came from a decimal literal, else within a relative
// tolerance tol.
func closeValues(x, y value, tol float64) bool {
	if x.exact && y.exact {
		if x.r.Cmp(y.r) == 0 {
			return true
		}
		if !x.approx && !y.approx {
			return false
		}
	}
	return closeFloats(x.f, y.f, tol, 0)
}

// closeFloats is math.isclose: |a-b| <= max(rel*max(|a|,|b|), abs). Equal
// infinities are close; a tiny absolute floor absorbs float noise around 0.
func closeFloats(a, b, rel, abs float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return false
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	d := math.Abs(a - b)
	return d <= max(rel*max(math.Abs(a), math.Abs(b)), abs, 1e-12)
}

// freeVars collects the variable names in n.
func freeVars(n *node, into map[string]bool) {
	if n.op == opVar {
		into[n.name] = true
	}
	for _, a := range n.args {
		freeVars(a, into)
	}
}

// hasOp reports whether n contains an operation op.
func hasOp(n *node, op string) bool {
	if n.op == op {
		return true
	}
	for _, a := range n.args {
		if hasOp(a, op) {
			return true
		}
	}
	return false
}
