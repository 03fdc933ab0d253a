package toolenv_test

import (
	"context"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/toolenv"
	"github.com/retrain-rl/retrain/reward"
)

// The calculator environment's default rewards are registered with it and
// score what its episodes end with: a right answer in <answer> tags, a wrong
// one, a reference in GSM8K's layout, and the right number left outside an
// answer (in a tool call, or in text without tags), which earns nothing.
func TestCalculatorRewards(t *testing.T) {
	registered, err := env.Rewards(toolenv.CalculatorName)
	if err != nil || registered == nil {
		t.Fatalf("env.Rewards(calculator) = %v, %v; want the defaults", registered, err)
	}
	calc, err := reward.NewCalculator(registered, nil)
	if err != nil {
		t.Fatalf("the default rewards do not build: %v", err)
	}
	d := mustDialect(t, "smolagent")
	episode := func(answer string, raws ...string) *retrain.Trajectory {
		tr := &retrain.Trajectory{Task: retrain.Task{Answer: answer}, Dialect: "smolagent"}
		for _, raw := range raws {
			tr.Turns = append(tr.Turns, retrain.Turn{Action: d.Parse(raw, nil)})
		}
		return tr
	}
	const call = `<tool>{"name": "calculator", "args": {"expression": "33 * 35 + 16"}}</tool>`
	for _, tc := range []struct {
		name           string
		tr             *retrain.Trajectory
		correct, total float64
	}{
		{"right with the tool", episode("1171", call, "<answer>1171</answer>"), 1, 1.1},
		{"right at once", episode("1171", "<answer>1171</answer>"), 1, 1.1},
		{"gsm8k reference", episode("She has 3 + 4 = 7 left.\n#### 7", "<answer>7</answer>"), 1, 1.1},
		{"wrong", episode("1171", call, "<answer>2500</answer>"), 0, 0.1},
		{"the number in a tool call", episode("1171", `<tool>{"name": "calculator", "args": {"expression": "1171"}}</tool>`), 0, 0.1},
		{"the number without tags", episode("1171", "the result is 1171"), 0, 0},
	} {
		if err := calc.Score(context.Background(), tc.tr); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := tc.tr.Rewards
		if r.Rollout["correct"] != tc.correct || !near(r.Total, tc.total) {
			t.Errorf("%s: correct %v, total %v; want %v, %v (rewards %+v)", tc.name, r.Rollout["correct"], r.Total, tc.correct, tc.total, r)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
