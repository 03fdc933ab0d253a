package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"

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

// The README's first command: without --rewards the calculator's default
// rewards score the episodes, the summary gives the mean reward and the
// success rate (the share of episodes whose correct component is 1), and
// the episode shown is the first, in task order, that called the
// calculator. A --rewards file replaces the defaults.
func TestRolloutDefaultRewardsAndEpisode(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stdout, stderr := rolloutCLI(t, "rollout", "--tasks", "8", "--seed", "4", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	trs := readTrajectories(t, out)
	correct, firstTool := 0, ""
	order := map[string]int{}
	for i := range 8 {
		order[fmt.Sprintf("arith-%d#0", i+1)] = i
	}
	slices.SortFunc(trs, func(a, b retrain.Trajectory) int { return order[a.ID] - order[b.ID] })
	for _, tr := range trs {
		if tr.Rewards == nil || len(tr.Rewards.Rollout) != 2 {
			t.Fatalf("%s: rewards %+v, want correct and format", tr.ID, tr.Rewards)
		}
		if tr.Rewards.Rollout["correct"] == 1 {
			correct++
		}
		if firstTool == "" && tr.Turns[0].Action.Kind == retrain.ActionToolCall {
			firstTool = tr.ID
		}
	}
	if firstTool == "" {
		t.Fatalf("no episode called the calculator; pick another seed")
	}
	for _, want := range []string{
		`no --rewards: scoring with the calculator environment's default rewards (correct: math_equal, format: format ×0.1; "retrain envs calculator" shows them)`,
		fmt.Sprintf("success rate: %.1f%% (%d of 8 episodes scored correct = 1)", 100*float64(correct)/8, correct),
		"mean reward: ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "the first episode that called a tool (") || !strings.Contains(stdout, "── episode "+firstTool+" ·") ||
		!strings.Contains(stdout, "[assistant] <tool>") || !strings.Contains(stdout, "reward: ") {
		t.Errorf("stdout does not show episode %s, the first that called the calculator, with its reward:\n%s", firstTool, stdout)
	}

	rewards := filepath.Join(t.TempDir(), "rewards.yaml")
	if err := os.WriteFile(rewards, []byte("rollout:\n  - name: right\n    reward: numeric\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = rolloutCLI(t, "rollout", "--tasks", "2", "--seed", "4", "--rewards", rewards, "--quiet", "--overwrite", "--out", out)
	if code != 0 || strings.Contains(stderr, "default rewards") || !strings.Contains(stderr, "success rate: ") {
		t.Fatalf("--rewards: exit %d; stderr:\n%s", code, stderr)
	}
	for _, tr := range readTrajectories(t, out) {
		if _, ok := tr.Rewards.Rollout["format"]; ok || len(tr.Rewards.Rollout) != 1 {
			t.Errorf("%s: rollout rewards %v, want only right", tr.ID, tr.Rewards.Rollout)
		}
	}
}
