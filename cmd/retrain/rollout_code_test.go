package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/sandbox"
)

// humanEvalResponder is canonicalResponder over the problems of
// testdata/humaneval.
func humanEvalResponder(t *testing.T) func(*openaitest.ChatRequest) openaitest.Reply {
	t.Helper()
	problems, err := readHumanEval(humanEvalPath)
	if err != nil {
		t.Fatal(err)
	}
	return canonicalResponder(problems)
}

// TestRolloutCodeHumanEval runs `retrain rollout --env code --data
// HumanEval.jsonl --model fake` end to end, the fake answering with the
// canonical solutions: every episode passes its tests. Then the same with
// the python tool (multi-turn), and with the default fake (arithmetic
// guesses: every episode runs, and fails its tests).
func TestRolloutCodeHumanEval(t *testing.T) {
	saved := fakeResponder
	fakeResponder = humanEvalResponder(t)
	t.Cleanup(func() { fakeResponder = saved })
	for _, tt := range []struct {
		name, config string
		limit        int
		turns        int
	}{
		{"single turn", `{}`, 20, 1},
		{"python tool", `{"max_turns": 3}`, 4, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.jsonl")
			code, _, stderr := rolloutCLI(t, "rollout", "--env", "code", "--env-config", tt.config, "--data", humanEvalPath,
				"--limit", strconv.Itoa(tt.limit), "--model", "fake", "--concurrency", "4", "--quiet", "--out", out)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			trs := readTrajectories(t, out)
			if len(trs) != tt.limit {
				t.Fatalf("%d trajectories, want %d", len(trs), tt.limit)
			}
			for _, tr := range trs {
				if tr.Failed() || tr.StopReason != "terminated" || tr.StepReward != 1 || len(tr.Turns) != tt.turns {
					t.Errorf("%s (%v): stop %q, step reward %v, %d turns, error %q", tr.ID, tr.Task.Metadata["task_id"], tr.StopReason, tr.StepReward, len(tr.Turns), tr.Error)
				}
			}
		})
	}
	t.Run("default fake", func(t *testing.T) {
		fakeResponder = saved
		out := filepath.Join(t.TempDir(), "r.jsonl")
		code, _, stderr := rolloutCLI(t, "rollout", "--env", "code", "--data", humanEvalPath, "--limit", "3", "--model", "fake", "--quiet", "--out", out)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		for _, tr := range readTrajectories(t, out) {
			if tr.Failed() || tr.StepReward != 0 {
				t.Errorf("%s: step reward %v, error %q", tr.ID, tr.StepReward, tr.Error)
			}
		}
	})
	checkNoSandboxLeft(t)
}

// checkNoSandboxLeft fails t when a live sandbox of this process (named
// sandbox.ProcessName(); it takes every process inside down with it)
// remains, polling for a few seconds while killed ones are reaped. Zombies
// are dead and left out.
func checkNoSandboxLeft(t *testing.T) {
	t.Helper()
	name := sandbox.ProcessName() + "\x00"
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
			if err != nil || strings.Contains(string(status), "\nState:\tZ") {
				continue
			}
			if cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); strings.HasPrefix(string(cmdline), name) {
				left = append(left, e.Name())
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("sandbox processes left behind: %v", left)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
