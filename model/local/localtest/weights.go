// Package localtest makes local models with random weights for tests of
// code that runs or serves a [local.Model]: real generation, token ids and
// log-probabilities in milliseconds, without the built-in weights. The
// output is noise, but deterministic noise with a spread-out distribution.
//
//	w, err := localtest.RandomWeights(localtest.Tiny, 9)
//	if err != nil { ... }
//	m, err := local.New(&local.Options{Weights: w, Name: "tiny"})
package localtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"github.com/retrain-rl/retrain/model/local"
)

// Tiny is a model shape that loads and runs in milliseconds: one layer,
// 16 dimensions, a context of 256 tokens.
var Tiny = local.Config{
	Vocab: local.VocabSize, Dim: 16, Layers: 1, Heads: 2, Hidden: 32,
	SegmentPositions: 64, Context: 256, RopeBase: 10000,
}

// RandomWeights returns a weights file (see [local.EncodeWeights]) for a
// model of shape c whose matrices are drawn from a normal distribution with
// standard deviation 0.3 (large enough that every part of the network
// matters) and whose norm gains are one. The same seed gives the same
// weights.
func RandomWeights(c local.Config, seed uint64) ([]byte, error) {
	w, err := local.NewWeights(c)
	if err != nil {
		return nil, err // it names what is wrong with c
	}
	r := rand.New(rand.NewPCG(seed, 2))
	for _, ts := range w.Tensors() {
		if len(ts.Shape) == 1 {
			continue // norm gains stay one
		}
		for i := range ts.Data {
			ts.Data[i] = float32(0.3 * r.NormFloat64())
		}
	}
	var buf bytes.Buffer
	if err := local.EncodeWeights(&buf, w, map[string]string{"purpose": "test"}); err != nil {
		return nil, fmt.Errorf("localtest: encoding random weights: %w", err)
	}
	return buf.Bytes(), nil
}
