package backprop

import (
	"math"
	"math/rand/v2"

	"github.com/retrain-rl/retrain/model/local"
)

// InitWeights draws the initial weights: normal with standard deviation
// 0.02 (the residual projections scaled down by the depth), norm gains one,
// from a generator seeded with seed (the same seed gives the same weights).
func InitWeights(w *local.Weights, seed int64) {
	r := rand.New(rand.NewPCG(uint64(seed), 0x696e6974))
	fill := func(x []float32, std float64) {
		for i := range x {
			x[i] = float32(r.NormFloat64() * std)
		}
	}
	resid := 0.02 / math.Sqrt(2*float64(w.Config.Layers))
	fill(w.TokenEmbed, 0.02)
	fill(w.SegmentEmbed, 0.02)
	for i := range w.Blocks {
		b := &w.Blocks[i]
		fill(b.Query, 0.02)
		fill(b.Key, 0.02)
		fill(b.Value, 0.02)
		fill(b.AttnOut, resid)
		fill(b.Up, 0.02)
		fill(b.Down, resid)
	}
	fill(w.Output, 0.02)
}
