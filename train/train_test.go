package train

import (
	"bytes"
	"context"
	"testing"

	"github.com/retrain-rl/retrain/model/local"
)

// TestTrainLearns trains a tiny model for a few steps and checks that the
// loss falls, and that the same seed gives the same weights.
func TestTrainLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	opts := &Options{
		Config: local.Config{Vocab: local.VocabSize, Dim: 16, Layers: 1, Heads: 2, Hidden: 32, SegmentPositions: 96, Context: 256, RopeBase: 10000},
		Steps:  30, BatchSize: 4, Warmup: 5, LearningRate: 1e-2, EvalEvery: -1, Seed: 5, LogEvery: 10,
	}
	if raceEnabled {
		opts.Steps, opts.BatchSize, opts.LogEvery = 12, 2, 4
	}
	r1, err := Train(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	first, last := r1.Curve[0].Loss, r1.Curve[len(r1.Curve)-1].Loss
	if len(r1.Curve) < 2 || !(last < first*0.9) {
		t.Errorf("loss went from %g to %g; want a clear fall", first, last)
	}
	r2, err := Train(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var b1, b2 bytes.Buffer
	local.EncodeWeights(&b1, r1.Weights, nil)
	local.EncodeWeights(&b2, r2.Weights, nil)
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("two runs with the same seed gave different weights")
	}
}
