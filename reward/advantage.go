package reward

import (
	"math"

	"github.com/retrain-rl/retrain"
)

// stdEpsilon keeps GRPO's division by the group std finite.
const stdEpsilon = 1e-6

// Advantages computes the configured group advantage for trajectories of
// one task and writes it to each trajectory's Rewards.Advantage and to each
// of its turns. Trajectories that failed (Error set) or were not scored are
// left out of the group and get no advantage. It does nothing when the
// configuration names no advantage estimator.
func (c *Calculator) Advantages(group []*retrain.Trajectory) {
	if c.cfg.Advantage == "" {
		return
	}
	var members []*retrain.Trajectory
	var totals []float64
	for _, t := range group {
		if t == nil || t.Rewards == nil {
			continue
		}
		if t.Failed() {
			clearAdvantage(t.Rewards)
			continue
		}
		members = append(members, t)
		totals = append(totals, t.Rewards.Total)
	}
	adv := advantages(c.cfg.Advantage, c.scale, c.cfg.Std, totals)
	for i, t := range members {
		a := adv[i]
		t.Rewards.Advantage = &a
		for j := range t.Rewards.Turns {
			ta := a
			t.Rewards.Turns[j].Advantage = &ta
		}
	}
}

func clearAdvantage(r *retrain.Rewards) {
	r.Advantage = nil
	for j := range r.Turns {
		r.Turns[j].Advantage = nil
	}
}

// advantages computes one advantage per reward, GRPO's scaled by the std
// of kind std (population when empty). A group of one, or one whose rewards
// are all equal, gets zeros.
func advantages(mode AdvantageEstimator, scale bool, std StdKind, rewards []float64) []float64 {
	n := len(rewards)
	out := make([]float64, n)
	if n < 2 {
		return out
	}
	sum := 0.0
	for _, r := range rewards {
		sum += r
	}
	mean := sum / float64(n)
	allEqual := true
	for _, r := range rewards {
		allEqual = allEqual && r == rewards[0]
	}
	if allEqual {
		return out
	}
	switch mode {
	case AdvRLOO:
		for i, r := range rewards {
			out[i] = r - (sum-r)/float64(n-1)
		}
	case AdvDrGRPO:
		for i, r := range rewards {
			out[i] = r - mean
		}
	default: // grpo
		sd := 0.0
		if scale {
			v := 0.0
			for _, r := range rewards {
				v += (r - mean) * (r - mean)
			}
			dof := float64(n)
			if std == StdSample {
				dof = float64(n - 1)
			}
			sd = math.Sqrt(v / dof)
		}
		for i, r := range rewards {
			out[i] = r - mean
			if scale {
				out[i] /= sd + stdEpsilon
			}
		}
	}
	return out
}
