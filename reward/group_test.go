package reward

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

// ranker is a GroupFunc: alone it scores 1 per character of the
// completion; in a group, each sample's rank by length (0 for the
// shortest), failing samples whose completion is "fail".
type ranker struct{ groups, alone atomic.Int32 }

func (r *ranker) Score(_ context.Context, s Sample) (Score, error) {
	r.alone.Add(1)
	return Score{Value: float64(len(s.Completion))}, nil
}

func (r *ranker) ScoreGroup(_ context.Context, samples []Sample) ([]Score, []error) {
	r.groups.Add(1)
	scores, errs := make([]Score, len(samples)), make([]error, len(samples))
	for i, s := range samples {
		if s.Completion == "fail" {
			errs[i] = errors.New("cannot rank")
			continue
		}
		for _, o := range samples {
			if len(o.Completion) < len(s.Completion) {
				scores[i].Value++
			}
		}
	}
	return scores, errs
}

func oneTurn(final string) *retrain.Trajectory {
	return &retrain.Trajectory{Task: retrain.Task{ID: "q", Answer: "4"}, Turns: []retrain.Turn{{Action: retrain.Action{Text: final, Raw: final}}}}
}

func TestCalculatorScoreGroup(t *testing.T) {
	reg := testRegistry(t)
	rk := &ranker{}
	if err := reg.Register("rank", Static(rk)); err != nil {
		t.Fatal(err)
	}
	calc, err := NewCalculator(&Config{
		EnvWeight:  Float(0),
		ErrorScore: -1,
		Step:       []Component{{Name: "fixed", Params: map[string]any{"value": 0.5}}},
		Rollout: []Component{
			{Name: "rank", Weight: Float(2), Verifiers: []string{"max_length:5"}, Penalty: -3},
			{Name: "correct", Reward: "math_equal"},
		},
		Advantage: AdvDrGRPO,
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	if !calc.GroupLevel() {
		t.Fatal("GroupLevel is false with a GroupFunc component")
	}
	failed := oneTurn("4")
	failed.Error = "boom"
	group := []*retrain.Trajectory{oneTurn("4"), oneTurn("four"), oneTurn("the answer is 4"), oneTurn("fail"), failed}
	if err := calc.ScoreGroup(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	if rk.groups.Load() != 1 || rk.alone.Load() != 0 {
		t.Errorf("ScoreGroup called %d times, Score %d times; want 1 and 0", rk.groups.Load(), rk.alone.Load())
	}
	// "the answer is 4" fails max_length:5: the penalty (weighted), and it is
	// not ranked. The others are ranked among 3 (weight 2): "4" 0, "four" 1
	// (longer than "4"), "fail" failed: the error score.
	want := []map[string]float64{
		{"rank": 0, "correct": 1},
		{"rank": 2, "correct": 1},
		{"rank": -6, "correct": 1},
		{"rank": -2, "correct": 0},
	}
	for i, w := range want {
		if diff := cmp.Diff(w, group[i].Rewards.Rollout); diff != "" {
			t.Errorf("trajectory %d rollout (-want +got):\n%s", i, diff)
		}
		if got := group[i].Rewards.Turns[0].Components["fixed"]; got != 0.5 {
			t.Errorf("trajectory %d: step component %v", i, got)
		}
	}
	if errs := group[3].Rewards.Errors; len(errs) != 1 || errs[0] != "rollout: rank: cannot rank" {
		t.Errorf("errors = %q", errs)
	}
	if failed.Rewards != nil {
		t.Errorf("a failed trajectory was scored")
	}
	calc.Advantages(group)
	if a := group[0].Rewards.Advantage; a == nil {
		t.Error("no advantage")
	}

	// Alone, a GroupFunc scores with Score.
	tr := oneTurn("four")
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	if tr.Rewards.Rollout["rank"] != 8 || rk.alone.Load() != 1 {
		t.Errorf("alone: rank %v", tr.Rewards.Rollout["rank"])
	}
}

// badGroup returns the wrong number of scores, or panics.
type badGroup struct{ panics bool }

func (b badGroup) Score(context.Context, Sample) (Score, error) { return Score{}, nil }
func (b badGroup) ScoreGroup(_ context.Context, s []Sample) ([]Score, []error) {
	if b.panics {
		panic("group exploded")
	}
	return make([]Score, 1), make([]error, 1)
}

func TestCalculatorScoreGroupBrokenFunc(t *testing.T) {
	for _, tc := range []struct {
		f    badGroup
		want string
	}{{badGroup{}, "scored 1 samples (1 errors) of a group of 2"}, {badGroup{panics: true}, "panicked: group exploded"}} {
		reg := NewRegistry()
		reg.Register("bad", Static(tc.f))
		calc, err := NewCalculator(&Config{Rollout: []Component{{Name: "bad"}}}, reg)
		if err != nil {
			t.Fatal(err)
		}
		group := []*retrain.Trajectory{oneTurn("a"), oneTurn("b")}
		if err := calc.ScoreGroup(context.Background(), group); err != nil {
			t.Fatal(err)
		}
		for _, tr := range group {
			if len(tr.Rewards.Errors) != 1 || !strings.Contains(tr.Rewards.Errors[0], tc.want) {
				t.Errorf("errors = %.200q, want %q", tr.Rewards.Errors, tc.want)
			}
		}
		calc.cfg.OnError = OnErrorFail
		if err := calc.ScoreGroup(context.Background(), group); !errors.Is(err, ErrRewardFailed) {
			t.Errorf("on_error fail: err = %v", err)
		}
	}
}

func TestCalculatorParts(t *testing.T) {
	reg := NewRegistry()
	reg.Register("rubric", Static(ScoreFunc(func(context.Context, Sample) (Score, error) {
		return Score{Value: 0.6, Parts: []Part{
			{Name: "accuracy", Weight: 0.75, Value: 0.8},
			{Name: "style", Weight: 0.25, Error: "the judge said nothing"},
		}}, nil
	})))
	calc, err := NewCalculator(&Config{
		EnvWeight:    Float(0),
		ErrorScore:   -1,
		Step:         []Component{{Name: "q", Reward: "rubric"}},
		Rollout:      []Component{{Name: "quality", Reward: "rubric", Weight: Float(2)}},
		Distribution: DistAverage,
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	tr := threeTurns()
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	r := tr.Rewards
	wantRollout := map[string]float64{"quality.accuracy": 2 * 0.75 * 0.8, "quality.style": 2 * 0.25 * -1}
	if diff := cmp.Diff(wantRollout, r.Rollout, approx); diff != "" {
		t.Errorf("rollout (-want +got):\n%s", diff)
	}
	wantTurn := map[string]float64{"q.accuracy": 0.6, "q.style": -0.25, "quality.accuracy": 1.2 / 3, "quality.style": -0.5 / 3}
	if diff := cmp.Diff(wantTurn, r.Turns[0].Components, approx); diff != "" {
		t.Errorf("turn 0 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(3*(0.6-0.25)+1.2-0.5, r.Total, approx); diff != "" {
		t.Errorf("total: %s", diff)
	}
	want := []string{"turn 0: q.style: the judge said nothing", "turn 1: q.style: the judge said nothing", "turn 2: q.style: the judge said nothing", "rollout: quality.style: the judge said nothing"}
	if diff := cmp.Diff(want, r.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestOperatorParams(t *testing.T) {
	reg := NewRegistry()
	type params struct {
		URL      string `json:"url"`
		Template string `json:"template" access:"client"`
	}
	err := RegisterParams(reg, "remote", func() params { return params{} }, func(p params) (Func, error) {
		return ScoreFunc(func(context.Context, Sample) (Score, error) { return Score{}, nil }), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.New("remote", map[string]any{"url": "http://x", "template": "t"}); err != nil {
		t.Fatalf("RegisterParams's builder: %v", err)
	}
	cfg := &Config{
		Step: []Component{{Name: "ok", Reward: "remote", Params: map[string]any{"template": "t"}}},
		Rollout: []Component{
			{Name: "direct", Reward: "remote", Params: map[string]any{"url": "http://evil", "template": "t"}},
			{Name: "nested", Reward: "composite", Params: map[string]any{"components": []any{
				map[string]any{"name": "math_equal"},
				map[string]any{"name": "remote", "params": map[string]any{"url": "http://evil"}},
			}}},
			{Name: "plain", Reward: "regex", Params: map[string]any{"pattern": "x"}},
		},
	}
	got, err := reg.OperatorParams(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`rollout component "direct": params.url`, `rollout component "nested": params.components[1].params.url`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got, err := reg.OperatorParams(&Config{Step: cfg.Step}); err != nil || got != nil {
		t.Errorf("client params only: %v, %v", got, err)
	}
}
