package gym_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/rollout"
)

// scriptedModel answers from the last message of each request.
type scriptedModel func(last string) string

func (m scriptedModel) Generate(ctx context.Context, req model.Request) (model.Completion, error) {
	return model.Completion{Text: m(req.Messages[len(req.Messages)-1].Content)}, nil
}

// pathModel walks the non-slippery grid to G: right, right, down, down,
// down, right, read from the observation.
var pathModel = scriptedModel(func(last string) string {
	route := map[string]string{"0": "right", "1": "right", "2": "down", "6": "down", "10": "down", "14": "right"}
	for _, line := range strings.Split(last, "\n") {
		if s, ok := strings.CutPrefix(line, "Observation: "); ok {
			return "<think>on " + s + "</think><answer>" + route[s] + "</answer>"
		}
	}
	return "<answer>up</answer>"
})

func gridConfig(t *testing.T, slippery bool) json.RawMessage {
	cfg, _ := json.Marshal(map[string]any{
		"env":          "gridworld:make",
		"kwargs":       map[string]any{"render_mode": "ansi", "is_slippery": slippery, "max_episode_steps": 30},
		"pythonpath":   []string{testdata(t)},
		"action_names": frozenNames,
		"step_timeout": "10s",
	})
	return cfg
}

func TestRolloutRun(t *testing.T) {
	needPython(t)
	_, e := envtest.Registered(t, "gym", gridConfig(t, false))
	if err := e.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	tr, err := rollout.Run(t.Context(), e, pathModel, &rollout.Options{Seed: retrain.Seed(1), EnvName: "gym"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason != retrain.StopTerminated || tr.StepReward != 1 || len(tr.Turns) != 6 {
		t.Errorf("stop %q, reward %v, %d turns; error %q", tr.StopReason, tr.StepReward, len(tr.Turns), tr.Error)
	}
	if tr.Dialect != "smolagent" {
		t.Errorf("trajectory dialect %q, want the default smolagent", tr.Dialect)
	}
	if got := tr.Turns[2].Action.Reasoning; got != "on 2" {
		t.Errorf("turn 3 reasoning %q", got)
	}
}

// TestConcurrentEpisodes runs 16 slippery episodes at once, one process
// each; episodes with the same seed must be equal.
func TestConcurrentEpisodes(t *testing.T) {
	needPython(t)
	f, err := env.New("gym", gridConfig(t, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const n = 16
	var wg sync.WaitGroup
	results := make([]*retrain.Trajectory, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			e, err := f.NewEnv()
			if err != nil {
				errs[i] = err
				return
			}
			defer e.Close()
			if err := e.Setup(t.Context()); err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = rollout.Run(t.Context(), e, pathModel, &rollout.Options{Seed: retrain.Seed(int64(i % 4)), MaxTurns: 40})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("episode %d: %v", i, err)
		}
	}
	view := func(tr *retrain.Trajectory) string {
		var b strings.Builder
		for _, turn := range tr.Turns {
			fmt.Fprintf(&b, "%s|%v|%s\n", turn.Action.Text, turn.Reward, turn.Observation.Content)
		}
		return b.String()
	}
	for i := 4; i < n; i++ {
		if diff := cmp.Diff(view(results[i%4]), view(results[i])); diff != "" {
			t.Errorf("episodes %d and %d (seed %d) differ:\n%s", i%4, i, i%4, diff)
		}
	}
	if view(results[0]) == view(results[1]) && view(results[1]) == view(results[2]) {
		t.Error("seeds 0, 1 and 2 gave the same slippery episode")
	}
}

func TestConfigErrors(t *testing.T) {
	needPython(t)
	tests := []struct{ config, want string }{
		{`{}`, `config key "env" is required`},
		{`{"env": "x:y", "kwargs": [1]}`, `"kwargs" must be a JSON object`},
		{`{"env": "x:y", "python": "no-such-python"}`, `interpreter "no-such-python" not found`},
		{`{"env": "x:y", "opponent": "minimax"}`, "minimax needs a game written in Go"},
		{`{"env": "x:y", "dialect": "nope"}`, `"plain"`},
		{`{"env": "x:y", "pythonpath": 3}`, `"pythonpath" must be a string or an array`},
		{`{"env": "x:y", "step_timeout": "soon"}`, "invalid duration"},
		{`{"env": "x:y", "frobnicate": 1}`, "allowed keys"},
	}
	for _, tt := range tests {
		_, err := env.New("gym", json.RawMessage(tt.config))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %s: err = %v, want one containing %q", tt.config, err, tt.want)
		}
	}
	// Action names that do not fit the space fail at Setup.
	cfg, _ := json.Marshal(map[string]any{"env": "gridworld:make", "pythonpath": testdata(t), "action_names": []string{"a", "b"}})
	_, e := envtest.Registered(t, "gym", cfg)
	if err := e.Setup(t.Context()); err == nil || !strings.Contains(err.Error(), "2 action names are given (a, b) but the action space has 4 actions") {
		t.Errorf("Setup with 2 names for 4 actions: err = %v", err)
	}
}
