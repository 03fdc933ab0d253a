package rollout_test

import (
	"context"
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env/single"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/rollout"
)

// echoModel answers every request with "4".
type echoModel struct{}

func (echoModel) Generate(ctx context.Context, req model.Request) (model.Completion, error) {
	return model.Completion{Text: "4", FinishReason: "stop"}, nil
}

func ExampleRun() {
	ctx := context.Background()
	e := single.New(&single.Options{Reward: func(task retrain.Task, a retrain.Action) float64 {
		if a.Text == task.Answer {
			return 1
		}
		return 0
	}})
	if err := e.Setup(ctx); err != nil {
		panic(err)
	}
	defer e.Close()
	t, err := rollout.Run(ctx, e, echoModel{}, &rollout.Options{
		Task: retrain.Task{ID: "q1", Prompt: "What is 2+2?", Answer: "4"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(t.ID, t.StopReason, len(t.Turns), t.StepReward)
	// Output: q1#0 terminated 1 1
}

func ExampleArithmeticTasks() {
	for _, t := range rollout.ArithmeticTasks(2, 1) {
		fmt.Println(t.ID, t.Prompt, t.Answer)
	}
	// Output:
	// arith-1 What is 33 * 35 + 16? 1171
	// arith-2 What is 73 * 78 - 12? 5682
}
