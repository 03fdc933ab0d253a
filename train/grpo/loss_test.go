package grpo

import (
	"math"
	"testing"
)

// lossOf is the per-token loss the coefficients are the gradient of,
// computed from its definition.
func lossOf(p lossParams, logp, old, adv, ref float64, withRef bool) float64 {
	r := math.Exp(logp - old)
	clipped := math.Min(math.Max(r, 1-p.clipLow), 1+p.clipHigh)
	l := -math.Min(r*adv, clipped*adv)
	if withRef {
		d := ref - logp
		l += p.klCoef * (math.Exp(d) - d - 1)
	}
	return l * p.norm
}

// The coefficients are the derivative of the loss in each token's
// log-probability (finite differences), zero off the mask and where the
// clip holds the objective flat; the statistics count what they say.
func TestCoefficients(t *testing.T) {
	p := lossParams{clipLow: 0.2, clipHigh: 0.2, klCoef: 0.1, norm: 1.0 / 5}
	mask := []uint8{0, 1, 1, 1, 1, 1, 0}
	logp := []float64{0, -0.5, -1, -0.1, -2, -0.7, -3}
	old := []float32{0, -0.5, -1.5, -0.1, -1, -0.2, 0}   // ratios 1, e^0.5 (clipped for A>0), 1, e^-1 (clipped for A<0), e^-0.5
	adv := []float32{0, 1, 1, -1, -1, 0.5, 0}            // the advantage of each token
	ref := []float64{0, -0.4, -1.2, -0.3, -1.8, -0.7, 0} // the starting model's
	for _, withRef := range []bool{false, true} {
		coef := make([]float32, len(mask))
		var r []float64
		if withRef {
			r = ref
		}
		st := coefficients(p, mask, logp, old, adv, r, coef)
		if st.tokens != 5 || st.clipped != 2 {
			t.Errorf("ref %v: %d tokens, %d clipped; want 5, 2", withRef, st.tokens, st.clipped)
		}
		if withRef != (st.klRef == 5) || withRef != (st.kl > 0) {
			t.Errorf("ref %v: KL %g over %d tokens", withRef, st.kl, st.klRef)
		}
		var total float64
		for i := range mask {
			if mask[i] == 0 {
				if coef[i] != 0 {
					t.Errorf("token %d off the mask: coefficient %g", i, coef[i])
				}
				continue
			}
			total += lossOf(p, logp[i], float64(old[i]), float64(adv[i]), ref[i], withRef) / p.norm
			const h = 1e-6
			num := (lossOf(p, logp[i]+h, float64(old[i]), float64(adv[i]), ref[i], withRef) -
				lossOf(p, logp[i]-h, float64(old[i]), float64(adv[i]), ref[i], withRef)) / (2 * h)
			if math.Abs(float64(coef[i])-num) > 1e-5 {
				t.Errorf("ref %v, token %d: coefficient %g, derivative of the loss %g", withRef, i, coef[i], num)
			}
		}
		if math.Abs(st.loss-total) > 1e-9 {
			t.Errorf("ref %v: loss %g, want %g", withRef, st.loss, total)
		}
		if !withRef && (coef[2] != 0 || coef[4] != 0) {
			t.Errorf("clipped tokens have coefficients %g, %g", coef[2], coef[4])
		}
		// On-policy and unclipped, the coefficient is -A/N: a positive
		// advantage lowers the loss by raising the log-probability.
		if !withRef && math.Abs(float64(coef[1])+1.0/5) > 1e-7 {
			t.Errorf("on-policy coefficient %g, want %g", coef[1], -1.0/5)
		}
	}
}
