package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/reward"
)

// readmeRewards returns the YAML of the README's rewards.yaml example.
func readmeRewards(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "`rewards.yaml`, the one to copy for training:\n\n```yaml\n")
	block, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no rewards.yaml example block")
	}
	return block
}

// groupAdvantages scores smolagent episodes (each a list of raw model
// outputs, the last one the answer) of the task "42" with the reward
// configuration yaml and returns their group advantages.
func groupAdvantages(t *testing.T, yaml string, episodes [][]string) []float64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rewards.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := reward.LoadConfig(path)
	if err != nil {
		t.Fatalf("the README's rewards.yaml: %v", err)
	}
	calc, err := reward.NewCalculator(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dialect.Get("smolagent")
	if err != nil {
		t.Fatal(err)
	}
	var group []*retrain.Trajectory
	for i, outs := range episodes {
		tr := &retrain.Trajectory{ID: "t#" + string(rune('0'+i)), Sample: i, Task: retrain.Task{ID: "t", Prompt: "What is 6 * 7?", Answer: "42"},
			Dialect: "smolagent", StopReason: retrain.StopTerminated}
		for _, raw := range outs {
			tu := retrain.Turn{Action: d.Parse(raw, nil)}
			if tu.Action.ParseError != "" {
				tu.Reward = -0.1 // the calculator environment's penalty for an unparsable step
			}
			tr.Turns = append(tr.Turns, tu)
		}
		if err := calc.Score(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
		group = append(group, tr)
	}
	calc.Advantages(group)
	var adv []float64
	for _, tr := range group {
		if tr.Rewards.Advantage == nil {
			t.Fatalf("%s has no advantage", tr.ID)
		}
		adv = append(adv, *tr.Rewards.Advantage)
	}
	return adv
}

// The README's reward example is one a trainer can copy: a group whose
// answers are all wrong gets no advantage whatever its format, where the
// example it replaced (a format step reward summed over turns, and the
// environment's step penalties) gave such a group advantages of ±1; a right
// answer still stands out.
func TestReadmeRewardsExample(t *testing.T) {
	call := `<tool>{"name": "calculator", "args": {"expression": "6*7"}}</tool>`
	wrong := [][]string{
		{call, "<answer>41</answer>"},
		{"<tool>{broken", "<answer>40</answer>"},
		{"I think it is 7"},
		{call, "<answer>43</answer>"},
	}
	for i, a := range groupAdvantages(t, readmeRewards(t), wrong) {
		if a != 0 {
			t.Errorf("all wrong: episode %d has advantage %v, want 0", i, a)
		}
	}
	// Answers all wrong, two of them after a malformed tool call: only format differs.
	formatOnly := [][]string{wrong[0], wrong[1], wrong[3], {"<tool>{broken", "<answer>44</answer>"}}
	for i, a := range groupAdvantages(t, readmeRewards(t), formatOnly) {
		if a != 0 {
			t.Errorf("all wrong, format differs: episode %d has advantage %v, want 0", i, a)
		}
	}
	old := "rollout:\n  - name: correct\n    reward: math_equal\n    verifiers: [has_answer]\n    penalty: -0.5\n" +
		"step:\n  - name: format\n    weight: 0.1\ndistribution: last_step\nadvantage: grpo\n"
	for i, a := range groupAdvantages(t, old, formatOnly) {
		if math.Abs(math.Abs(a)-1) > 1e-3 {
			t.Errorf("the old example gave episode %d of the all-wrong group advantage %v, not ±1: the test no longer shows why it was replaced", i, a)
		}
	}
	right := append([][]string{{call, "<answer>42</answer>"}}, wrong[1:]...)
	adv := groupAdvantages(t, readmeRewards(t), right)
	if adv[0] <= 1 || adv[1] >= 0 || adv[1] != adv[2] || adv[2] != adv[3] {
		t.Errorf("one right of four: advantages %v, want the right one high and the wrong ones equal and negative", adv)
	}
}
