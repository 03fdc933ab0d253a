package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// benchConcurrency is the concurrency of the in-process benchmarks.
const benchConcurrency = 64

// benchEpisodes runs b.N episodes with run against a fake server in this
// process (so ns/op includes the server's work, the same for both clients)
// and reports episodes per second.
func benchEpisodes(b *testing.B, run func(context.Context, *Workload) (WorkerResult, error)) {
	srv := openaitest.NewServer(ServerOptions(DefaultTokens, 0, 0))
	defer srv.Close()
	w := &Workload{URL: srv.URL, Episodes: b.N, Concurrency: benchConcurrency, Out: filepath.Join(b.TempDir(), "out.jsonl")}
	b.ReportAllocs()
	b.ResetTimer()
	res, err := run(context.Background(), w)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Lines != b.N || res.Failed != 0 {
		b.Fatalf("%d lines, %d failed, for %d episodes", res.Lines, res.Failed, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "episodes/s")
}

// BenchmarkRetrainEpisodes runs calculator episodes with retrain's packages
// at concurrency 64. Compare with BenchmarkBaselineEpisodes.
func BenchmarkRetrainEpisodes(b *testing.B) { benchEpisodes(b, RunRetrain) }

// BenchmarkBaselineEpisodes runs the same episodes with the plain
// net/http + encoding/json client.
func BenchmarkBaselineEpisodes(b *testing.B) { benchEpisodes(b, RunBaseline) }
