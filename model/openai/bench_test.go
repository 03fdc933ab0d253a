package openai

import (
	"context"
	"runtime"
	"testing"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// benchConcurrency is the number of concurrent requests in the benchmarks.
const benchConcurrency = 512

func benchServer(b *testing.B) *openaitest.Server {
	return newServer(b, &openaitest.Options{LogprobTokens: 200})
}

func setParallelism(b *testing.B) {
	b.SetParallelism((benchConcurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
}

// BenchmarkGenerate measures the client against the fake server: 200-token
// replies with log-probabilities and token ids, 512 requests at a time.
// The comparison with a plain net/http + encoding/json client is the bench
// package's (BenchmarkBaselineEpisodes, retrain bench).
func BenchmarkGenerate(b *testing.B) {
	s := benchServer(b)
	c := newClient(b, s, &Options{ReturnTokenIDs: true, MaxInFlight: benchConcurrency})
	req := userRequest("What is the capital of France? Answer in one word.")
	b.ReportAllocs()
	setParallelism(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			comp, err := c.Generate(context.Background(), req)
			if err != nil {
				b.Error(err)
				return
			}
			if len(comp.Tokens.IDs) != 200 {
				b.Errorf("%d token ids, want 200", len(comp.Tokens.IDs))
				return
			}
		}
	})
}
