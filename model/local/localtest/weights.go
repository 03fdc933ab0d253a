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
	"os"
	"path/filepath"

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

// WriteRandomWeights writes [RandomWeights](c, seed) to a file in dir (a
// test's t.TempDir()) and returns its path, for code that takes a weights
// file (--weights, model.Endpoint.Weights).
func WriteRandomWeights(dir string, c local.Config, seed uint64) (string, error) {
	w, err := RandomWeights(c, seed)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("random-%d.bin", seed))
	if err := os.WriteFile(path, w, 0o644); err != nil {
		return "", fmt.Errorf("localtest: %w", err)
	}
	return path, nil
}
