package grpo

import "math"

// tokenStats accumulates the loss and its diagnostics over the tokens of a
// mini-batch.
type tokenStats struct {
	tokens  int     // model tokens
	clipped int     // tokens whose ratio was clipped
	loss    float64 // sum of the per-token loss (before normalisation)
	kl      float64 // sum of the k3 estimates of KL(policy ‖ reference)
	klOld   float64 // sum of the k3 estimates of KL(rollout policy ‖ policy)
	klRef   int     // tokens with a reference log-prob
}

func (s *tokenStats) add(o tokenStats) {
	s.tokens += o.tokens
	s.clipped += o.clipped
	s.loss += o.loss
	s.kl += o.kl
	s.klOld += o.klOld
	s.klRef += o.klRef
}

// lossParams are the loss's settings.
type lossParams struct {
	clipLow, clipHigh float64 // the ratio is clipped to [1-clipLow, 1+clipHigh]
	klCoef            float64 // weight of the k3 KL penalty to the reference
	norm              float64 // 1 / the mini-batch's model tokens
}

// coefficients computes, for one sequence, the per-token coefficients whose
// Backward (the gradient of sum_i coef[i]·log p_i) is the gradient of the
// PPO-clip loss with an optional KL penalty, normalised over the
// mini-batch's tokens:
//
//	loss_i = -min(r_i·A_i, clip(r_i, 1-ε_low, 1+ε_high)·A_i) + β·k3_i
//	r_i = exp(logp_i - old_i),  k3_i = exp(ref_i - logp_i) - (ref_i - logp_i) - 1
//
// so d loss_i / d logp_i = -A_i·r_i where the clip is inactive (0 where it
// holds the objective flat) plus β·(1 - exp(ref_i - logp_i)). mask selects
// the model tokens; ref may be nil (no reference: no penalty, no KL). It
// writes coef (0 off the mask) and returns the statistics.
func coefficients(p lossParams, mask []uint8, logp []float64, old, adv []float32, ref []float64, coef []float32) tokenStats {
	var st tokenStats
	for i := range coef {
		coef[i] = 0
		if mask[i] == 0 || i == 0 {
			continue
		}
		a := float64(adv[i])
		d := logp[i] - float64(old[i])
		r := math.Exp(d)
		st.tokens++
		st.klOld += math.Exp(-d) + d - 1 // k3 of KL(old ‖ new), sampled from old
		unclipped, clipped := r*a, math.Min(math.Max(r, 1-p.clipLow), 1+p.clipHigh)*a
		g := 0.0
		if clipped < unclipped {
			st.clipped++
			st.loss -= clipped
		} else {
			st.loss -= unclipped
			g = -a * r
		}
		if ref != nil {
			dr := ref[i] - logp[i]
			k3 := math.Exp(dr) - dr - 1
			st.kl += k3
			st.klRef++
			st.loss += p.klCoef * k3
			g += p.klCoef * (1 - math.Exp(dr))
		}
		coef[i] = float32(g * p.norm)
	}
	return st
}
