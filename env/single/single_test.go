package single_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/env/single"
)

func exact(task retrain.Task, a retrain.Action) float64 {
	if strings.TrimSpace(a.Text) == task.Answer {
		return 1
	}
	return 0
}

func TestConformance(t *testing.T) {
	envtest.Run(t, func() retrain.Environment {
		return single.New(&single.Options{SystemPrompt: "Be brief.", Reward: exact})
	}, &envtest.Options{
		Task: retrain.Task{ID: "t1", Prompt: "2+2?", Answer: "4"},
		Actions: func(retrain.Observation) retrain.Action {
			return retrain.Action{Kind: retrain.ActionText, Text: "4", Raw: "4"}
		},
	})
}

func TestConformanceRegistered(t *testing.T) {
	f, err := env.New(single.Name, json.RawMessage(`{"system_prompt": "Be brief."}`))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	envtest.RunFactory(t, f, nil)
}

func TestEpisode(t *testing.T) {
	task := retrain.Task{Prompt: "2+2?", Answer: "4"}
	tests := []struct {
		name       string
		opts       *single.Options
		action     retrain.Action
		wantReward float64
		wantMsgs   []retrain.Message
	}{
		{
			name:   "defaults: no system prompt, zero reward",
			opts:   nil,
			action: retrain.Action{Kind: retrain.ActionText, Text: "4", Raw: "<think>hm</think>4", Reasoning: "hm"},
			wantMsgs: []retrain.Message{
				{Role: "user", Content: "2+2?"},
				{Role: "assistant", Content: "4", Reasoning: "hm"},
			},
		},
		{
			name:       "system prompt and reward",
			opts:       &single.Options{SystemPrompt: "Answer with a number.", Reward: exact},
			action:     retrain.Action{Kind: retrain.ActionText, Text: " 4\n", Raw: " 4\n"},
			wantReward: 1,
			wantMsgs: []retrain.Message{
				{Role: "system", Content: "Answer with a number."},
				{Role: "user", Content: "2+2?"},
				{Role: "assistant", Content: " 4\n"},
			},
		},
		{
			name:   "wrong answer",
			opts:   &single.Options{Reward: exact},
			action: retrain.Action{Kind: retrain.ActionText, Text: "5", Raw: "5"},
			wantMsgs: []retrain.Message{
				{Role: "user", Content: "2+2?"},
				{Role: "assistant", Content: "5"},
			},
		},
		{
			name:   "parse error keeps the raw output",
			opts:   &single.Options{Reward: exact},
			action: retrain.Action{Kind: retrain.ActionText, Raw: "<answer>4", ParseError: "unclosed <answer>"},
			wantMsgs: []retrain.Message{
				{Role: "user", Content: "2+2?"},
				{Role: "assistant", Content: "<answer>4"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := single.New(tt.opts)
			defer e.Close()
			if err := e.Setup(t.Context()); err != nil {
				t.Fatal(err)
			}
			obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: task})
			if err != nil {
				t.Fatal(err)
			}
			if obs.Content != task.Prompt || !obs.RequiresAction || len(obs.Tools) != 0 {
				t.Errorf("initial observation = %+v", obs)
			}
			if diff := cmp.Diff(tt.wantMsgs[:len(tt.wantMsgs)-1], obs.Messages); diff != "" {
				t.Errorf("initial messages (-want +got):\n%s", diff)
			}
			step, err := e.Step(t.Context(), tt.action)
			if err != nil {
				t.Fatal(err)
			}
			if !step.Terminated || step.Truncated || step.Reward != tt.wantReward {
				t.Errorf("step = terminated %v truncated %v reward %v; want true false %v", step.Terminated, step.Truncated, step.Reward, tt.wantReward)
			}
			if step.Observation.Kind != retrain.ObsFinalAnswerFeedback {
				t.Errorf("final observation kind = %q", step.Observation.Kind)
			}
			if diff := cmp.Diff(tt.wantMsgs, step.Observation.Messages); diff != "" {
				t.Errorf("final messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessagesAreCopies(t *testing.T) {
	e := single.New(nil)
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	obs.Messages[0].Content = "changed"
	step, err := e.Step(t.Context(), retrain.Action{Kind: retrain.ActionText, Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got := step.Observation.Messages[0].Content; got != "hi" {
		t.Errorf("changing a returned observation changed the environment: first message = %q", got)
	}
}

func TestRender(t *testing.T) {
	e := single.New(&single.Options{SystemPrompt: "sys"})
	if _, err := e.Render(); !errors.Is(err, retrain.ErrNotReset) {
		t.Errorf("Render before Reset: err = %v", err)
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "2+2?"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Step(t.Context(), retrain.Action{Kind: retrain.ActionText, Text: "4"}); err != nil {
		t.Fatal(err)
	}
	got, err := e.Render()
	if err != nil {
		t.Fatal(err)
	}
	want := "=== system ===\nsys\n\n=== user ===\n2+2?\n\n=== assistant ===\n4\n"
	if got != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		config  string
		wantErr string
	}{
		{config: ``},
		{config: `null`},
		{config: `{}`},
		{config: `{"system_prompt": "x"}`},
		{config: `{"system_promt": "x"}`, wantErr: `unknown config key "system_promt"; allowed keys: system_prompt`},
		{config: `{"system_prompt": 3}`, wantErr: `config key "system_prompt": expected a string, got a JSON number`},
		{config: `[1]`, wantErr: `config must be a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			f, err := env.New(single.Name, json.RawMessage(tt.config))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				f.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%s) err = %v, want it to contain %q", tt.config, err, tt.wantErr)
			}
		})
	}
}
