package reward

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const yamlConfig = `
step:
  - name: fmt
    reward: format
    weight: 0.1
    params: {dialect: hermes}
rollout:
  - name: correct
    reward: math_equal
    params:
      tolerance: 1.0e-4
    verifiers: [has_answer, "max_length:4000"]
    penalty: -1
env_weight: 0.5
distribution: discounted
gamma: 0.9
advantage: grpo
scale_by_std: false
on_error: fail
error_score: -2
dialect: hermes
`

func TestLoadConfigYAMLAndJSON(t *testing.T) {
	want := &Config{
		Step: []Component{{Name: "fmt", Reward: "format", Weight: Float(0.1), Params: map[string]any{"dialect": "hermes"}}},
		Rollout: []Component{{Name: "correct", Reward: "math_equal", Params: map[string]any{"tolerance": 1e-4},
			Verifiers: []string{"has_answer", "max_length:4000"}, Penalty: -1}},
		EnvWeight: Float(0.5), Distribution: DistDiscounted, Gamma: 0.9, Advantage: AdvGRPO,
		ScaleByStd: new(false), OnError: OnErrorFail, ErrorScore: -2, Dialect: "hermes",
	}
	got, err := LoadConfig(writeFile(t, "r.yaml", yamlConfig))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("YAML config mismatch (-want +got):\n%s", diff)
	}
	const jsonConfig = `{"step": [{"name": "fmt", "reward": "format", "weight": 0.1, "params": {"dialect": "hermes"}}],
	 "rollout": [{"name": "correct", "reward": "math_equal", "params": {"tolerance": 1e-4}, "verifiers": ["has_answer", "max_length:4000"], "penalty": -1}],
	 "env_weight": 0.5, "distribution": "discounted", "gamma": 0.9, "advantage": "grpo", "scale_by_std": false,
	 "on_error": "fail", "error_score": -2, "dialect": "hermes"}`
	got, err = LoadConfig(writeFile(t, "r.json", jsonConfig))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON config mismatch (-want +got):\n%s", diff)
	}
	// The loaded configuration builds and scores.
	calc, err := NewCalculator(got, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := threeTurns()
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	if tr.Rewards.Rollout["correct"] != 1 {
		t.Errorf("correct = %v, want 1", tr.Rewards.Rollout["correct"])
	}
}

// The std key decodes from YAML and JSON to the named StdKind.
func TestLoadConfigStd(t *testing.T) {
	for name, content := range map[string]string{
		"r.yaml": "advantage: grpo\nstd: sample\n",
		"r.json": `{"advantage": "grpo", "std": "sample"}`,
	} {
		cfg, err := LoadConfig(writeFile(t, name, content))
		if err != nil || cfg.Std != StdSample {
			t.Errorf("%s: %+v, %v; want std sample", name, cfg, err)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string
	}{
		{"r.yaml", "step: []\nrollot: []\n", []string{"unknown key", "rollot", "known keys"}},
		{"r.yaml", "step:\n  - name: a\n    wieght: 2\n", []string{"unknown key", "wieght", "in a component"}},
		{"r.json", `{"advantage": "grpo", "bogus": 1}`, []string{"unknown key", "bogus"}},
		{"r.json", `{"advantage": "grpo"} {}`, []string{"more than one JSON value"}},
		{"r.toml", "x = 1", []string{"unknown extension", ".yaml"}},
		{"r.yaml", "distribution: sometimes\n", []string{"unknown distribution", "last_step"}},
		{"r.yaml", "distribution: discounted\n", []string{"gamma"}},
		{"r.yaml", "env_weight: [1]\n", []string{"r.yaml"}},
		{"r.yaml", "advantage: grpo\nstd: unbiased\n", []string{`unknown std "unbiased"`, "population", "sample"}},
	}
	for _, tt := range tests {
		_, err := LoadConfig(writeFile(t, tt.name, tt.content))
		if err == nil {
			t.Errorf("%s %q: no error", tt.name, tt.content)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q: error %q lacks %q", tt.name, tt.content, err, w)
			}
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
	// An empty YAML file is the zero configuration.
	cfg, err := LoadConfig(writeFile(t, "empty.yml", ""))
	if err != nil || cfg.Distribution != "" || len(cfg.Step) != 0 {
		t.Errorf("empty file: %+v, %v", cfg, err)
	}
}
