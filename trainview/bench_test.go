package trainview

import (
	"bytes"
	"testing"

	"github.com/retrain-rl/retrain"
)

// benchTrajectory is an episode of turns turns, each adding env environment
// tokens and gen generated ones, its prompts extending one another.
func benchTrajectory(turns, env, gen int) *retrain.Trajectory {
	var sofar []int32
	t := traj(0.5)
	for i := range turns {
		prompt := append([]int32(nil), sofar...)
		for j := range env {
			prompt = append(prompt, int32(j))
		}
		tok := &retrain.Tokens{}
		for j := range gen {
			tok.IDs = append(tok.IDs, int32(i*gen+j))
			tok.Logprobs = append(tok.Logprobs, -0.1)
		}
		t.Turns = append(t.Turns, retrain.Turn{PromptTokenIDs: prompt, Action: retrain.Action{Raw: "x", Tokens: tok}})
		t.Rewards.Turns = append(t.Rewards.Turns, retrain.TurnReward{})
		sofar = append(prompt, tok.IDs...)
	}
	return t
}

// BenchmarkSequences: one episode of 8 turns, 4608 tokens in all.
func BenchmarkSequences(b *testing.B) {
	t := benchTrajectory(8, 64, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sequences(t, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(4608*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkParquet writes 64 such sequences as a Parquet file.
func BenchmarkParquet(b *testing.B) {
	seqs, err := Sequences(benchTrajectory(8, 64, 512), nil)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]Sequence, 64)
	for i := range batch {
		batch[i] = seqs[0]
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteParquet(&buf, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "file-bytes")
	b.ReportMetric(float64(64*4608*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
