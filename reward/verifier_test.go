package reward

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
)

func TestBuiltinVerifiers(t *testing.T) {
	tr := toolTrajectory()
	parseFailed := &retrain.Trajectory{Turns: []retrain.Turn{{Action: retrain.Action{Raw: "<tool_call>{", ParseError: "bad JSON"}}}}
	truncated := &retrain.Trajectory{StopReason: "max_turns"}
	tests := []struct {
		spec string
		s    Sample
		want bool
	}{
		{"has_answer", Sample{Completion: `so \boxed{3}`}, true},
		{"has_answer", Sample{Completion: "The answer is 3."}, true},
		{"has_answer", Sample{Completion: "so 3"}, false},
		// A tool environment's dialect has already taken the answer out of its tags.
		{"has_answer", Sample{Completion: "540", Action: &retrain.Action{Kind: retrain.ActionText, Text: "540", Raw: "<answer>540</answer>"}}, true},
		{"has_answer", Sample{Completion: "540", Action: &retrain.Action{Kind: retrain.ActionText, Text: "540", Raw: "540"}}, false},
		{"parses", stepSample(tr, 0), true},
		{"parses", RolloutSample(parseFailed, ""), false},
		{"parses", Sample{Step: -1, Completion: "plain pair"}, true},
		{"no_tool_errors", stepSample(tr, 0), false},
		{"no_tool_errors", stepSample(tr, 2), true},
		{"no_tool_errors", RolloutSample(tr, ""), false},
		{"terminated", RolloutSample(tr, ""), true},
		{"terminated", RolloutSample(truncated, ""), false},
		{"max_length:5", Sample{Completion: "héllo"}, true},
		{"max_length:4", Sample{Completion: "héllo"}, false},
		{"max_length:10", RolloutSample(tr, ""), false}, // all turns' raw text
		{"max_tokens:3", stepSample(tr, 0), true},
		{"max_tokens:2", stepSample(tr, 0), false},
		{"max_tokens:10", RolloutSample(tr, ""), true},
		{"max_tokens:9", RolloutSample(tr, ""), false},
	}
	reg := NewRegistry()
	for _, tt := range tests {
		v, err := reg.NewVerifier(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(context.Background(), tt.s)
		if err != nil {
			t.Errorf("%s: %v", tt.spec, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s on step %d %.40q = %v, want %v", tt.spec, tt.s.Step, tt.s.Completion, got, tt.want)
		}
	}
	v, _ := reg.NewVerifier("terminated")
	if _, err := v.Verify(context.Background(), Sample{}); err == nil {
		t.Error("terminated without a trajectory: no error")
	}
	for _, bad := range []string{"max_length:0", "max_length:x", "max_tokens", "parses:1"} {
		if _, err := reg.NewVerifier(bad); !errors.Is(err, ErrBadParams) {
			t.Errorf("NewVerifier(%q): err = %v, want ErrBadParams", bad, err)
		}
	}
}

func TestCustomVerifier(t *testing.T) {
	reg := NewRegistry()
	polite := func(arg string) (Verifier, error) {
		word := arg
		if word == "" {
			word = "please"
		}
		return VerifierFunc(func(ctx context.Context, s Sample) (bool, error) {
			return strings.Contains(s.Completion, word), nil
		}), nil
	}
	if err := reg.RegisterVerifier("polite", polite); err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterVerifier("polite", polite); err == nil {
		t.Error("duplicate RegisterVerifier succeeded")
	}
	if err := reg.RegisterVerifier("panicky", func(string) (Verifier, error) {
		return VerifierFunc(func(context.Context, Sample) (bool, error) { panic("oops") }), nil
	}); err != nil {
		t.Fatal(err)
	}
	calc, err := NewCalculator(&Config{
		EnvWeight: Float(0),
		Rollout: []Component{
			{Name: "a", Reward: "math_equal", Verifiers: []string{"polite:thanks"}, Penalty: -1},
			{Name: "b", Reward: "math_equal", Verifiers: []string{"panicky"}},
		},
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	for final, want := range map[string]float64{"42, thanks": 1, "42": -1} {
		tr := &retrain.Trajectory{Task: retrain.Task{Answer: "42"}, Turns: []retrain.Turn{{Action: retrain.Action{Text: final}}}}
		if err := calc.Score(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
		if got := tr.Rewards.Rollout["a"]; got != want {
			t.Errorf("%q: a = %v, want %v", final, got, want)
		}
		if len(tr.Rewards.Errors) != 1 || !strings.Contains(tr.Rewards.Errors[0], "verifier panicked: oops") {
			t.Errorf("%q: errors = %q, want the panicking verifier", final, tr.Rewards.Errors)
		}
	}
}
