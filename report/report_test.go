package report

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/retrain-rl/retrain"
)

// ep builds a scored trajectory: correct is the rollout-level component
// (added to the last turn), formats the step-level format score of each
// turn, env the environment's reward of each turn.
func ep(task string, sample int, correct float64, formats, env []float64) *retrain.Trajectory {
	t := &retrain.Trajectory{
		Task: retrain.Task{ID: task}, Sample: sample, StopReason: "terminated",
		PromptTokens: 10, CompletionTokens: 3,
		Rewards: &retrain.Rewards{Rollout: map[string]float64{"correct": correct}},
	}
	for i := range formats {
		t.Turns = append(t.Turns, retrain.Turn{Reward: env[i]})
		comps := map[string]float64{"env": env[i], "format": formats[i], "correct": 0}
		if i == len(formats)-1 {
			comps["correct"] = correct
		}
		sum := 0.0
		for _, v := range comps {
			sum += v
		}
		t.Rewards.Turns = append(t.Rewards.Turns, retrain.TurnReward{Components: comps, Reward: sum})
		t.Rewards.Total += sum
	}
	return t
}

func failed(task string, sample int, cause retrain.ErrorCause) *retrain.Trajectory {
	return &retrain.Trajectory{Task: retrain.Task{ID: task}, Sample: sample, StopReason: "error",
		Error: "boom", ErrorCause: cause, PromptTokens: 5}
}

func TestBuilder(t *testing.T) {
	one, two := []float64{1}, []float64{1, 0.5}
	zero1, zero2 := []float64{0}, []float64{0, -0.1}

	a0 := ep("a", 0, 1, two, zero2)
	a0.Turns[0].Action.ToolCalls = []retrain.ToolCall{{Name: "calculator"}}
	a0.Turns[0].Observation.ToolResults = []retrain.ToolResult{{Name: "calculator", Success: true}}
	a0.Turns[1].Action.ParseError = "unclosed <answer>"
	a3 := ep("a", 3, 0, one, zero1)
	a3.Rewards.Errors = []string{"rollout: correct: oops"}
	b1 := ep("b", 1, 0, two, zero2)
	// two calls: one failed result, one without any result.
	b1.Turns[0].Action.ToolCalls = []retrain.ToolCall{{Name: "calculator"}, {Name: "nope"}}
	b1.Turns[0].Observation.ToolResults = []retrain.ToolResult{{Name: "calculator", Error: "division by zero"}}
	b3 := ep("b", 3, 0, one, zero1)
	b3.StopReason = "max_turns"

	b := NewBuilder(&Options{Pass: "correct"})
	for _, tr := range []*retrain.Trajectory{
		failed("a", 1, "model"), // replaced by the later success
		a0, ep("a", 1, 1, one, zero1), ep("a", 2, 0, one, zero1), a3,
		ep("b", 0, 1, one, zero1),
		failed("b", 0, "model"), // ignored: b#0 already succeeded
		b1, failed("b", 2, "timeout"), b3,
	} {
		b.Add(tr)
	}
	r := b.Report()

	// correct over 7 scored episodes: 1,1,0,0 (a) and 1,0,0 (b): p = 3/7.
	p := 3.0 / 7
	want := &Report{
		Episodes: 8, Tasks: 2, Failed: 1, Scored: 7,
		Pass: &Pass{Reward: "correct", Threshold: 1, Passed: 3, SuccessRate: 3.0 / 8, AtK: []PassAtKValue{
			{1, (0.5 + 0.25) / 2},  // a: n=4 c=2; b: n=4 c=1 (the failed one counts, not passing)
			{2, (5.0/6 + 0.5) / 2}, // 1-1/6, 1-3/6
			{3, (1 + 0.75) / 2},    // 1, 1-1/4
			{4, 1},
		}},
		// totals: a0 1+1.5-0.1=2.4, a1 2, a2 1, a3 1, b0 2, b1 1.4, b3 1.
		Total: &Stats{N: 7, Mean: 10.8 / 7, Min: 1, Max: 2.4, Std: std(2.4, 2, 1, 1, 2, 1.4, 1)},
		Rewards: []Component{
			{Name: "correct", Level: LevelRollout, Stats: Stats{N: 7, Mean: p, Std: math.Sqrt(p * (1 - p)), Min: 0, Max: 1}},
			{Name: "env", Level: LevelStep, Stats: Stats{N: 7, Mean: -0.2 / 7, Std: std(-0.1, 0, 0, 0, 0, -0.1, 0), Min: -0.1, Max: 0}},
			{Name: "format", Level: LevelStep, Stats: Stats{N: 7, Mean: 8.0 / 7, Std: std(1.5, 1, 1, 1, 1, 1.5, 1), Min: 1, Max: 1.5}},
		},
		RewardErrors: 1,
		Turns:        9, MeanTurns: 9.0 / 7,
		ToolCalls: 3, ToolErrors: 2, ToolErrorRate: 2.0 / 3,
		ParseErrors: 1, ParseErrorRate: 1.0 / 9,
		Failures:         map[retrain.ErrorCause]int{"timeout": 1},
		StopReasons:      map[retrain.StopReason]int{"terminated": 6, "max_turns": 1, "error": 1},
		PromptTokens:     7*10 + 5,
		CompletionTokens: 7 * 3,
	}
	if diff := cmp.Diff(want, r, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func std(vs ...float64) float64 {
	mean := 0.0
	for _, v := range vs {
		mean += v
	}
	mean /= float64(len(vs))
	ss := 0.0
	for _, v := range vs {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(vs)))
}

func TestBuilderPassOptions(t *testing.T) {
	tests := []struct {
		name       string
		opts       *Options
		wantPassed int
		wantAtK    int // how many k values
	}{
		{"no pass criterion", nil, -1, 0},
		{"total >= 1 (default threshold)", &Options{Pass: TotalName}, 2, 2},
		{"total >= 1.5", &Options{Pass: TotalName, Threshold: ptr(1.5)}, 1, 2},
		{"correct >= 0.5", &Options{Pass: "correct", Threshold: ptr(0.5)}, 1, 2},
		{"a component no episode has", &Options{Pass: "missing"}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(tt.opts)
			b.Add(ep("x", 0, 1, []float64{1}, []float64{0})) // total 2
			b.Add(ep("x", 1, 0, []float64{1}, []float64{0})) // total 1
			b.Add(ep("y", 0, 0, []float64{0}, []float64{0})) // total 0
			b.Add(ep("y", 1, 0, []float64{0}, []float64{0}))
			b.Add(ep("y", 2, 0, []float64{0}, []float64{0}))
			r := b.Report()
			if tt.wantPassed < 0 {
				if r.Pass != nil {
					t.Errorf("pass statistics without a pass criterion: %+v", r.Pass)
				}
				return
			}
			if r.Pass == nil || r.Pass.Passed != tt.wantPassed || len(r.Pass.AtK) != tt.wantAtK {
				t.Fatalf("pass %+v, want %d passed and pass@1..%d (the smallest group)", r.Pass, tt.wantPassed, tt.wantAtK)
			}
		})
	}
}

func TestBuilderEmpty(t *testing.T) {
	r := NewBuilder(&Options{Pass: "correct"}).Report()
	if r.Episodes != 0 || r.Total != nil || len(r.Pass.AtK) != 0 || r.Pass.SuccessRate != 0 {
		t.Errorf("empty report: %+v", r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || back.Rewards == nil {
		t.Errorf("JSON round trip: %v, rewards %v (want [] not null): %s", err, back.Rewards, b)
	}
}

// Trajectories without rewards (a rollout without a calculator) still give
// behaviour statistics.
func TestBuilderUnscored(t *testing.T) {
	b := NewBuilder(nil)
	tr := &retrain.Trajectory{Task: retrain.Task{ID: "t"}, StopReason: "terminated", Turns: make([]retrain.Turn, 3)}
	tr.Turns[1].Action.ParseError = "bad"
	b.Add(tr)
	r := b.Report()
	if r.Scored != 0 || r.Total != nil || r.MeanTurns != 3 || r.ParseErrors != 1 || len(r.Rewards) != 0 {
		t.Errorf("report of an unscored trajectory: %+v", r)
	}
}

func ptr(f float64) *float64 { return &f }
