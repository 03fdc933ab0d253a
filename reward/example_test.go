package reward_test

import (
	"context"
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/reward"
)

func Example() {
	f, err := reward.New("math_equal", nil)
	if err != nil {
		panic(err)
	}
	s, err := f.Score(context.Background(), reward.Sample{
		Task:       retrain.Task{Answer: "Natalia sold 48/2 = 24 clips in May.\n#### 1,234"},
		Completion: `Adding up, the total is \boxed{1234}.`,
		Step:       -1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Value, s.Extracted)
	// Output: 1 1234
}

func ExampleCalculator() {
	calc, err := reward.NewCalculator(&reward.Config{
		Rollout:      []reward.Component{{Name: "correct", Reward: "math_equal", Verifiers: []string{"has_answer"}, Penalty: -1}},
		Step:         []reward.Component{{Name: "tools", Reward: "tool_success", Weight: reward.Float(0.5)}},
		Distribution: reward.DistLastStep,
		Advantage:    reward.AdvRLOO,
	}, nil)
	if err != nil {
		panic(err)
	}
	episode := func(answer string) *retrain.Trajectory {
		return &retrain.Trajectory{
			Task:  retrain.Task{Prompt: "6*7?", Answer: "42"},
			Turns: []retrain.Turn{{Action: retrain.Action{Kind: retrain.ActionText, Text: answer}}},
		}
	}
	group := []*retrain.Trajectory{episode("The answer is 42."), episode("The answer is 41."), episode("42")}
	for _, t := range group {
		if err := calc.Score(context.Background(), t); err != nil {
			panic(err)
		}
	}
	calc.Advantages(group)
	for _, t := range group {
		fmt.Printf("total %.1f advantage %.2f\n", t.Rewards.Total, *t.Rewards.Advantage)
	}
	// Output:
	// total 1.5 advantage 1.50
	// total 0.5 advantage 0.00
	// total -0.5 advantage -1.50
}

func ExampleRegistry_Register() {
	reg := reward.NewRegistry() // private: Default stays as it is
	err := reg.Register("short", func(params map[string]any) (reward.Func, error) {
		var p struct {
			Max int `json:"max"`
		}
		if err := reward.DecodeParams(params, &p); err != nil {
			return nil, err
		}
		return reward.ScoreFunc(func(ctx context.Context, s reward.Sample) (reward.Score, error) {
			if len(s.Completion) <= p.Max {
				return reward.Score{Value: 1}, nil
			}
			return reward.Score{}, nil
		}), nil
	})
	if err != nil {
		panic(err)
	}
	f, _ := reg.New("short", map[string]any{"max": 10})
	s, _ := f.Score(context.Background(), reward.Sample{Completion: "42"})
	fmt.Println(s.Value)
	_, err = reg.New("short", map[string]any{"maximum": 10})
	fmt.Println(err)
	// Output:
	// 1
	// reward "short": reward: bad params: unknown param "maximum"; known params: max
}
