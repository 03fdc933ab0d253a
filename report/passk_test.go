package report

import (
	"math"
	"math/big"
	"testing"
)

func TestPassAtKHandValues(t *testing.T) {
	tests := []struct {
		n, c, k int
		want    float64
	}{
		{4, 2, 1, 0.5},
		{4, 2, 2, 5.0 / 6}, // 1 - C(2,2)/C(4,2) = 1 - 1/6
		{4, 2, 3, 1},       // any 3 of 4 include a pass
		{4, 2, 4, 1},
		{4, 0, 1, 0},
		{4, 0, 4, 0},
		{4, 4, 1, 1},
		{4, 1, 2, 0.5},  // 1 - C(3,2)/C(4,2) = 1 - 3/6
		{4, 1, 3, 0.75}, // 1 - C(3,3)/C(4,3) = 1 - 1/4
		{5, 1, 1, 0.2},
		{10, 3, 2, 1 - 21.0/45}, // C(7,2)=21, C(10,2)=45
		{1, 1, 1, 1},
		{1, 0, 1, 0},
	}
	for _, tt := range tests {
		if got := PassAtK(tt.n, tt.c, tt.k); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("PassAtK(n=%d, c=%d, k=%d) = %v, want %v", tt.n, tt.c, tt.k, got, tt.want)
		}
	}
}

func TestPassAtKInvalid(t *testing.T) {
	for _, a := range [][3]int{{4, 2, 0}, {4, 2, 5}, {4, 5, 1}, {4, -1, 1}, {0, 0, 1}} {
		if got := PassAtK(a[0], a[1], a[2]); !math.IsNaN(got) {
			t.Errorf("PassAtK(%d, %d, %d) = %v, want NaN", a[0], a[1], a[2], got)
		}
	}
}

// The product form agrees with exact binomials, rises with k and c, and
// pass@1 is c/n.
func TestPassAtKMatchesBinomials(t *testing.T) {
	for n := 1; n <= 30; n++ {
		for c := 0; c <= n; c++ {
			prev := -1.0
			for k := 1; k <= n; k++ {
				got := PassAtK(n, c, k)
				miss := new(big.Rat).SetFrac(new(big.Int).Binomial(int64(n-c), int64(k)), new(big.Int).Binomial(int64(n), int64(k)))
				m, _ := miss.Float64()
				if want := 1 - m; math.Abs(got-want) > 1e-9 {
					t.Fatalf("PassAtK(%d, %d, %d) = %v, exact %v", n, c, k, got, want)
				}
				if got < prev-1e-12 || got < 0 || got > 1 {
					t.Fatalf("PassAtK(%d, %d, %d) = %v after %v: not in [0,1] or not rising with k", n, c, k, got, prev)
				}
				prev = got
				if c > 0 && PassAtK(n, c-1, k) > got+1e-12 {
					t.Fatalf("PassAtK(%d, %d, %d) < PassAtK with c-1", n, c, k)
				}
			}
			if got, want := PassAtK(n, c, 1), float64(c)/float64(n); math.Abs(got-want) > 1e-12 {
				t.Fatalf("pass@1 with n=%d c=%d is %v, want %v", n, c, got, want)
			}
		}
	}
}
