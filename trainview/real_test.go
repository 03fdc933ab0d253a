package trainview

import (
	"context"
	"errors"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/serve"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"

	_ "github.com/retrain-rl/retrain/env/toolenv" // registers "calculator"
)

// collect is a rollout sink that keeps the trajectories.
type collect struct {
	mu sync.Mutex
	ts []*retrain.Trajectory
}

func (c *collect) Write(t *retrain.Trajectory) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ts = append(c.ts, t)
	return nil
}

// realRun plays tasks calculator tasks, 4 samples each at temperature 1.3
// with fixed seeds, with m, scored for correctness with GRPO advantages,
// and returns the trajectories sorted by id.
func realRun(t *testing.T, m model.Model, tasks int, policy, lmode string) []*retrain.Trajectory {
	t.Helper()
	f, err := env.New("calculator", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	calc, err := reward.NewCalculator(&reward.Config{
		Rollout:   []reward.Component{{Name: "correct", Reward: "math_equal"}},
		Advantage: reward.AdvGRPO,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &collect{}
	temp, seed := 1.3, int64(5)
	_, err = rollout.NewRunner(f, m, &rollout.RunnerOptions{N: 4, Concurrency: 4, Seed: retrain.Seed(1), Sink: sink,
		Scorer: calc, Advantages: calc.Advantages,
		Episode: rollout.Options{EnvName: "calculator", MaxTokens: 400, Sampling: model.Sampling{Temperature: &temp, Seed: &seed},
			PolicyVersion: policy, LogprobsMode: lmode},
	}).Run(context.Background(), rollout.ArithmeticTasks(tasks, 11))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(sink.ts, func(a, b *retrain.Trajectory) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	if len(sink.ts) != 4*tasks {
		t.Fatalf("%d trajectories, want %d", len(sink.ts), 4*tasks)
	}
	return sink.ts
}

// checkReal checks the sequences of real trajectories: the model-masked
// tokens are the completions' ids, the old log-probs the recorded ones, and
// teacher-forcing each sequence through the local model gives those
// log-probs again. It returns all sequences.
func checkReal(t *testing.T, m *local.Model, ts []*retrain.Trajectory) []Sequence {
	t.Helper()
	var all []Sequence
	used, worstAll := 0, 0.0
	for _, tr := range ts {
		if tr.Failed() {
			t.Fatalf("%s failed: %s", tr.ID, tr.Error)
		}
		seqs, err := Sequences(tr, nil)
		if err != nil {
			t.Fatalf("%s: %v", tr.ID, err)
		}
		used++
		checkInvariants(t, tr, seqs) // masked tokens = completions, log-probs = recorded
		for _, s := range seqs {
			if s.Part != 0 {
				t.Errorf("%s: part %d: the local model's template is prefix-stable, want one sequence", tr.ID, s.Part)
			}
			if s.GroupID != tr.Task.ID || s.Reward != tr.Rewards.Total || s.Sampling == nil || *s.Sampling.Temperature != 1.3 || s.Sampling.Seed == nil {
				t.Errorf("%s: group %q reward %v sampling %+v", tr.ID, s.GroupID, s.Reward, s.Sampling)
			}
			for i, mk := range s.LossMask {
				if mk == 1 && s.Advantages[i] != float32(*tr.Rewards.Advantage) {
					t.Fatalf("%s token %d: advantage %v, want the trajectory's %v", tr.ID, i, s.Advantages[i], *tr.Rewards.Advantage)
				}
			}
			ids := make([]int, len(s.InputIDs))
			for i, id := range s.InputIDs {
				ids[i] = int(id)
			}
			lps, err := m.Score(ids, 1)
			if err != nil {
				t.Fatalf("%s: score: %v", tr.ID, err)
			}
			worst := 0.0
			for i := 1; i < len(ids); i++ {
				if s.LossMask[i] == 1 {
					worst = max(worst, math.Abs(lps[i-1]-float64(s.OldLogprobs[i])))
				}
			}
			// Generation with a KV cache and one forward pass over the whole
			// sequence differ only in float32 rounding.
			worstAll = max(worstAll, worst)
			if worst > 1e-4 {
				t.Errorf("%s: teacher-forced log-probs differ from the recorded ones by up to %g", tr.ID, worst)
			}
		}
		all = append(all, seqs...)
	}
	if used == 0 {
		t.Fatal("no trajectory used")
	}
	t.Logf("%d sequences; teacher-forced log-probs within %.2g of the recorded ones", len(all), worstAll)
	return all
}

// Real trajectories of the built-in model, in process and through a real
// HTTP server of it (model/serve, as `retrain serve-model` serves it),
// give the same training view, which the model itself reproduces. Under
// the race detector it plays one task in process only.
func TestSequencesOfRealTrajectories(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 24 episodes of the local model")
	}
	tasks := 3
	if raceEnabled {
		tasks = 1
	}
	m, err := local.Default()
	if err != nil {
		t.Fatal(err)
	}
	inproc := realRun(t, m, tasks, m.PolicyVersion(), m.LogprobsMode())
	a := checkReal(t, m, inproc)
	var nonzero bool
	for _, s := range a {
		nonzero = nonzero || s.Advantages[s.TurnStarts[0]] != 0
	}
	if !nonzero && !raceEnabled {
		t.Error("every advantage is zero: the test does not see the broadcast")
	}
	if raceEnabled {
		return
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve.Serve(ctx, ln, serve.NewHandler(m, &serve.Options{Name: m.Name(), ContextLength: m.Config().Context,
			BadRequest: func(err error) bool { return errors.Is(err, local.ErrContextLength) }, MaxConcurrent: 4}), time.Second)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	opened, err := endpoint.Open(ctx, model.Endpoint{BaseURL: "http://" + ln.Addr().String() + "/v1", TokenIDs: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	served := realRun(t, opened.Model, tasks, opened.PolicyVersion, opened.LogprobsMode)
	b := checkReal(t, m, served)

	if len(a) != len(b) {
		t.Fatalf("%d sequences in process, %d served", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.EpisodeID != y.EpisodeID || !slices.Equal(x.InputIDs, y.InputIDs) || !slices.Equal(x.LossMask, y.LossMask) ||
			!slices.Equal(x.OldLogprobs, y.OldLogprobs) || !slices.Equal(x.Advantages, y.Advantages) {
			t.Errorf("sequence %d (%s): served differs from in process", i, x.EpisodeID)
		}
	}
}
