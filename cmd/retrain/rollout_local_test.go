package main

import (
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// Without --model, rollout runs the built-in local model, and says so.
func TestRolloutLocalDefault(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, args := range [][]string{nil, {"--model", "local"}} {
		out := filepath.Join(t.TempDir(), "r.jsonl")
		code, _, stderr := rolloutCLI(t, append([]string{"rollout", "--tasks", "4", "--seed", "999", "--temperature", "0", "--quiet", "--out", out}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, code, stderr)
		}
		if !strings.Contains(stderr, "using the built-in local model (a ") || !strings.Contains(stderr, "point --model at an OpenAI-compatible server for real work") {
			t.Errorf("%v: stderr does not announce the local model:\n%s", args, stderr)
		}
		trajs := readTrajectories(t, out)
		if len(trajs) != 4 {
			t.Fatalf("%d trajectories, want 4", len(trajs))
		}
		for _, tr := range trajs {
			if tr.Failed() || tr.Model != "retrain-local" || len(tr.Turns) == 0 {
				t.Errorf("trajectory %s: model %q, %d turns, error %q", tr.ID, tr.Model, len(tr.Turns), tr.Error)
			}
			for _, turn := range tr.Turns {
				if tok := turn.Action.Tokens; tok == nil || len(tok.IDs) != len(tok.Logprobs) || len(turn.PromptTokenIDs) == 0 {
					t.Errorf("trajectory %s: a turn without token ids and log-probs", tr.ID)
				}
				if turn.PrefixMatch != nil && !*turn.PrefixMatch {
					t.Errorf("trajectory %s: template drift", tr.ID)
				}
			}
		}
	}
}
