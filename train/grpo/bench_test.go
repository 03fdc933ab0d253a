package grpo

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/backprop"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
)

// BenchmarkStep measures the two halves of a default step of "retrain
// train" on the built-in model: playing 16 tasks × 4 episodes (rollouts) and
// the updates on their sequences (train), each on GOMAXPROCS goroutines.
func BenchmarkStep(b *testing.B) {
	ctx := context.Background()
	f, err := env.New(EnvName, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	calc, err := reward.NewCalculator(Rewards(), nil)
	if err != nil {
		b.Fatal(err)
	}
	o := &Options{}
	if err := o.defaults(); err != nil {
		b.Fatal(err)
	}
	w, err := local.DefaultWeights()
	if err != nil {
		b.Fatal(err)
	}
	m, err := local.FromWeights(w, nil)
	if err != nil {
		b.Fatal(err)
	}
	tasks := rollout.ArithmeticTasks(o.TasksPerStep, 31)
	tr := &trainer{o: o, w: w.Clone(), ref: w, rng: rand.New(rand.NewPCG(1, 1))}
	tr.opt = backprop.NewAdamW(tr.w, 0)
	b.Run("rollouts", func(b *testing.B) {
		for b.Loop() {
			if _, err := tr.play(ctx, f, m, calc, tasks, 1); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(o.TasksPerStep*o.SamplesPerTask)*float64(b.N)/b.Elapsed().Seconds(), "episodes/s")
	})
	trajs, err := tr.play(ctx, f, m, calc, tasks, 1)
	if err != nil {
		b.Fatal(err)
	}
	var sm StepMetrics
	seqs := tr.sequences(trajs, &sm)
	b.Run("train", func(b *testing.B) {
		tokens := 0
		for b.Loop() {
			var st StepMetrics
			tr.update(seqs, sm.BatchTokens, &st)
			tokens += st.Tokens
		}
		b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	})
}
