package calculator

import (
	"math"
	"math/big"
	"strings"
)

// maxBits bounds the size of every intermediate value: the bits of its
// numerator and denominator together (about 9,800 decimal digits).
const maxBits = 1 << 15

// floatPrec is the mantissa precision of inexact values, in bits.
const floatPrec = 64

// value is a number: an exact rational, or an approximation (after sqrt of
// a non-square, a non-integer power, pi) held as a rational too.
type value struct {
	r     *big.Rat
	exact bool
}

func exactValue(r *big.Rat) value { return value{r: r, exact: true} }

// approx returns the inexact value nearest f.
func approx(f *big.Float) value {
	r, _ := f.Rat(nil)
	return value{r: r, exact: false}
}

// fromFloat64 returns the inexact value of f.
func fromFloat64(f float64) value {
	return value{r: new(big.Rat).SetFloat64(f), exact: false}
}

// combine marks the result of an operation on x and y: exact only when
// both are, and rounded to floatPrec bits when not.
func combine(r *big.Rat, operands ...value) value {
	v := value{r: r, exact: true}
	for _, o := range operands {
		v.exact = v.exact && o.exact
	}
	if !v.exact {
		f := new(big.Float).SetPrec(floatPrec).SetRat(r)
		v.r, _ = f.Rat(nil)
	}
	return v
}

// tooBig reports whether v exceeds maxBits.
func tooBig(r *big.Rat) bool {
	return r.Num().BitLen()+r.Denom().BitLen() > maxBits
}

// float returns v as a big.Float of floatPrec bits.
func (v value) float() *big.Float {
	return new(big.Float).SetPrec(floatPrec).SetRat(v.r)
}

// isInt reports whether v is an integer.
func (v value) isInt() bool { return v.r.IsInt() }

// floorRat returns the largest integer not above r.
func floorRat(r *big.Rat) *big.Int {
	// Euclidean division by a positive denominator is floor division.
	return new(big.Int).Div(r.Num(), r.Denom())
}

// roundRat rounds r to the nearest integer, halves away from zero.
func roundRat(r *big.Rat) *big.Int {
	half := big.NewRat(1, 2)
	if r.Sign() < 0 {
		n := floorRat(new(big.Rat).Add(new(big.Rat).Neg(r), half))
		return n.Neg(n)
	}
	return floorRat(new(big.Rat).Add(r, half))
}

// sqrtExact returns the square root of a non-negative r when it is
// rational.
func sqrtExact(r *big.Rat) (*big.Rat, bool) {
	num, den := r.Num(), r.Denom()
	sn, sd := new(big.Int).Sqrt(num), new(big.Int).Sqrt(den)
	if new(big.Int).Mul(sn, sn).Cmp(num) != 0 || new(big.Int).Mul(sd, sd).Cmp(den) != 0 {
		return nil, false
	}
	return new(big.Rat).SetFrac(sn, sd), true
}

// powFloat returns x^t for x > 0 and any real t, as 2^(t·log2 x), or false
// when the result's binary exponent would exceed limit.
func powFloat(x *big.Float, t float64, limit int) (*big.Float, bool) {
	mant := new(big.Float)
	exp := x.MantExp(mant) // x = mant · 2^exp, mant in [0.5, 1)
	m, _ := mant.Float64()
	l := t * (float64(exp) + math.Log2(m))
	if math.IsNaN(l) || math.Abs(l) > float64(limit) {
		return nil, false
	}
	k := math.Floor(l)
	f := new(big.Float).SetPrec(floatPrec).SetFloat64(math.Exp2(l - k))
	return f.SetMantExp(f, int(k)), true
}

// format renders v: exact integers in full; exact decimals that end within
// 20 significant digits and 30 decimal places in full; anything else rounded to 12 significant
// digits, with an exponent when very large or small.
func format(v value) string {
	if v.exact {
		if v.r.IsInt() {
			return v.r.Num().String()
		}
		if s, ok := exactDecimal(v.r, 20); ok {
			return s
		}
	}
	s := new(big.Float).SetPrec(128).SetRat(v.r).Text('g', 12)
	if s == "-0" {
		s = "0"
	}
	return s
}

// maxPlaces bounds the decimal places of an exactly rendered decimal.
const maxPlaces = 30

// exactDecimal renders r as a terminating decimal when it is one with at
// most maxDigits significant digits and maxPlaces decimal places.
func exactDecimal(r *big.Rat, maxDigits int) (string, bool) {
	den := new(big.Int).Set(r.Denom())
	// den must be 2^a·5^b; the decimal then has max(a, b) places.
	a := int(den.TrailingZeroBits())
	if a > maxPlaces {
		return "", false
	}
	den.Rsh(den, uint(a))
	b := 0
	five, rem := big.NewInt(5), new(big.Int)
	for den.Cmp(big.NewInt(1)) != 0 {
		q, m := new(big.Int).QuoRem(den, five, rem)
		if m.Sign() != 0 {
			return "", false
		}
		den = q
		b++
		if b > maxPlaces {
			return "", false
		}
	}
	places := max(a, b)
	scaled := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	scaled.Mul(scaled, r.Num())
	scaled.Quo(scaled, r.Denom())
	neg := scaled.Sign() < 0
	digits := scaled.Abs(scaled).String()
	if len(strings.TrimLeft(digits, "0")) > maxDigits {
		return "", false
	}
	if len(digits) <= places {
		digits = strings.Repeat("0", places-len(digits)+1) + digits
	}
	s := digits[:len(digits)-places] + "." + digits[len(digits)-places:]
	if neg {
		s = "-" + s
	}
	return s, true
}
