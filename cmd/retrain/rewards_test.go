package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"go.uber.org/goleak"
)

// scriptFunc decides the fake model's reply from the task's question, the
// sample's index in its group and the turn (assistant messages so far).
type scriptFunc func(question string, sample, turn int) openaitest.Reply

// scriptedServer starts a fake OpenAI server that replies by script; the
// caller closes it. The sample index comes from the request's seed, which
// the runner sets to seed + task*n + sample: the command must run with
// --seed 0 and --n n.
func scriptedServer(t *testing.T, n int, script scriptFunc) *openaitest.Server {
	t.Helper()
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		var question string
		turn := 0
		for _, m := range req.Messages {
			switch {
			case m.Role == "user" && question == "":
				question = string(m.Content)
			case m.Role == "assistant":
				turn++
			}
		}
		if req.Seed == nil {
			return openaitest.Reply{Error: &openaitest.ErrorReply{Status: 400, Message: "the scripted test server needs a seed"}}
		}
		return script(question, int(*req.Seed)%n, turn)
	}})
	return srv
}

func answerReply(a string) openaitest.Reply {
	return openaitest.Reply{Content: "<answer>" + a + "</answer>"}
}

func toolReply(expr string) openaitest.Reply {
	return openaitest.Reply{Content: `<tool>{"name": "calculator", "args": {"expression": "` + expr + `"}}</tool>`}
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const rewardsYAML = `rollout:
  - name: correct
    reward: math_equal
step:
  - name: format
    weight: 0.5
advantage: grpo
`

// twoTasks are the tasks of the rollout reward tests.
const twoTasks = `{"id": "add", "question": "What is 2 + 3?", "answer": "5"}
{"id": "mul", "question": "What is 6 * 7?", "answer": "42"}
`

// twoTaskScript answers the two tasks, three samples each:
//
//	add#0 <answer>5</answer>                     correct 1, format .5        total 1.5
//	add#1 <answer>6</answer>                     correct 0, format .5        total 0.5
//	add#2 "the answer is 5", then <answer>5</answer>: turn 0 unparsable
//	      (format 0, env -0.1), turn 1 correct   correct 1, format 0+.5      total 1.4
//	mul#0 a calculator call, then <answer>42</answer>  correct 1, format .5+.5 total 2
//	mul#1 <answer>42</answer>                    correct 1, format .5        total 1.5
//	mul#2 <answer>41</answer>                    correct 0, format .5        total 0.5
func twoTaskScript(question string, sample, turn int) openaitest.Reply {
	switch {
	case strings.Contains(question, "2 + 3"):
		switch {
		case sample == 0:
			return answerReply("5")
		case sample == 1:
			return answerReply("6")
		case turn == 0:
			return openaitest.Reply{Content: "the answer is 5"}
		}
		return answerReply("5")
	case sample == 0 && turn == 0:
		return toolReply("6 * 7")
	case sample == 2:
		return answerReply("41")
	}
	return answerReply("42")
}

// grpo is the hand computation of GRPO advantages: (R - mean) / (std + 1e-6)
// with the population std.
func grpo(totals ...float64) []float64 {
	mean := 0.0
	for _, r := range totals {
		mean += r
	}
	mean /= float64(len(totals))
	v := 0.0
	for _, r := range totals {
		v += (r - mean) * (r - mean)
	}
	std := math.Sqrt(v / float64(len(totals)))
	out := make([]float64, len(totals))
	for i, r := range totals {
		out[i] = (r - mean) / (std + 1e-6)
	}
	return out
}

// A rollout with --rewards writes rewards and GRPO advantages on every line,
// groups whole, and prints the mean rewards.
func TestRolloutRewards(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := scriptedServer(t, 3, twoTaskScript)
	defer srv.Close()
	dir := t.TempDir()
	data := writeFile(t, dir, "tasks.jsonl", twoTasks)
	rewards := writeFile(t, dir, "rewards.yaml", rewardsYAML)
	out := filepath.Join(dir, "r.jsonl")
	code, _, stderr := rolloutCLI(t, "rollout", "--model", srv.URL, "--data", data, "--n", "3", "--seed", "0",
		"--rewards", rewards, "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	trs := readTrajectories(t, out)
	if len(trs) != 6 {
		t.Fatalf("%d trajectories, want 6", len(trs))
	}

	type turnWant struct{ format, env, correct float64 }
	type want struct {
		correct float64
		turns   []turnWant
		total   float64
	}
	wants := map[string]want{
		"add#0": {1, []turnWant{{0.5, 0, 1}}, 1.5},
		"add#1": {0, []turnWant{{0.5, 0, 0}}, 0.5},
		"add#2": {1, []turnWant{{0, -0.1, 0}, {0.5, 0, 1}}, 1.4},
		"mul#0": {1, []turnWant{{0.5, 0, 0}, {0.5, 0, 1}}, 2},
		"mul#1": {1, []turnWant{{0.5, 0, 1}}, 1.5},
		"mul#2": {0, []turnWant{{0.5, 0, 0}}, 0.5},
	}
	add, mul := grpo(1.5, 0.5, 1.4), grpo(2, 1.5, 0.5)
	advantages := map[string]float64{"add#0": add[0], "add#1": add[1], "add#2": add[2], "mul#0": mul[0], "mul#1": mul[1], "mul#2": mul[2]}
	// The hand computation itself, checked against numbers worked out on paper.
	if diff := cmp.Diff([]float64{0.8154, -1.4084, 0.5930, 1.0690, 0.2673, -1.3363}, append(add, mul...), cmpopts.EquateApprox(0, 1e-4)); diff != "" {
		t.Fatalf("hand-computed advantages (-paper +formula):\n%s", diff)
	}

	sums := map[string]float64{}
	approx := cmpopts.EquateApprox(0, 1e-9)
	for i, tr := range trs {
		w, ok := wants[tr.ID]
		if !ok || tr.Failed() {
			t.Fatalf("unexpected trajectory %s (error %q)", tr.ID, tr.Error)
		}
		r := tr.Rewards
		if r == nil || r.Advantage == nil || len(r.Turns) != len(tr.Turns) {
			t.Fatalf("%s: rewards %+v: want rewards, an advantage and one reward per turn", tr.ID, r)
		}
		if diff := cmp.Diff(map[string]float64{"correct": w.correct}, r.Rollout, approx); diff != "" {
			t.Errorf("%s: rollout components (-want +got):\n%s", tr.ID, diff)
		}
		for j, tw := range w.turns {
			wantComps := map[string]float64{"format": tw.format, "env": tw.env, "correct": tw.correct}
			if diff := cmp.Diff(wantComps, r.Turns[j].Components, approx); diff != "" {
				t.Errorf("%s turn %d: components (-want +got):\n%s", tr.ID, j, diff)
			}
			if got := r.Turns[j].Advantage; got == nil || *got != *r.Advantage {
				t.Errorf("%s turn %d: advantage %v, want the trajectory's %v", tr.ID, j, got, *r.Advantage)
			}
		}
		if math.Abs(r.Total-w.total) > 1e-9 {
			t.Errorf("%s: total %v, want %v", tr.ID, r.Total, w.total)
		}
		if math.Abs(*r.Advantage-advantages[tr.ID]) > 1e-9 {
			t.Errorf("%s: advantage %v, want %v", tr.ID, *r.Advantage, advantages[tr.ID])
		}
		sums[tr.Task.ID] += *r.Advantage
		// Groups are written whole: a task's three lines are adjacent.
		if i%3 != 0 && trs[i-1].Task.ID != tr.Task.ID {
			t.Errorf("line %d (%s) splits a group", i+1, tr.ID)
		}
	}
	for task, sum := range sums {
		if math.Abs(sum) > 1e-6 {
			t.Errorf("task %s: advantages sum to %v, want ~0", task, sum)
		}
	}
	// Means: total 7.4/6; correct 4/6; env -0.1/6; format 3.5/6.
	if want := "mean reward: 1.233 total; correct 0.6667, env -0.01667, format 0.5833 (step-level components summed over each episode's turns)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if want := "success rate: 66.7% (4 of 6 episodes scored correct = 1)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if strings.Contains(stderr, "default rewards") {
		t.Errorf("--rewards given, yet the environment's defaults are announced:\n%s", stderr)
	}
}

// rewards in a --config file: a path, or the configuration inline.
func TestRolloutRewardsInConfig(t *testing.T) {
	srv := scriptedServer(t, 3, twoTaskScript)
	defer srv.Close()
	dir := t.TempDir()
	data := writeFile(t, dir, "tasks.jsonl", twoTasks)
	rewardsPath := writeFile(t, dir, "rewards.json", `{"rollout": [{"name": "correct", "reward": "math_equal"}]}`)
	inline := "rewards:\n  rollout:\n    - name: correct\n      reward: math_equal\n  env_weight: 0\n"
	for name, rewardsKey := range map[string]string{"path": "rewards: " + rewardsPath + "\n", "inline": inline} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.jsonl")
			cfg := writeFile(t, t.TempDir(), "run.yaml", "model: "+srv.URL+"\ndata: "+data+"\nn: 3\nseed: 0\nquiet: true\nout: "+out+"\n"+rewardsKey)
			code, _, stderr := rolloutCLI(t, "rollout", "--config", cfg)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			correct := 0.0
			for _, tr := range readTrajectories(t, out) {
				if tr.Rewards == nil || tr.Rewards.Advantage != nil {
					t.Fatalf("%s: rewards %+v: want rewards without advantages (no advantage configured)", tr.ID, tr.Rewards)
				}
				correct += tr.Rewards.Rollout["correct"]
			}
			if correct != 4 {
				t.Errorf("%v correct answers, want 4", correct)
			}
			if !strings.Contains(stderr, "mean reward: ") || !strings.Contains(stderr, "correct 0.6667") {
				t.Errorf("no reward summary:\n%s", stderr)
			}
		})
	}
}

func TestRolloutRewardsErrors(t *testing.T) {
	dir := t.TempDir()
	badKey := writeFile(t, dir, "bad.yaml", "rollout:\n  - name: correct\n    reward: math_equal\n    wieght: 2\n")
	unknown := writeFile(t, dir, "unknown.yaml", "rollout:\n  - reward: nope\n")
	badAdv := writeFile(t, dir, "adv.yaml", "advantage: ppo\n")
	inlineBad := writeFile(t, dir, "run.yaml", "model: fake\nrewards:\n  rollout:\n    - name: correct\n      reward: math_equal\n  advantages: grpo\n")
	inlineList := writeFile(t, dir, "list.yaml", "model: fake\nrewards: [a, b]\n")
	out := filepath.Join(dir, "out.jsonl")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing file", []string{"--rewards", filepath.Join(dir, "none.yaml")}, []string{"--rewards", "none.yaml"}},
		{"unknown component key", []string{"--rewards", badKey}, []string{"bad.yaml", "line 4", "wieght", "known keys"}},
		{"unknown reward", []string{"--rewards", unknown}, []string{`"nope"`, "math_equal"}},
		{"unknown advantage", []string{"--rewards", badAdv}, []string{`"ppo"`, "grpo"}},
		{"inline unknown key", []string{"--config", inlineBad}, []string{"run.yaml", "line 6", `"advantages"`, "in rewards", "advantage"}},
		{"inline not a mapping", []string{"--config", inlineList}, []string{"list.yaml", "file path or a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"rollout", "--model", "fake", "--out", out}, tt.args...)
			wantUsageError(t, out, args, tt.want)
		})
	}
}

// The rewards spec decodes a path or a mapping, and its flag sets a path.
func TestRewardsSpec(t *testing.T) {
	var c rolloutConfig
	if err := loadRolloutConfig(writeFile(t, t.TempDir(), "c.yaml", rewardsInline), &c); err != nil {
		t.Fatal(err)
	}
	got, err := c.Rewards.config()
	if err != nil || got == nil || len(got.Step) != 1 || got.Step[0].Name != "format" || got.Advantage != "rloo" {
		t.Fatalf("inline rewards: %+v, %v", got, err)
	}
	if err := c.Rewards.Set("r.yaml"); err != nil || c.Rewards.Inline != nil || c.Rewards.String() != "r.yaml" {
		t.Errorf("Set: %v; spec %+v: the flag must replace an inline configuration", err, c.Rewards)
	}
	if err := c.Rewards.Set(" "); err == nil {
		t.Error("an empty --rewards was accepted")
	}
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"advantage":"rloo"`) {
		t.Errorf("decoded config %s", b)
	}
}

const rewardsInline = "rewards:\n  step:\n    - name: format\n      params: {partial: 0.25}\n  advantage: rloo\n"
