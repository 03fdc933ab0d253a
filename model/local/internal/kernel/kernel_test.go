package kernel

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-5*math.Max(1, math.Abs(b)) }

func TestMatVecDotAxpy(t *testing.T) {
	// x·W for W [3][5], with lengths that exercise the unrolled loops' tails.
	x := []float32{1, -2, 0.5}
	w := []float32{
		1, 2, 3, 4, 5,
		0, 1, 0, 1, 0,
		2, 2, 2, 2, 2,
	}
	y := make([]float32, 5)
	MatVec(y, x, w)
	want := []float32{2, 1, 4, 3, 6}
	for i := range y {
		if y[i] != want[i] {
			t.Fatalf("MatVec = %v, want %v", y, want)
		}
	}
	if got := Dot([]float32{1, 2, 3, 4, 5, 6, 7}, []float32{1, 1, 1, 1, 1, 1, 2}); got != 35 {
		t.Errorf("Dot = %g, want 35", got)
	}
	z := []float32{1, 1, 1, 1, 1}
	Axpy(2, []float32{1, 2, 3, 4, 5}, z)
	if z[4] != 11 || z[0] != 3 {
		t.Errorf("Axpy = %v", z)
	}
}

func TestRMSNorm(t *testing.T) {
	x := []float32{3, 4}
	y := make([]float32, 2)
	r := RMSNorm(y, x, []float32{1, 2})
	rms := math.Sqrt((9+16)/2.0 + NormEps)
	if !near(float64(r), 1/rms) || !near(float64(y[0]), 3/rms) || !near(float64(y[1]), 8/rms) {
		t.Errorf("RMSNorm = %v, %g", y, r)
	}
}

// Rotating by a position's angles and then by their negatives is the
// identity, and rotation keeps each pair's length.
func TestRope(t *testing.T) {
	cos, sin := RopeTables(16, 4, 10000)
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8} // two heads of 4
	orig := append([]float32{}, x...)
	c, s := cos[7*2:8*2], sin[7*2:8*2]
	Rope(x, 4, c, s)
	if near(float64(x[0]), 1) {
		t.Error("position 7 did not rotate the first pair")
	}
	if a, b := math.Hypot(float64(x[0]), float64(x[1])), math.Hypot(1, 2); !near(a, b) {
		t.Errorf("rotation changed a length: %g vs %g", a, b)
	}
	neg := []float32{-s[0], -s[1]}
	Rope(x, 4, c, neg)
	for i := range x {
		if !near(float64(x[i]), float64(orig[i])) {
			t.Fatalf("rotate back = %v, want %v", x, orig)
		}
	}
	if cos[0] != 1 || sin[0] != 0 {
		t.Error("position 0 is not the identity")
	}
}

func TestLogSoftmax(t *testing.T) {
	l := []float32{1, 2, 3}
	var sum float64
	for i := range l {
		sum += math.Exp(LogSoftmax(l, i))
	}
	if !near(sum, 1) {
		t.Errorf("probabilities sum to %g", sum)
	}
	if got, want := LogSoftmax(l, 2), 3-math.Log(math.E+math.E*math.E+math.E*math.E*math.E); !near(got, want) {
		t.Errorf("LogSoftmax = %g, want %g", got, want)
	}
	if got := LogSoftmax([]float32{1000, 0}, 0); !near(got, 0) {
		t.Errorf("large logits: %g", got)
	}
}
