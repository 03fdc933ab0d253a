package local_test

import (
	"context"
	"testing"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
)

// BenchmarkLoad measures loading the built-in weights.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := local.New(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerate measures the first turn of calculator episodes with the
// built-in model at temperature 1 (a new seed each time: mostly tool calls,
// some direct answers), prompt processing included, and reports generated
// tokens per second. Run it on one core:
//
//	go test -run '^$' -bench Generate -cpu 1 ./model/local
func BenchmarkGenerate(b *testing.B) {
	m, err := local.Default()
	if err != nil {
		b.Fatal(err)
	}
	req := model.Request{
		Messages: userMessages("What is 37 * 12 + 5?"),
		Sampling: model.Sampling{Temperature: ptr(1.0), MaxTokens: 128},
	}
	tokens, seed := 0, int64(0)
	for b.Loop() {
		seed++
		req.Sampling.Seed = &seed
		c, err := m.Generate(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(c.Tokens.IDs)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(tokens)/float64(b.N), "tokens/op")
}
