package main

import (
	"path/filepath"
	"regexp"
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

// A default rollout records, on every turn, the sampling settings sent (a
// drawn seed included), the policy version and the log-probs' mode; remote
// endpoints take them from --policy-version and --logprobs-mode.
func TestRolloutRecordsSamplingAndPolicy(t *testing.T) {
	defer goleak.VerifyNone(t)
	version := regexp.MustCompile(`^retrain-local@[0-9a-f]{12}$`)
	for _, c := range []struct {
		args          []string
		policy, lmode string
	}{
		{nil, "", "raw"},
		{[]string{"--model", "fake", "--policy-version", "v7", "--logprobs-mode", "processed"}, "v7", "processed"},
	} {
		out := filepath.Join(t.TempDir(), "r.jsonl")
		code, _, stderr := rolloutCLI(t, append([]string{"rollout", "--tasks", "3", "--quiet", "--out", out}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", c.args, code, stderr)
		}
		for _, tr := range readTrajectories(t, out) {
			if len(tr.Turns) == 0 {
				t.Fatalf("%v: trajectory %s has no turns", c.args, tr.ID)
			}
			for i, turn := range tr.Turns {
				if turn.Sampling == nil || turn.Sampling.Seed == nil {
					t.Errorf("%v: %s turn %d: sampling %+v, want a seed", c.args, tr.ID, i, turn.Sampling)
				}
				if c.policy == "" && !version.MatchString(turn.PolicyVersion) || c.policy != "" && turn.PolicyVersion != c.policy {
					t.Errorf("%v: %s turn %d: policy_version %q", c.args, tr.ID, i, turn.PolicyVersion)
				}
				if turn.LogprobsMode != c.lmode {
					t.Errorf("%v: %s turn %d: logprobs_mode %q, want %q", c.args, tr.ID, i, turn.LogprobsMode, c.lmode)
				}
			}
		}
	}
}
