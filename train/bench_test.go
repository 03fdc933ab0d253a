package train

import (
	"context"
	"testing"

	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/backprop"
)

// BenchmarkSequence measures one training sequence (a whole calculator
// episode) through the forward and backward passes of DefaultConfig.
func BenchmarkSequence(b *testing.B) {
	gen, err := NewGenerator(context.Background(), 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer gen.Close()
	msgs, err := gen.Episode(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ids, learn := local.RenderTraining(msgs)
	w, _ := local.NewWeights(DefaultConfig)
	backprop.InitWeights(w, 1)
	g, _ := local.NewWeights(DefaultConfig)
	n := backprop.NewNet(w)
	a := n.NewActivations(len(ids))
	s := n.NewScratch(len(ids))
	for b.Loop() {
		n.Forward(a, ids)
		n.LossAndBackward(a, learn, 0.01, g, s)
	}
	b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
