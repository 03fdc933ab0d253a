package train

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/rollout"
)

// Report summarises episodes of the calculator environment.
type Report struct {
	// Episodes counts the episodes played, Failed those that failed for an
	// infrastructure reason (none expected).
	Episodes, Failed int
	// Correct counts the episodes whose final answer equals the task's.
	Correct int
	// Turns counts the assistant turns; Parsed those the dialect parsed.
	Turns, Parsed int
}

// Accuracy is the share of episodes answered right.
func (r Report) Accuracy() float64 { return ratio(r.Correct, r.Episodes) }

// ParseRate is the share of turns the dialect parsed.
func (r Report) ParseRate() float64 { return ratio(r.Parsed, r.Turns) }

func (r Report) String() string {
	return fmt.Sprintf("%d episodes: %.1f%% right (%d), %.1f%% of %d turns parsed, %d failed",
		r.Episodes, 100*r.Accuracy(), r.Correct, 100*r.ParseRate(), r.Turns, r.Failed)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Score adds one trajectory to r.
func (r *Report) Score(t *retrain.Trajectory) {
	r.Episodes++
	if t.Failed() {
		r.Failed++
	}
	for _, turn := range t.Turns {
		r.Turns++
		if turn.Action.ParseError == "" {
			r.Parsed++
		}
	}
	if Correct(t) {
		r.Correct++
	}
}

// Correct reports whether the episode ended with a text answer equal to the
// task's reference answer.
func Correct(t *retrain.Trajectory) bool {
	if len(t.Turns) == 0 || t.Task.Answer == "" {
		return false
	}
	a := t.Turns[len(t.Turns)-1].Action
	return a.Kind == retrain.ActionText && a.ParseError == "" && strings.TrimSpace(a.Text) == strings.TrimSpace(t.Task.Answer)
}

// Evaluate plays the tasks in the calculator environment with m, one at a
// time, as "retrain rollout --seed SEED" does (the environment reset with
// seed+i and the sampling seeded with seed+i for task i), and scores them.
// maxTurns limits the turns of an episode (0: rollout's default).
func Evaluate(ctx context.Context, m model.Model, tasks []retrain.Task, sampling model.Sampling, seed int64, maxTurns int) (Report, error) {
	f, err := env.New(EnvName, nil)
	if err != nil {
		return Report{}, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	if sampling.Seed == nil {
		sampling.Seed = retrain.Seed(seed)
	}
	var mu sync.Mutex
	var r Report
	runner := rollout.NewRunner(f, m, &rollout.RunnerOptions{
		Concurrency: 1,
		Seed:        retrain.Seed(seed),
		Episode:     rollout.Options{Sampling: sampling, EnvName: EnvName, MaxTurns: maxTurns},
		Sink: sinkFunc(func(t *retrain.Trajectory) error {
			mu.Lock()
			r.Score(t)
			mu.Unlock()
			return nil
		}),
	})
	if _, err := runner.Run(ctx, tasks); err != nil {
		return r, fmt.Errorf("train: evaluate: %w", err)
	}
	return r, nil
}

type sinkFunc func(*retrain.Trajectory) error

func (f sinkFunc) Write(t *retrain.Trajectory) error { return f(t) }
