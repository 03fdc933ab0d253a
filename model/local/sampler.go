package local

import (
	"math"
	"math/rand/v2"
	"slices"
)

// greedyBelow is the temperature under which sampling is greedy (vLLM's
// sampling epsilon).
const greedyBelow = 1e-5

// sampler draws tokens from logits with temperature and nucleus (top-p)
// sampling.
type sampler struct {
	temp, topP float64
	rng        *rand.Rand
	probs      []float64
	order      []int
}

func newSampler(temp, topP float64, seed uint64) *sampler {
	return &sampler{
		temp: temp, topP: topP,
		rng:   rand.New(rand.NewPCG(seed, 0x6c6f63616c)),
		probs: make([]float64, VocabSize),
		order: make([]int, VocabSize),
	}
}

// pick returns the next token: the most likely one (the lowest id among
// ties) when the temperature is zero, else a draw from softmax(logits/temp)
// restricted to the smallest set of most likely tokens whose probability
// reaches topP.
func (s *sampler) pick(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	if s.temp < greedyBelow {
		return best
	}
	m := float64(logits[best])
	var total float64
	for i, v := range logits {
		p := math.Exp((float64(v) - m) / s.temp)
		s.probs[i] = p
		total += p
	}
	u := s.rng.Float64()
	if s.topP >= 1 {
		return drawFrom(s.probs[:len(logits)], nil, u*total)
	}
	order := s.order[:len(logits)]
	for i := range order {
		order[i] = i
	}
	probs := s.probs
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case probs[a] > probs[b]:
			return -1
		case probs[a] < probs[b]:
			return 1
		}
		return 0
	})
	var kept float64
	n := 0
	for n < len(order) {
		kept += probs[order[n]]
		n++
		if kept >= s.topP*total {
			break
		}
	}
	return drawFrom(probs, order[:n], u*kept)
}

// drawFrom returns the token where the running sum of probs (over order, or
// over all ids when order is nil) passes target.
func drawFrom(probs []float64, order []int, target float64) int {
	var acc float64
	if order == nil {
		last := 0
		for i, p := range probs {
			if p == 0 {
				continue
			}
			acc += p
			last = i
			if acc > target {
				return i
			}
		}
		return last // rounding: the last token with any mass
	}
	for _, i := range order {
		acc += probs[i]
		if acc > target {
			return i
		}
	}
	return order[len(order)-1]
}
