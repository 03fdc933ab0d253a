package report

import "math"

// PassAtK is the unbiased estimator of pass@k for one task (Chen et al.
// 2021, "Evaluating Large Language Models Trained on Code"): the chance
// that at least one of k samples drawn without replacement from n, of which
// c pass, passes: 1 − C(n−c, k)/C(n, k). It is computed as a product, which
// stays exact enough for large n. It returns NaN unless 1 ≤ k ≤ n and
// 0 ≤ c ≤ n.
func PassAtK(n, c, k int) float64 {
	if k < 1 || k > n || c < 0 || c > n {
		return math.NaN()
	}
	if n-c < k {
		return 1
	}
	// C(n-c, k)/C(n, k) = ∏_{i=n-c+1}^{n} (1 - k/i)
	miss := 1.0
	for i := n - c + 1; i <= n; i++ {
		miss *= 1 - float64(k)/float64(i)
	}
	return 1 - miss
}
