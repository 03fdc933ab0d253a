package gym_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/bridge/gym"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/env/games"
)

// firstLegal answers the first legal action listed.
func firstLegal(obs retrain.Observation) retrain.Action {
	l := legal(obs.Content)
	if len(l) == 0 {
		return answer("1")
	}
	return answer(l[0])
}

// takeAll is an opponent that takes as many stones as it may.
var takeAll = games.OpponentFunc(func(ctx context.Context, p games.Position, rng *rand.Rand) (string, error) {
	return p.Legal[len(p.Legal)-1], nil
})

func TestConformanceNim(t *testing.T) {
	needPython(t)
	// The model plays second: the opponent moves in Reset and in Step.
	o := options(t, "nim:Nim", "")
	o.Opponent, o.Epsilon, o.ModelSide = games.Random(), 0.3, games.Second
	envtest.Run(t, func() retrain.Environment { return gym.New(o) }, &envtest.Options{Seed: 3, Actions: firstLegal})
}

func TestNimAgainstOpponent(t *testing.T) {
	tests := []struct {
		name       string
		side       games.Side
		kwargs     string
		wantReward float64
	}{
		// 7 stones: the model takes 1 each turn and the opponent 3:
		// 7→6→3→2→0, the opponent takes the last stone.
		{"model first loses", games.First, `{"low": 7, "high": 7}`, -1},
		// 5 stones, the opponent opens with 3: 5→2, model 1, opponent 1→0.
		{"model second loses", games.Second, `{"low": 5, "high": 5}`, -1},
		// 6 stones: model 1 → 5, opponent 3 → 2, model 1 → 1, opponent 1 → 0.
		{"per-player rewards", games.First, `{"low": 6, "high": 6, "per_player_rewards": true}`, -1},
		// 4 stones: model 1 → 3, opponent 3 → 0.
		{"win impossible", games.First, `{"low": 4, "high": 4}`, -1},
		// 3 stones: the model takes 3 and wins.
		{"model wins", games.First, `{"low": 3, "high": 3}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, "nim:Nim", tt.kwargs)
			o.Opponent, o.ModelSide = takeAll, tt.side
			e := ready(t, o)
			obs, info, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)})
			if err != nil {
				t.Fatal(err)
			}
			if want := int(tt.side); info["model_player"] != want {
				t.Errorf("model_player %v, want %d", info["model_player"], want)
			}
			if tt.side == games.Second && !strings.Contains(obs.Content, "Your opponent played 3.") {
				t.Errorf("the opponent's opening is not shown:\n%s", obs.Content)
			}
			if !strings.Contains(obs.Content, "You are player "+string(rune('0'+int(tt.side)))) || !strings.Contains(obs.Content, "Stones: ") {
				t.Errorf("first observation:\n%s", obs.Content)
			}
			total := 0.0
			for range 20 {
				a := "1"
				if tt.wantReward > 0 {
					a = legal(obs.Content)[len(legal(obs.Content))-1]
				}
				step, err := e.Step(t.Context(), answer(a))
				if err != nil {
					t.Fatal(err)
				}
				total += step.Reward
				obs = step.Observation
				if step.Done() {
					break
				}
			}
			if !strings.Contains(obs.Content, "The episode is over") || total != tt.wantReward {
				t.Errorf("total reward %v, want %v; last observation:\n%s", total, tt.wantReward, obs.Content)
			}
		})
	}
}

func TestNimIllegalAction(t *testing.T) {
	o := options(t, "nim:Nim", `{"low": 2, "high": 2}`)
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	step, err := e.Step(t.Context(), answer("3"))
	if err != nil {
		t.Fatal(err)
	}
	if step.Info["invalid_action"] != true || !strings.Contains(step.Observation.Content, "3 is not a legal action now; the legal actions are 1, 2") {
		t.Errorf("taking 3 of 2 stones:\n%s", step.Observation.Content)
	}
}

func TestNimSeededAndSwapped(t *testing.T) {
	needPython(t)
	f := gym.NewFactory(&gym.Options{
		Env: "nim:Nim", Process: gym.ProcessOptions{PythonPath: []string{testdata(t)}},
		Opponent: games.Random(), Epsilon: 0.5, ModelSide: games.Alternate,
	})
	defer f.Close()
	newEnv := func() *gym.Env {
		e, err := f.NewEnv()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e.(*gym.Env)
	}
	a, b := newEnv(), newEnv()
	if diff := cmp.Diff(envtest.Transcript(t, a, 8, firstLegal), envtest.Transcript(t, b, 8, firstLegal)); diff != "" {
		t.Errorf("same seed, different episodes (-a +b):\n%s", diff)
	}
	sides := map[any]bool{}
	for seed := range int64(4) {
		_, info, err := a.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(seed)})
		if err != nil {
			t.Fatal(err)
		}
		sides[info["model_player"]] = true
	}
	if len(sides) != 2 {
		t.Errorf("alternating sides over 4 seeds: %v", sides)
	}
	// Swap the opponent for every environment of the factory; epsilon 0.
	f.SetOpponent(takeAll)
	f.SetEpsilon(0)
	_, info, err := b.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}) // model second
	if err != nil {
		t.Fatal(err)
	}
	moves := info["opponent_moves"].([]games.Choice)
	if len(moves) != 1 || moves[0].Move != "3" || moves[0].Source != games.SourceOpponent {
		t.Errorf("after the swap the opponent opened with %+v, want takeAll's 3", moves)
	}
}

// TestNimModelOpponent lets a model.Model play the opponent: it is asked
// with the same text, and its illegal answers fall back to random moves.
func TestNimModelOpponent(t *testing.T) {
	var mu sync.Mutex
	var prompts []string
	o := options(t, "nim:Nim", `{"low": 9, "high": 9}`)
	o.Opponent = games.NewModelOpponent(scriptedModel(func(last string) string {
		mu.Lock()
		prompts = append(prompts, last)
		n := len(prompts)
		mu.Unlock()
		if n == 1 {
			return "<answer>7</answer>" // not a legal action
		}
		return "<answer>2</answer>"
	}), nil)
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	step, err := e.Step(t.Context(), answer("1"))
	if err != nil {
		t.Fatal(err)
	}
	ch := step.Info["opponent_moves"].([]games.Choice)[0]
	if ch.Source != games.SourceFallback || ch.Answer != "7" {
		t.Errorf("illegal opponent answer: %+v, want a fallback", ch)
	}
	step, err = e.Step(t.Context(), answer("1"))
	if err != nil {
		t.Fatal(err)
	}
	if ch := step.Info["opponent_moves"].([]games.Choice)[0]; ch.Source != games.SourceOpponent || ch.Move != "2" {
		t.Errorf("second opponent move %+v, want the model's 2", ch)
	}
	if len(prompts) != 2 || !strings.Contains(prompts[0], "You are player 1.") || !strings.Contains(prompts[0], "Legal actions: 1, 2, 3") {
		t.Errorf("opponent prompts: %q", prompts)
	}
}

func TestTwoPlayerConfig(t *testing.T) {
	needPython(t)
	cfg, _ := json.Marshal(map[string]any{
		"env": "nim:Nim", "pythonpath": testdata(t), "opponent": "random", "epsilon": 0.2, "model_first": "alternate",
	})
	f, e := envtest.Registered(t, "gym", cfg)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(2)}); err != nil {
		t.Fatal(err)
	}
	if got := e.(*gym.Env).Seat(); got != f.(*gym.Factory).Seat() {
		t.Error("the environment does not share the factory's seat")
	}
}
