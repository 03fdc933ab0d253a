package envtest

import (
	"encoding/json"
	"testing"

	"github.com/retrain-rl/retrain"
)

// maxTranscriptSteps bounds the episode of a Transcript.
const maxTranscriptSteps = 1000

// Transcript resets e with seed and plays the actions that actions chooses
// to the end of the episode. It returns, in order, the content of each
// observation and its info as JSON: what a seeded episode must replay
// exactly. An error, or an episode longer than 1000 steps, fails t.
func Transcript(t *testing.T, e retrain.Environment, seed int64, actions func(retrain.Observation) retrain.Action) []string {
	t.Helper()
	obs, info, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(seed)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(info)
	out := []string{obs.Content, string(b)}
	for range maxTranscriptSteps {
		step, err := e.Step(t.Context(), actions(obs))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(step.Info)
		out = append(out, step.Observation.Content, string(b))
		if step.Done() {
			return out
		}
		obs = step.Observation
	}
	t.Fatalf("the episode did not end within %d steps", maxTranscriptSteps)
	return nil
}
