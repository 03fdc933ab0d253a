package local_test

import (
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/localtest"
)

// smallConfig is a model shape that is quick to run in tests.
var smallConfig = local.Config{
	Vocab: local.VocabSize, Dim: 16, Layers: 2, Heads: 2, Hidden: 32,
	SegmentPositions: 64, Context: 128, RopeBase: 10000,
}

// randomModel returns a model with random weights: its output is noise, but
// deterministic noise with a spread-out distribution, which is what the
// sampling tests need.
func randomModel(t testing.TB, seed uint64) *local.Model {
	t.Helper()
	w, err := localtest.RandomWeights(smallConfig, seed)
	if err != nil {
		t.Fatal(err)
	}
	m, err := local.New(&local.Options{Weights: w, Name: "random"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func userMessages(text string) []retrain.Message {
	return []retrain.Message{
		{Role: retrain.RoleSystem, Content: "You are a calculator."},
		{Role: retrain.RoleUser, Content: text},
	}
}

func ptr[T any](v T) *T { return &v }
