package grpo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
)

// EvalOptions configure [Evaluate]. The zero value (or nil) plays one
// sample per task at temperature 1, seeded with DefaultEvalSeed.
type EvalOptions struct {
	// N is the samples per task (default 1).
	N int
	// Temperature is the sampling temperature (nil: 1).
	Temperature *float64
	// Seed seeds the environments and the sampling as "retrain eval
	// --seed" does (default DefaultEvalSeed).
	Seed int64
	// Concurrency is the episodes played at once (default
	// rollout.DefaultConcurrency); it does not change the results.
	Concurrency int
}

// Evaluate plays N samples of every task with m in the environments of f,
// exactly as "retrain eval --tasks len(tasks) --n N --temperature T --seed
// SEED" does with the same tasks (the same episodes, seeded the same way;
// no turn or token limits beyond the environment's and the model's), and
// returns the share answered right (math_equal of the final answer) and the
// turns the dialect could not parse.
func Evaluate(ctx context.Context, f env.Factory, m model.Model, tasks []retrain.Task, opts *EvalOptions) (*EvalMetrics, error) {
	var o EvalOptions
	if opts != nil {
		o = *opts
	}
	o.N = max(o.N, 1)
	if o.Seed == 0 {
		o.Seed = DefaultEvalSeed
	}
	temp := 1.0
	if o.Temperature != nil {
		temp = *o.Temperature
	}
	calc, err := reward.NewCalculator(&reward.Config{Rollout: []reward.Component{{Name: "correct", Reward: "math_equal"}}, EnvWeight: reward.Float(0)}, nil)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	e := &EvalMetrics{Type: "eval", Split: "held_out", Tasks: len(tasks), N: o.N, Temperature: temp, Seed: o.Seed}
	if pv, ok := m.(interface{ PolicyVersion() string }); ok {
		e.Policy = pv.PolicyVersion()
	}
	var mu sync.Mutex
	seed := o.Seed
	r := rollout.NewRunner(f, m, &rollout.RunnerOptions{
		N:           o.N,
		Concurrency: o.Concurrency,
		Seed:        &seed,
		Episode:     rollout.Options{Sampling: model.Sampling{Temperature: &temp, Seed: &seed}, EnvName: EnvName},
		Scorer:      calc,
		Sink: sinkFunc(func(t *retrain.Trajectory) error {
			mu.Lock()
			defer mu.Unlock()
			e.Episodes++
			if t.Failed() {
				e.Failed++
				return nil
			}
			for _, tu := range t.Turns {
				e.Turns++
				if tu.Action.ParseError != "" {
					e.ParseErrors++
				}
			}
			if t.Rewards != nil && t.Rewards.Rollout["correct"] >= 1 {
				e.Correct++
			}
			return nil
		}),
	})
	if _, err := r.Run(ctx, tasks); err != nil {
		return nil, fmt.Errorf("grpo: evaluate: %w", err)
	}
	e.Accuracy = ratio(float64(e.Correct), e.Episodes)
	e.Seconds = time.Since(start).Seconds()
	return e, nil
}

// String summarises the evaluation in one line.
func (e *EvalMetrics) String() string {
	return fmt.Sprintf("%.1f%% right (%d of %d episodes: %d tasks × %d, temperature %g, seed %d), %d parse errors in %d turns, %d failed, %.1fs",
		100*e.Accuracy, e.Correct, e.Episodes, e.Tasks, e.N, e.Temperature, e.Seed, e.ParseErrors, e.Turns, e.Failed, e.Seconds)
}
