package reward

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/retrain-rl/retrain"
)

// testRegistry adds "fixed": a reward scoring its param value, failing
// with fail: true and panicking with panic: true.
func testRegistry(t *testing.T) *Registry {
	t.Helper()
	reg := NewRegistry()
	err := reg.Register("fixed", func(params map[string]any) (Func, error) {
		var p struct {
			Value float64 `json:"value"`
			Fail  bool    `json:"fail"`
			Panic bool    `json:"panic"`
		}
		if err := DecodeParams(params, &p); err != nil {
			return nil, err
		}
		return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
			switch {
			case p.Panic:
				panic("reward exploded")
			case p.Fail:
				return Score{}, errors.New("no can do")
			}
			return Score{Value: p.Value}, nil
		}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// threeTurns has environment step rewards 0.1, 0 and 0.5 and a correct
// final answer (42).
func threeTurns() *retrain.Trajectory {
	return &retrain.Trajectory{
		Task:       retrain.Task{Answer: "#### 42"},
		StopReason: "terminated",
		Turns: []retrain.Turn{
			{Action: retrain.Action{Raw: "thinking"}, Reward: 0.1},
			{Action: retrain.Action{Raw: "more"}, Reward: 0},
			{Action: retrain.Action{Raw: "The answer is 42.", Text: "The answer is 42."}, Reward: 0.5},
		},
	}
}

var approx = cmpopts.EquateApprox(0, 1e-12)

func TestCalculatorDistributions(t *testing.T) {
	// env weight 0.5; step "len" = 2 × 0.25 per turn; rollout "correct" = 1.
	base := Config{
		EnvWeight: Float(0.5),
		Step:      []Component{{Name: "len", Reward: "fixed", Weight: Float(2), Params: map[string]any{"value": 0.25}}},
		Rollout:   []Component{{Name: "correct", Reward: "math_equal"}},
	}
	env := []float64{0.05, 0, 0.25}
	tests := []struct {
		dist   Distribution
		gamma  float64
		shares []float64
	}{
		{"", 0, []float64{0, 0, 1}},
		{DistLastStep, 0, []float64{0, 0, 1}},
		{DistAverage, 0, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{DistEqual, 0, []float64{1, 1, 1}},
		{DistDiscounted, 0.5, []float64{0.25, 0.5, 1}},
	}
	for _, tt := range tests {
		cfg := base
		cfg.Distribution, cfg.Gamma = tt.dist, tt.gamma
		calc, err := NewCalculator(&cfg, testRegistry(t))
		if err != nil {
			t.Fatal(err)
		}
		tr := threeTurns()
		if err := calc.Score(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
		want := &retrain.Rewards{Rollout: map[string]float64{"correct": 1}}
		for i := range 3 {
			comps := map[string]float64{"env": env[i], "len": 0.5, "correct": tt.shares[i]}
			r := env[i] + 0.5 + tt.shares[i]
			want.Turns = append(want.Turns, retrain.TurnReward{Components: comps, Reward: r})
			want.Total += r
		}
		if diff := cmp.Diff(want, tr.Rewards, approx); diff != "" {
			t.Errorf("distribution %q: rewards mismatch (-want +got):\n%s", tt.dist, diff)
		}
	}
}

func TestCalculatorHandComputedTotals(t *testing.T) {
	// Same setup, totals written out by hand: env 0.3, step 1.5, rollout 1.
	for dist, want := range map[Distribution]float64{
		DistLastStep: 2.8,
		DistAverage:  2.8,
		DistEqual:    4.8,
	} {
		calc, err := NewCalculator(&Config{
			EnvWeight:    Float(0.5),
			Distribution: dist,
			Step:         []Component{{Name: "len", Reward: "fixed", Weight: Float(2), Params: map[string]any{"value": 0.25}}},
			Rollout:      []Component{{Name: "correct", Reward: "math_equal"}},
		}, testRegistry(t))
		if err != nil {
			t.Fatal(err)
		}
		tr := threeTurns()
		if err := calc.Score(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
		if math.Abs(tr.Rewards.Total-want) > 1e-12 {
			t.Errorf("%s: total = %v, want %v", dist, tr.Rewards.Total, want)
		}
	}
}

func TestCalculatorDefaults(t *testing.T) {
	// Zero config: environment rewards only, weight 1.
	calc, err := NewCalculator(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := threeTurns()
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	if got := tr.Rewards.Total; math.Abs(got-0.6) > 1e-12 {
		t.Errorf("total = %v, want 0.6", got)
	}
	if got := tr.Rewards.Turns[2].Components; !cmp.Equal(got, map[string]float64{"env": 0.5}) {
		t.Errorf("turn 2 components = %v", got)
	}
	// env_weight 0 leaves the environment out.
	calc, _ = NewCalculator(&Config{EnvWeight: Float(0)}, nil)
	calc.Score(context.Background(), tr)
	if tr.Rewards.Total != 0 || len(tr.Rewards.Turns[0].Components) != 0 {
		t.Errorf("env_weight 0: %+v", tr.Rewards)
	}
}

func TestCalculatorNoTurns(t *testing.T) {
	calc, err := NewCalculator(&Config{Rollout: []Component{{Name: "c", Reward: "fixed", Weight: Float(3), Params: map[string]any{"value": 0.5}}}}, testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	tr := &retrain.Trajectory{}
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	if tr.Rewards.Total != 1.5 || len(tr.Rewards.Turns) != 0 || tr.Rewards.Rollout["c"] != 1.5 {
		t.Errorf("no turns: %+v, want total 1.5", tr.Rewards)
	}
}

func TestCalculatorVerifierPenalty(t *testing.T) {
	cfg := &Config{
		EnvWeight: Float(0),
		Rollout: []Component{{
			Name: "correct", Reward: "math_equal", Weight: Float(2),
			Verifiers: []string{"has_answer", "max_length:100"}, Penalty: -0.5,
		}},
	}
	calc, err := NewCalculator(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		final string
		want  float64
	}{
		{"The answer is 42.", 2}, // verified, correct
		{"The answer is 41.", 0}, // verified, wrong
		{"42", -1},               // correct but no explicit answer: 2 × -0.5
		{strings.Repeat("x", 200) + " The answer is 42.", -1}, // too long
	}
	for _, tt := range tests {
		tr := &retrain.Trajectory{Task: retrain.Task{Answer: "42"}, Turns: []retrain.Turn{{Action: retrain.Action{Raw: tt.final, Text: tt.final}}}}
		if err := calc.Score(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
		if tr.Rewards.Total != tt.want {
			t.Errorf("final %.30q: total = %v, want %v", tt.final, tr.Rewards.Total, tt.want)
		}
	}
}

func TestCalculatorErrors(t *testing.T) {
	reg := testRegistry(t)
	cfg := &Config{
		EnvWeight:  Float(0),
		ErrorScore: -0.5,
		Step: []Component{
			{Name: "bad", Reward: "fixed", Weight: Float(2), Params: map[string]any{"fail": true}},
			{Name: "boom", Reward: "fixed", Params: map[string]any{"panic": true}},
			{Name: "ok", Reward: "fixed", Params: map[string]any{"value": 1}},
		},
	}
	calc, err := NewCalculator(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	tr := threeTurns()
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatalf("on_error score: Score returned %v", err)
	}
	// Per turn: bad 2 × -0.5, boom 1 × -0.5, ok 1.
	if got := tr.Rewards.Turns[0].Components; !cmp.Equal(got, map[string]float64{"bad": -1, "boom": -0.5, "ok": 1}) {
		t.Errorf("components = %v", got)
	}
	if n := len(tr.Rewards.Errors); n != 6 {
		t.Fatalf("%d errors, want 6 (2 per turn): %q", n, tr.Rewards.Errors)
	}
	if e := tr.Rewards.Errors[0]; !strings.HasPrefix(e, "turn 0: bad: ") || !strings.Contains(e, "no can do") {
		t.Errorf("first error = %q", e)
	}
	if e := tr.Rewards.Errors[1]; !strings.Contains(e, "panicked: reward exploded") {
		t.Errorf("panic error = %.100q", e)
	}

	cfg.OnError = OnErrorFail
	calc, err = NewCalculator(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	tr = threeTurns()
	if err := calc.Score(context.Background(), tr); !errors.Is(err, ErrRewardFailed) {
		t.Errorf("on_error fail: err = %v, want ErrRewardFailed", err)
	}
	if tr.Rewards != nil {
		t.Errorf("on_error fail left rewards %+v", tr.Rewards)
	}

	// A verifier that cannot decide is an error too.
	calc, err = NewCalculator(&Config{Step: []Component{{Name: "x", Reward: "fixed", Verifiers: []string{"max_tokens:5"}}}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	tr = threeTurns()
	calc.Score(context.Background(), tr)
	if len(tr.Rewards.Errors) != 3 || !strings.Contains(tr.Rewards.Errors[0], "verifier max_tokens:5") {
		t.Errorf("verifier errors = %q", tr.Rewards.Errors)
	}
}

func TestCalculatorCancelled(t *testing.T) {
	calc, err := NewCalculator(&Config{Rollout: []Component{{Reward: "math_equal"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := calc.Score(ctx, threeTurns()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestCalculatorPassesSamples(t *testing.T) {
	reg := NewRegistry()
	var seen []string
	err := reg.Register("spy", Static(ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		seen = append(seen, fmt.Sprintf("%d|%s|%s|%s|%v", s.Step, s.Completion, s.Dialect, s.Task.Answer, s.Trajectory != nil))
		return Score{}, nil
	})))
	if err != nil {
		t.Fatal(err)
	}
	calc, err := NewCalculator(&Config{Step: []Component{{Name: "spy"}}, Rollout: []Component{{Name: "r", Reward: "spy"}}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	tr := threeTurns()
	tr.Dialect = "hermes"
	tr.Turns[1].Action = retrain.Action{Text: "only text"}
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0|thinking|hermes|#### 42|true",
		"1|only text|hermes|#### 42|true",
		"2|The answer is 42.|hermes|#### 42|true",
		"-1|The answer is 42.|hermes|#### 42|true",
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestNewCalculatorErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Step: []Component{{Name: "x", Reward: "nope"}}}, "unknown reward"},
		{Config{Step: []Component{{Reward: "regex"}}}, "pattern is required"},
		{Config{Step: []Component{{Reward: "math_equal", Verifiers: []string{"nope"}}}}, "unknown verifier"},
		{Config{Step: []Component{{Reward: "math_equal", Verifiers: []string{"max_length"}}}}, "positive integer"},
		{Config{Step: []Component{{Reward: "math_equal", Verifiers: []string{"has_answer:3"}}}}, "takes no argument"},
		{Config{Step: []Component{{}}}, "set name or reward"},
		{Config{Step: []Component{{Name: "env", Reward: "math_equal"}}}, "reserved"},
		{Config{Step: []Component{{Reward: "math_equal"}}, Rollout: []Component{{Reward: "math_equal"}}}, "unique"},
		{Config{Distribution: "sometimes"}, "unknown distribution"},
		{Config{Distribution: DistDiscounted}, "gamma"},
		{Config{Distribution: DistDiscounted, Gamma: 1.5}, "gamma"},
		{Config{Advantage: "ppo"}, "unknown advantage"},
		{Config{Advantage: AdvDrGRPO, ScaleByStd: new(true)}, "does not scale"},
		{Config{OnError: "ignore"}, "unknown on_error"},
		{Config{Advantage: AdvGRPO, Std: "bessel"}, `unknown std "bessel"; use population (the default) or sample`},
		{Config{Advantage: AdvRLOO, Std: StdSample}, "applies only to advantage: grpo"},
		{Config{Advantage: AdvDrGRPO, Std: StdPopulation}, "applies only to advantage: grpo"},
		{Config{Std: StdSample}, "applies only to advantage: grpo"},
		{Config{Advantage: AdvGRPO, ScaleByStd: new(false), Std: StdSample}, "applies only to advantage: grpo"},
	}
	for _, tt := range tests {
		_, err := NewCalculator(&tt.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %+v: err = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
