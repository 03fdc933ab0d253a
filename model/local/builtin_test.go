package local_test

import (
	"context"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/rollout"

	_ "github.com/retrain-rl/retrain/env/toolenv" // the calculator environment
)

func TestBuiltinWeights(t *testing.T) {
	m, err := local.Default()
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != local.DefaultName || m.Params() < 100_000 || m.Params() > 5_000_000 {
		t.Errorf("built-in model %q with %d parameters", m.Name(), m.Params())
	}
	if err := m.Config().Validate(); err != nil {
		t.Error(err)
	}
	if !strings.Contains(string(m.Notes()), "go run ./model/local/train/cmd/trainlocal") {
		t.Errorf("the weights do not record their training command: %s", m.Notes())
	}
	if again, _ := local.Default(); again != m {
		t.Error("Default loaded the weights twice")
	}
}

// The built-in model plays the calculator environment: its turns parse in
// the smolagent dialect, greedy decoding is right, and sampling at
// temperature 1 is sometimes wrong (a group has reward variance). The seeds
// are fixed, so the outcome is too.
func TestBuiltinCalculatorEpisodes(t *testing.T) {
	m, err := local.Default()
	if err != nil {
		t.Fatal(err)
	}
	_, e := envtest.Registered(t, "calculator", nil)
	ctx := context.Background()
	if err := e.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	n := 20
	if raceEnabled {
		n = 6
	}
	tasks := rollout.ArithmeticTasks(n, 999)
	for _, temp := range []float64{0, 1} {
		var correct, turns, parsed int
		for i, task := range tasks {
			tr, err := rollout.Run(ctx, e, m, &rollout.Options{
				Task: task, Seed: retrain.Seed(int64(i)),
				Sampling: model.Sampling{Temperature: &temp, Seed: ptr(int64(i))},
				MaxTurns: 4,
			})
			if err != nil {
				t.Fatalf("task %s: %v", task.ID, err)
			}
			for _, turn := range tr.Turns {
				turns++
				if turn.Action.ParseError == "" {
					parsed++
				}
			}
			if last := tr.Turns[len(tr.Turns)-1].Action; last.Kind == retrain.ActionText && last.Text == task.Answer {
				correct++
			}
		}
		t.Logf("temperature %g: %d/%d right, %d/%d turns parsed", temp, correct, len(tasks), parsed, turns)
		if parsed < turns*9/10 {
			t.Errorf("temperature %g: %d of %d turns parsed; want at least 90%%", temp, parsed, turns)
		}
		switch {
		case temp == 0 && correct < len(tasks)*8/10:
			t.Errorf("greedy: %d of %d right; want at least 80%%", correct, len(tasks))
		case temp == 1 && (correct == 0 || correct == len(tasks)):
			t.Errorf("temperature 1: %d of %d right; want some right and some wrong", correct, len(tasks))
		}
	}
}
