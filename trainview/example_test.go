package trainview_test

import (
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/trainview"
)

// Two turns: the second prompt holds the first prompt and completion, then
// the environment's answer (tokens 20, 21). The whole episode is one
// sequence; only the model's tokens are in the loss, with their log-probs
// and the episode's group advantage.
func ExampleSequences() {
	adv := 0.5
	t := &retrain.Trajectory{ID: "task-1#0", Task: retrain.Task{ID: "task-1"}, StopReason: retrain.StopTerminated,
		Turns: []retrain.Turn{
			{PromptTokenIDs: []int32{1, 2, 3}, Action: retrain.Action{Raw: "ab", Tokens: &retrain.Tokens{IDs: []int32{10, 11}, Logprobs: []float64{-0.5, -0.25}}}},
			{PromptTokenIDs: []int32{1, 2, 3, 10, 11, 20, 21}, Action: retrain.Action{Raw: "c", Tokens: &retrain.Tokens{IDs: []int32{12}, Logprobs: []float64{-1}}}},
		},
		Rewards: &retrain.Rewards{Total: 1, Advantage: &adv},
	}
	seqs, err := trainview.Sequences(t, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range seqs {
		fmt.Println("input_ids   ", s.InputIDs)
		fmt.Println("loss_mask   ", s.LossMask)
		fmt.Println("old_logprobs", s.OldLogprobs)
		fmt.Println("advantages  ", s.Advantages)
		fmt.Println("turns", s.TurnStarts, s.TurnEnds)
	}

	t.Rewards = nil
	_, err = trainview.Sequences(t, nil)
	fmt.Println(err)
	// Output:
	// input_ids    [1 2 3 10 11 20 21 12]
	// loss_mask    [0 0 0 1 1 0 0 1]
	// old_logprobs [0 0 0 -0.5 -0.25 0 0 -1]
	// advantages   [0 0 0 0.5 0.5 0 0 0.5]
	// turns [3 7] [5 8]
	// trainview: episode task-1#0: no advantage (it has no rewards): score it with a reward config that names an advantage estimator (advantage: grpo) over groups of n > 1 samples
}
