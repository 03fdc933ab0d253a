package games_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/env/games"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/rollout"
)

// legalMoves reads the legal moves listed in a prompt.
func legalMoves(content string) []string {
	for _, line := range strings.Split(content, "\n") {
		if rest, ok := strings.CutPrefix(line, "Legal moves: "); ok {
			return strings.Split(rest, ", ")
		}
	}
	return nil
}

// firstLegal answers the first legal move listed, in the smolagent format.
func firstLegal(obs retrain.Observation) retrain.Action {
	moves := legalMoves(obs.Content)
	m := "a1"
	if len(moves) > 0 {
		m = moves[0]
	}
	raw := "<answer>" + m + "</answer>"
	return retrain.Action{Kind: retrain.ActionText, Text: m, Raw: raw}
}

func text(s string) retrain.Action { return retrain.Action{Kind: retrain.ActionText, Text: s, Raw: s} }

// move is the action of a model that answered m in the smolagent format.
func move(m string) retrain.Action {
	return retrain.Action{Kind: retrain.ActionText, Text: m, Raw: "<answer>" + m + "</answer>"}
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts games.Options
	}{
		{"tictactoe random first", games.Options{}},
		{"tictactoe minimax second", games.Options{Opponent: games.Minimax(0), ModelSide: games.Second}},
		{"tictactoe alternate epsilon", games.Options{ModelSide: games.Alternate, Epsilon: 0.5, Opponent: games.Minimax(0)}},
		{"connect4 random", games.Options{NewGame: func() games.Game { return games.NewConnectFour() }}},
		{"connect4 minimax second", games.Options{NewGame: func() games.Game { return games.NewConnectFour() }, Opponent: games.Minimax(2), ModelSide: games.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envtest.Run(t, func() retrain.Environment { return games.New(&tt.opts) }, &envtest.Options{
				Seed: 5, Actions: firstLegal, MaxSteps: 30, IgnoresContext: false,
			})
		})
	}
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{"tictactoe", "connect4"} {
		t.Run(name, func(t *testing.T) {
			f, err := env.New(name, json.RawMessage(`{"opponent": "minimax", "epsilon": 0.1, "model_first": "alternate", "dialect": "plain"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			envtest.RunFactory(t, f, &envtest.Options{Seed: 3, MaxSteps: 30, Actions: func(obs retrain.Observation) retrain.Action {
				a := firstLegal(obs)
				a.Raw = a.Text // plain text
				return a
			}})
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ config, want string }{
		{`{"opponent": "genius"}`, `"random", "minimax" or "model"`},
		{`{"epsilon": 1.5}`, "between 0 and 1"},
		{`{"model_first": "sometimes"}`, `"alternate"`},
		{`{"dialect": "klingon"}`, "plain"},
		{`{"opponent_model": {"model": "m"}}`, `set "opponent": "model"`},
		{`{"minimax_depth": 3}`, `"opponent": "minimax"`},
		{`{"opponent": "model", "opponent_model": {"base_url": "ftp://x"}}`, "not an http(s) URL"},
		{`{"max_steps": -2}`, "max_steps"},
		{`{"colour": "red"}`, "allowed keys"},
	}
	for _, tt := range tests {
		_, err := env.New("tictactoe", json.RawMessage(tt.config))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %s: err = %v, want one containing %q", tt.config, err, tt.want)
		}
	}
}

func ready(t *testing.T, opts *games.Options) *games.Env {
	t.Helper()
	e := games.New(opts)
	t.Cleanup(func() { e.Close() })
	if err := e.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	return e
}

// scripted is an opponent that plays the given moves in turn.
func scripted(moves ...string) games.Opponent {
	var mu sync.Mutex
	i := 0
	return games.OpponentFunc(func(ctx context.Context, p games.Position, rng *rand.Rand) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		m := moves[i%len(moves)]
		i++
		return m, nil
	})
}

func TestWinLossDraw(t *testing.T) {
	tests := []struct {
		name     string
		side     games.Side
		opponent []string
		model    []string
		reward   float64
		outcome  string
	}{
		{"win", games.First, []string{"a2", "b2"}, []string{"a1", "b1", "c1"}, games.WinReward, "win"},
		{"loss", games.First, []string{"a1", "b1", "c1"}, []string{"a3", "c3", "a2"}, games.LossReward, "loss"},
		{"draw", games.First, []string{"b1", "b2", "a2", "c3"}, []string{"a1", "c1", "c2", "a3", "b3"}, games.DrawReward, "draw"},
		{"win as second", games.Second, []string{"a1", "b1", "a3"}, []string{"b2", "c2", "a2"}, games.WinReward, "win"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ready(t, &games.Options{Opponent: scripted(tt.opponent...), ModelSide: tt.side})
			if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
				t.Fatal(err)
			}
			var step retrain.Step
			total := 0.0
			for i, m := range tt.model {
				var err error
				step, err = e.Step(t.Context(), move(m))
				if err != nil {
					t.Fatal(err)
				}
				total += step.Reward
				if i < len(tt.model)-1 && step.Done() {
					t.Fatalf("episode ended after move %d: %s", i+1, step.Observation.Content)
				}
			}
			if !step.Terminated || step.Observation.RequiresAction {
				t.Fatalf("last step: terminated %v, requires action %v", step.Terminated, step.Observation.RequiresAction)
			}
			if total != tt.reward || step.Info["outcome"] != tt.outcome {
				t.Errorf("total reward %v, outcome %v; want %v, %q\n%s", total, step.Info["outcome"], tt.reward, tt.outcome, step.Observation.Content)
			}
		})
	}
}

// TestIllegalMoves parses the model's output with the environment's
// dialect, as a rollout does.
func TestIllegalMoves(t *testing.T) {
	e := ready(t, &games.Options{Opponent: scripted("c3", "c2", "c1"), IllegalMovePenalty: new(-0.5)})
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	parse := e.Dialect().Parse
	step, err := e.Step(t.Context(), parse("<answer>b2</answer>", nil))
	if err != nil {
		t.Fatal(err)
	}
	before := step.Observation.Content
	tests := []struct{ raw, want string }{
		{"<answer>b2</answer>", "Illegal move: b2 is already taken by X"},
		{"I play the centre", "found neither a <tool> block nor an <answer> block. Write exactly one legal move like this: <answer>b2</answer>"},
	}
	for i, tt := range tests {
		step, err = e.Step(t.Context(), parse(tt.raw, nil))
		if err != nil {
			t.Fatal(err)
		}
		if step.Reward != -0.5 || step.Done() || step.Info["illegal_move"] != true || step.Info["illegal_moves"] != i+1 {
			t.Errorf("%q: reward %v, done %v, info %v", tt.raw, step.Reward, step.Done(), step.Info)
		}
		if !strings.Contains(step.Observation.Content, tt.want) || !strings.Contains(step.Observation.Content, "Legal moves: a1, b1, c1, a2, c2, a3, b3") {
			t.Errorf("%q: feedback does not say %q and list the legal moves:\n%s", tt.raw, tt.want, step.Observation.Content)
		}
		if _, ok := step.Info["opponent_move"]; ok {
			t.Errorf("%q: the opponent moved after an illegal move", tt.raw)
		}
	}
	if r, _ := e.Render(); !strings.Contains(before, strings.Split(r, "X to move")[0]) {
		t.Errorf("illegal moves changed the board:\n%s\nvs\n%s", r, before)
	}
	step, err = e.Step(t.Context(), parse("<answer>z9</answer>", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !step.Terminated || step.Reward != games.LossReward || step.Info["outcome"] != "forfeit" ||
		!strings.Contains(step.Observation.Content, "you forfeit") {
		t.Errorf("third illegal move: reward %v, terminated %v, info %v, content %q", step.Reward, step.Terminated, step.Info, step.Observation.Content)
	}
	// The conversation records every turn.
	if n := len(step.Observation.Messages); n != 2+2*4 {
		t.Errorf("%d messages, want system, prompt and 4 turns of 2", n)
	}
}

func TestNeverForfeitTruncates(t *testing.T) {
	e := ready(t, &games.Options{MaxIllegalMoves: -1, MaxSteps: 5})
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		step, err := e.Step(t.Context(), text("nonsense"))
		if err != nil {
			t.Fatal(err)
		}
		if step.Terminated || step.Truncated != (i == 5) {
			t.Fatalf("step %d: terminated %v truncated %v", i, step.Terminated, step.Truncated)
		}
	}
}

func TestSeededDeterminism(t *testing.T) {
	opts := &games.Options{Opponent: games.Minimax(0), Epsilon: 0.5, ModelSide: games.Alternate}
	a := envtest.Transcript(t, ready(t, opts), 11, firstLegal)
	b := envtest.Transcript(t, ready(t, opts), 11, firstLegal)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different episodes (-a +b):\n%s", diff)
	}
	distinct := map[string]bool{}
	sides := map[bool]bool{}
	for seed := range int64(8) {
		ep := envtest.Transcript(t, ready(t, opts), seed, firstLegal)
		distinct[strings.Join(ep, "|")] = true
		sides[strings.Contains(ep[0], "You move first")] = true
	}
	if len(distinct) < 4 {
		t.Errorf("8 seeds gave only %d distinct episodes", len(distinct))
	}
	if len(sides) != 2 {
		t.Error("alternating sides: the model played the same side for 8 seeds")
	}
}

func TestSwapOpponentBetweenEpisodes(t *testing.T) {
	f := games.NewFactory(&games.Options{Opponent: scripted("c3")})
	defer f.Close()
	ne, err := f.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	e := ne.(*games.Env)
	defer e.Close()
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	// Swapping mid-episode affects the next episode only.
	f.AddOpposingAgent(scripted("a3"))
	step, err := e.Step(t.Context(), move("b2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := step.Info["opponent_move"].(games.Choice).Move; got != "c3" {
		t.Errorf("mid-episode swap: the opponent played %s, want the old opponent's c3", got)
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	step, err = e.Step(t.Context(), move("b2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := step.Info["opponent_move"].(games.Choice).Move; got != "a3" {
		t.Errorf("after the swap: the opponent played %s, want a3", got)
	}
	// Epsilon 1 from the factory: every opponent move is random.
	f.SetEpsilon(1)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	step, err = e.Step(t.Context(), move("b2"))
	if err != nil {
		t.Fatal(err)
	}
	if src := step.Info["opponent_move"].(games.Choice).Source; src != games.SourceEpsilon {
		t.Errorf("epsilon 1: source %q", src)
	}
}

func TestOpponentFailureLeavesEpisode(t *testing.T) {
	fail := true
	opp := games.OpponentFunc(func(ctx context.Context, p games.Position, rng *rand.Rand) (string, error) {
		if fail {
			return "", errors.New("opponent crashed")
		}
		return p.Legal[0], nil
	})
	e := ready(t, &games.Options{Opponent: opp})
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Step(t.Context(), move("b2")); err == nil || !strings.Contains(err.Error(), "opponent crashed") {
		t.Fatalf("Step with a failing opponent: err = %v", err)
	}
	fail = false
	step, err := e.Step(t.Context(), move("b2"))
	if err != nil {
		t.Fatalf("the failed step changed the episode: %v", err)
	}
	if step.Info["step"] != 1 {
		t.Errorf("step number %v after a failed step, want 1", step.Info["step"])
	}
}

// boardModel is a model.Model that reads the legal moves from the last
// message and answers the first, in the smolagent format.
type boardModel struct{}

func (boardModel) Generate(ctx context.Context, req model.Request) (model.Completion, error) {
	last := req.Messages[len(req.Messages)-1].Content
	moves := legalMoves(last)
	if len(moves) == 0 {
		return model.Completion{}, errors.New("no legal moves in the prompt")
	}
	return model.Completion{Text: "<think>first legal</think><answer>" + moves[0] + "</answer>"}, nil
}

func TestRolloutRun(t *testing.T) {
	_, e := envtest.Registered(t, "connect4", json.RawMessage(`{"opponent": "random"}`))
	if err := e.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	tr, err := rollout.Run(t.Context(), e, boardModel{}, &rollout.Options{Seed: retrain.Seed(4), MaxTurns: 40, EnvName: "connect4"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason != retrain.StopTerminated {
		t.Fatalf("stop reason %q, error %q", tr.StopReason, tr.Error)
	}
	if tr.Dialect != "smolagent" {
		t.Errorf("trajectory dialect %q, want the default smolagent", tr.Dialect)
	}
	last := tr.Turns[len(tr.Turns)-1]
	if tr.StepReward != last.Reward || (last.Reward != 1 && last.Reward != -1 && last.Reward != 0) {
		t.Errorf("step reward %v, last turn's %v", tr.StepReward, last.Reward)
	}
	for i, turn := range tr.Turns {
		if turn.Action.Reasoning != "first legal" || turn.Info["illegal_move"] != false {
			t.Errorf("turn %d: reasoning %q, info %v", i+1, turn.Action.Reasoning, turn.Info)
		}
	}
	if got := tr.Messages[0].Role; got != retrain.RoleSystem || !strings.Contains(tr.Messages[0].Content, "<answer>4</answer>") {
		t.Errorf("system message %q does not show the answer format", tr.Messages[0].Content)
	}
}
