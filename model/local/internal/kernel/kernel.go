// Package kernel holds the arithmetic of the local model in plain Go,
// shared by inference (package local) and training (package train) so that
// the two compute the same network. Matrices are row-major [in][out]
// (y = x·W).
//
//	kernel.MatVec(y, x, w) // y = x·w
package kernel

import "math"

// MatVec sets y = x·w for w of shape [len(x)][len(y)].
func MatVec(y, x, w []float32) {
	n := len(y)
	clear(y)
	for k, xk := range x {
		if xk != 0 {
			Axpy(xk, w[k*n:(k+1)*n], y)
		}
	}
}

// Axpy adds a·x to y; len(y) must be at least len(x).
func Axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs := x[i : i+4 : i+4]
		ys := y[i : i+4 : i+4]
		ys[0] += a * xs[0]
		ys[1] += a * xs[1]
		ys[2] += a * xs[2]
		ys[3] += a * xs[3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// Dot returns the dot product of a and b; len(b) must be at least len(a).
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		as := a[i : i+4 : i+4]
		bs := b[i : i+4 : i+4]
		s0 += as[0] * bs[0]
		s1 += as[1] * bs[1]
		s2 += as[2] * bs[2]
		s3 += as[3] * bs[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// NormEps keeps the RMS norm finite for a zero vector.
const NormEps = 1e-5

// RMSNorm sets y = x / rms(x) · gain and returns 1/rms(x).
func RMSNorm(y, x, gain []float32) float32 {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	r := float32(1 / math.Sqrt(float64(ss/float32(len(x)))+NormEps))
	y = y[:len(x)]
	gain = gain[:len(x)]
	for i, v := range x {
		y[i] = v * r * gain[i]
	}
	return r
}

// Rope rotates each pair (x[2i], x[2i+1]) of every head of x by the angles
// of one position (cos and sin have one entry per pair of a head).
func Rope(x []float32, headDim int, cos, sin []float32) {
	for h := 0; h+headDim <= len(x); h += headDim {
		v := x[h : h+headDim]
		for i := 0; i < headDim/2; i++ {
			a, b := v[2*i], v[2*i+1]
			c, s := cos[i], sin[i]
			v[2*i] = a*c - b*s
			v[2*i+1] = a*s + b*c
		}
	}
}

// RopeTables returns cos and sin of every position's angles, [context][headDim/2].
func RopeTables(context, headDim int, base float64) (cos, sin []float32) {
	half := headDim / 2
	cos = make([]float32, context*half)
	sin = make([]float32, context*half)
	freq := make([]float64, half)
	for i := range freq {
		freq[i] = math.Pow(base, -2*float64(i)/float64(headDim))
	}
	for p := 0; p < context; p++ {
		for i, f := range freq {
			s, c := math.Sincos(float64(p) * f)
			cos[p*half+i] = float32(c)
			sin[p*half+i] = float32(s)
		}
	}
	return cos, sin
}

// LogSoftmax returns the log-probability of id under logits (at temperature
// one), computed in float64.
func LogSoftmax(logits []float32, id int) float64 {
	m := logits[0]
	for _, v := range logits[1:] {
		m = max(m, v)
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v - m))
	}
	return float64(logits[id]-m) - math.Log(s)
}
