package report_test

import (
	"fmt"
	"os"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/report"
)

func Example() {
	episode := func(task string, sample int, correct float64) *retrain.Trajectory {
		return &retrain.Trajectory{
			Task: retrain.Task{ID: task}, Sample: sample, StopReason: "terminated",
			Turns: []retrain.Turn{{}},
			Rewards: &retrain.Rewards{
				Rollout: map[string]float64{"correct": correct},
				Turns:   []retrain.TurnReward{{Components: map[string]float64{"correct": correct}, Reward: correct}},
				Total:   correct,
			},
		}
	}
	b := report.NewBuilder(&report.Options{Pass: "correct"})
	for i, c := range []float64{1, 0, 1, 0} { // task "a": 2 of 4 pass
		b.Add(episode("a", i, c))
	}
	r := b.Report()
	for _, p := range r.Pass.AtK {
		fmt.Printf("pass@%d = %.4f\n", p.K, p.Value)
	}
	r.WriteTable(os.Stdout)
	// Output:
	// pass@1 = 0.5000
	// pass@2 = 0.8333
	// pass@3 = 1.0000
	// pass@4 = 1.0000
	// episodes      4 (1 task)
	// success rate  50.0% (2 of 4 pass: correct >= 1)
	// pass@k        pass@1 0.5000  pass@2 0.8333  pass@3 1.0000  pass@4 1.0000
	// mean turns    1
	// tool calls    0, 0 failed (0.0%)
	// parse errors  0 of 4 turns (0.0%)
	// stop reasons  terminated 4
	// tokens        0 prompt, 0 completion
	//
	// reward   level        mean       std       min       max       n
	// total               0.5000    0.5000    0.0000    1.0000       4
	// correct  rollout    0.5000    0.5000    0.0000    1.0000       4
}
