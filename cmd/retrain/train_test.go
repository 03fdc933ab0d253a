package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/model/local"
)

// train runs GRPO and writes float32 weights and the metrics; eval of the
// written weights through --model local:FILE reproduces the command's own
// held-out evaluation after training, episode for episode.
func TestTrainThenEval(t *testing.T) {
	dir := t.TempDir()
	out, metrics := filepath.Join(dir, "trained.bin"), filepath.Join(dir, "m.jsonl")
	code, _, stderr := rolloutCLI(t, "train", "--steps", "1", "--tasks", "2", "--n", "2", "--eval-tasks", "3", "--eval-n", "2",
		"--seed", "3", "--out", out, "--metrics", metrics)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"step   1", "held-out accuracy at temperature 1", "wrote the weights to " + out + " (f32)", "retrain eval --model local:" + out} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	w, notes, err := local.DecodeWeights(b)
	if err != nil || w.Params() == 0 || !strings.Contains(string(notes), `"algorithm"`) {
		t.Fatalf("weights: %v, notes %s", err, notes)
	}
	f, err := os.Open(metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var after map[string]any
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		if line["type"] == "eval" && line["step"] == 1.0 {
			after = line
		}
	}
	if lines != 3 || after == nil {
		t.Fatalf("%d metrics lines, eval after training %v", lines, after)
	}

	code, _, stderr = rolloutCLI(t, "eval", "--model", "local:"+out, "--tasks", "3", "--n", "2", "--temperature", "1", "--seed", "999",
		"--quiet", "--out", filepath.Join(dir, "e.jsonl"))
	if code != 0 {
		t.Fatalf("eval: exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "weights from "+out) {
		t.Errorf("eval did not say which weights it used:\n%s", stderr)
	}
	r := readReport(t, filepath.Join(dir, "e.report.json"))
	if r.Pass.SuccessRate != after["accuracy"] || r.Episodes != 6 {
		t.Errorf("eval --model local:FILE: success rate %g of %d episodes; train's own evaluation %v", r.Pass.SuccessRate, r.Episodes, after)
	}
}

func TestTrainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "w.bin")
	bad := filepath.Join(dir, "bad.bin")
	if err := os.WriteFile(bad, []byte("not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--n", "1"}, []string{"--n is 1", "at least 2"}},
		{[]string{"--seed", "999"}, []string{"--seed is 999", "held-out"}},
		{[]string{"--clip", "1.5"}, []string{"--clip is 1.5"}},
		{[]string{"--steps", "0"}, []string{"--steps is 0"}},
		{[]string{"--tasks", "0"}, []string{"--tasks is 0"}},
		{[]string{"--lr", "-1"}, []string{"--lr is -1", "positive"}},
		{[]string{"--lr", "NaN"}, []string{"--lr is NaN"}},
		{[]string{"--kl-coef", "-0.1"}, []string{"--kl-coef is -0.1"}},
		{[]string{"--weight-decay", "-1"}, []string{"--weight-decay is -1"}},
		{[]string{"--updates", "0"}, []string{"--updates is 0"}},
		{[]string{"--max-grad-norm", "0"}, []string{"--max-grad-norm is 0"}},
		{[]string{"--max-episode-tokens", "0"}, []string{"--max-episode-tokens is 0"}},
		{[]string{"--max-turns", "0"}, []string{"--max-turns is 0"}},
		{[]string{"--temperature", "0"}, []string{"--temperature is 0"}},
		{[]string{"--eval-tasks", "0"}, []string{"--eval-tasks is 0"}},
		{[]string{"--eval-n", "0"}, []string{"--eval-n is 0"}},
		{[]string{"--concurrency", "-1"}, []string{"--concurrency is -1"}},
		{[]string{"--model", "fake"}, []string{`--model "fake"`, "local:FILE"}},
		{[]string{"--model", "local:"}, []string{"names no weights file", "local:trained.bin"}},
		{[]string{"--model", "local:" + filepath.Join(dir, "none.bin")}, []string{"none.bin", "no such file"}},
		{[]string{"--model", "local:" + bad}, []string{"bad.bin", "not a valid weights file"}},
		{[]string{"--metrics", out}, []string{"same file"}},
		{[]string{"extra"}, []string{`unexpected argument "extra"`}},
	}
	for _, tt := range tests {
		wantUsageError(t, out, append([]string{"train", "--out", out}, tt.args...), tt.want)
	}
}

// --help explains every flag with its default.
func TestTrainHelp(t *testing.T) {
	code, _, stderr := rolloutCLI(t, "train", "--help")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"-steps int", "(default 40)", "-tasks int", "-n int", "-lr float", "-lr-decay", "-clip float", "-kl-coef float",
		"-seed int", "-max-episode-tokens int", "-metrics file", `(default "train.jsonl")`, "-out file", `(default "trained.bin")`, "local:FILE"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--help lacks %q:\n%s", want, stderr)
		}
	}
}

// --model local:FILE loads a weights file in rollout and serve-model, and
// says clearly what is wrong with a missing or bad one.
func TestModelLocalFile(t *testing.T) {
	dir := t.TempDir()
	weights := writeRandomWeights(t)
	out := filepath.Join(dir, "r.jsonl")
	code, _, stderr := rolloutCLI(t, "rollout", "--model", "local:"+weights, "--tasks", "1", "--max-tokens", "5", "--max-turns", "1", "--quiet", "--out", out)
	if code != 0 || !strings.Contains(stderr, "weights from "+weights) {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	trajs := readTrajectories(t, out)
	if len(trajs) != 1 || len(trajs[0].Turns) == 0 || !strings.HasPrefix(trajs[0].Turns[0].PolicyVersion, local.DefaultName+"@") {
		t.Fatalf("trajectories %+v", trajs)
	}
	builtin, _ := local.Default()
	if trajs[0].Turns[0].PolicyVersion == builtin.PolicyVersion() {
		t.Error("local:FILE ran the built-in weights")
	}
	missing := filepath.Join(dir, "none.bin")
	for _, cmd := range []string{"rollout", "eval"} {
		for _, tt := range []struct{ model, want string }{
			{"local:" + missing, "none.bin: no such file or directory; give a weights file"},
			{"local:", "names no weights file"},
		} {
			o := filepath.Join(dir, cmd+".jsonl")
			code, _, stderr := rolloutCLI(t, cmd, "--model", tt.model, "--out", o)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("%s --model %s: exit %d, stderr %q; want a usage error mentioning %q", cmd, tt.model, code, stderr, tt.want)
			}
			if _, err := os.Stat(o); err == nil {
				t.Errorf("%s --model %s created its output", cmd, tt.model)
			}
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "local:" + missing}, "none.bin"},
		{[]string{"--model", "fake"}, "local model only"},
		{[]string{"--model", "local:" + weights, "--weights", missing}, "two weights files"},
	} {
		code, _, stderr := rolloutCLI(t, append([]string{"serve-model"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("serve-model %v: exit %d, stderr %q; want a usage error mentioning %q", tt.args, code, stderr, tt.want)
		}
	}
}
