package rollout

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward"
)

func TestJobValidate(t *testing.T) {
	nan, inf, neg, two := math.NaN(), math.Inf(1), -1.0, 2.0
	ok := func() Job { return Job{Env: "x", Generate: 3} }
	tests := []struct {
		name    string
		edit    func(*Job)
		wantKey string
	}{
		{"ok", func(*Job) {}, ""},
		{"inline tasks", func(j *Job) { j.Generate = 0; j.Tasks = []retrain.Task{{Prompt: "2+2"}} }, ""},
		{"negative n", func(j *Job) { j.N = -1 }, "n"},
		{"huge n", func(j *Job) { j.N = 9_000_000_000_000_000_000 }, "n"},
		{"negative concurrency", func(j *Job) { j.Concurrency = -2 }, "concurrency"},
		{"negative max_turns", func(j *Job) { j.MaxTurns = -1 }, "max_turns"},
		{"negative max_tokens", func(j *Job) { j.Sampling.MaxTokens = -1 }, "sampling.max_tokens"},
		{"negative timeout", func(j *Job) { j.Timeout = -1 }, "timeout"},
		{"NaN temperature", func(j *Job) { j.Sampling.Temperature = &nan }, "sampling.temperature"},
		{"infinite temperature", func(j *Job) { j.Sampling.Temperature = &inf }, "sampling.temperature"},
		{"negative temperature", func(j *Job) { j.Sampling.Temperature = &neg }, "sampling.temperature"},
		{"top_p above 1", func(j *Job) { j.Sampling.TopP = &two }, "sampling.top_p"},
		{"NaN top_p", func(j *Job) { j.Sampling.TopP = &nan }, "sampling.top_p"},
		{"bad model", func(j *Job) { j.Model.BaseURL = "gpt" }, "model.base_url"},
		{"weights for a server", func(j *Job) { j.Model = model.Endpoint{BaseURL: "fake", Weights: "w.bin"} }, "model.weights"},
		{"no tasks", func(j *Job) { j.Generate = 0 }, "tasks"},
		{"two task sources", func(j *Job) { j.Dataset = "d.jsonl" }, "tasks"},
		{"empty prompt", func(j *Job) { j.Generate = 0; j.Tasks = []retrain.Task{{Prompt: "a"}, {Prompt: " "}} }, "tasks[1].prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := ok()
			tt.edit(&j)
			err := j.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var je *JobError
			if !errors.As(err, &je) || je.Key != tt.wantKey {
				t.Fatalf("Validate = %v, want a JobError for key %q", err, tt.wantKey)
			}
			if !strings.HasPrefix(err.Error(), tt.wantKey+" ") || je.Problem == "" {
				t.Errorf("error %q does not start with its key and say what is wrong", err)
			}
		})
	}
}

// jobRegistry serves "script": scriptEnv, which ends an episode on
// "answer X" with reward 1 when X is the task's answer.
func jobRegistry(t *testing.T) *env.Registry {
	t.Helper()
	reg := env.NewRegistry()
	reg.MustRegister("script", "test env", func(raw json.RawMessage) (env.Factory, error) {
		var cfg struct {
			TruncateAt int `json:"truncate_at"`
		}
		if err := env.DecodeConfig(raw, &cfg); err != nil {
			return nil, err
		}
		return env.FactoryFunc(func() (retrain.Environment, error) {
			return &scriptEnv{truncateAt: cfg.TruncateAt}, nil
		}), nil
	})
	return reg
}

// answerFour answers "answer 4": right for "2+2".
func answerFour(*openaitest.ChatRequest) openaitest.Reply {
	return openaitest.Reply{Content: "answer 4"}
}

// A job decoded from its JSON encoding runs exactly like the original: the
// description is complete, so a remote worker can run it the same way.
func TestJobRoundTripRunsTheSame(t *testing.T) {
	seed := int64(7)
	job := Job{
		Env:      "script",
		Tasks:    []retrain.Task{{ID: "a", Prompt: "2+2", Answer: "4"}, {ID: "b", Prompt: "3+3", Answer: "6"}},
		N:        3,
		Model:    model.Endpoint{BaseURL: model.EndpointFake},
		Sampling: model.Sampling{MaxTokens: 16},
		MaxTurns: 2,
		Seed:     &seed,
		Reward: &reward.Config{
			Rollout:   []reward.Component{{Name: "right", Reward: "exact_match"}},
			Advantage: "grpo",
		},
	}
	b, err := json.Marshal(&job)
	if err != nil {
		t.Fatal(err)
	}
	var wire Job
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if diff := cmp.Diff(job, wire); diff != "" {
		t.Fatalf("the job changed through JSON (-sent +received):\n%s", diff)
	}
	run := func(j *Job) []*retrain.Trajectory {
		p, err := Prepare(t.Context(), j, &PrepareOptions{Envs: jobRegistry(t), Model: endpoint.Options{Responder: answerFour}})
		if err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		defer p.Close()
		var c memSink
		sum, err := p.Run(t.Context(), &RunOptions{Sink: &c})
		if err != nil || sum.Episodes != 6 || sum.Succeeded != 6 {
			t.Fatalf("Run: %v, %+v", err, sum)
		}
		return c.ts
	}
	a, w := run(&job), run(&wire)
	key := func(ts []*retrain.Trajectory) map[string]string {
		m := map[string]string{}
		for _, tr := range ts {
			if tr.Rewards == nil || tr.Rewards.Advantage == nil {
				t.Fatalf("%s has no rewards or advantage: the job's reward config was not applied", tr.ID)
			}
			m[tr.ID] = tr.Turns[0].Action.Raw + "|" + string(tr.StopReason) + "|" + tr.Model
		}
		return m
	}
	if diff := cmp.Diff(key(a), key(w)); diff != "" {
		t.Errorf("runs differ (-original +decoded):\n%s", diff)
	}
	if len(a) != 6 || a[0].Model != openaitest.DefaultModel {
		t.Errorf("%d trajectories, model %q", len(a), a[0].Model)
	}
}

func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tasks.jsonl"), []byte(`{"prompt": "2+2", "answer": "4"}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.jsonl"), nil, 0o644)
	open := func(name string) (io.ReadCloser, error) { return os.OpenInRoot(dir, name) }
	tests := []struct {
		name     string
		job      Job
		wantKind string
		wantText string
	}{
		{"unknown env", Job{Env: "nope", Generate: 1}, PrepareInvalid, `unknown environment "nope"`},
		{"bad env config", Job{Env: "script", EnvConfig: json.RawMessage(`{"bogus": 1}`), Generate: 1}, PrepareInvalid, "bogus"},
		{"bad reward", Job{Env: "script", Generate: 1, Reward: &reward.Config{Advantage: "ppo"}}, PrepareInvalid, "ppo"},
		{"missing dataset", Job{Env: "script", Dataset: "none.jsonl"}, PrepareNotFound, "none.jsonl"},
		{"empty dataset", Job{Env: "script", Dataset: "empty.jsonl"}, PrepareInvalid, "no tasks"},
		{"escaping dataset", Job{Env: "script", Dataset: "../x.jsonl"}, PrepareInvalid, "x.jsonl"},
		{"model down", Job{Env: "script", Generate: 1, Model: model.Endpoint{BaseURL: "http://127.0.0.1:1/v1"}}, PrepareModel, "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Prepare(t.Context(), &tt.job, &PrepareOptions{Envs: jobRegistry(t), OpenDataset: open})
			if err == nil {
				p.Close()
				t.Fatal("Prepare succeeded")
			}
			var pe *PrepareError
			if !errors.As(err, &pe) || pe.Kind != tt.wantKind || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Prepare = %v (%T), want a %s PrepareError containing %q", err, err, tt.wantKind, tt.wantText)
			}
		})
	}
	// A good dataset through the same opener.
	p, err := Prepare(t.Context(), &Job{Env: "script", Dataset: "tasks.jsonl", Model: model.Endpoint{BaseURL: "fake"}}, &PrepareOptions{Envs: jobRegistry(t), OpenDataset: open})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.Tasks(); len(got) != 1 || got[0].Answer != "4" {
		t.Errorf("tasks %+v", got)
	}
}

// A job without rewards scores with the environment's default rewards; a
// job's own rewards replace them whole, and an empty configuration scores
// the environment's step rewards only.
func TestPrepareDefaultRewards(t *testing.T) {
	reg := jobRegistry(t)
	spec := env.NewSpec("scored", "script with default rewards", nil, func(struct{}) (env.Factory, error) {
		return env.FactoryFunc(func() (retrain.Environment, error) { return &scriptEnv{}, nil }), nil
	})
	spec.Rewards = &reward.Config{Rollout: []reward.Component{{Name: "right", Reward: "exact_match"}}}
	reg.MustRegisterSpec(spec)

	for _, tc := range []struct {
		name   string
		env    string
		reward *reward.Config
		want   []string // the rollout components scored; nil: not scored at all
	}{
		{"defaults", "scored", nil, []string{"right"}},
		{"replaced", "scored", &reward.Config{Rollout: []reward.Component{{Name: "num", Reward: "numeric"}}}, []string{"num"}},
		{"empty", "scored", &reward.Config{}, []string{}},
		{"no defaults", "script", nil, nil},
	} {
		job := Job{Env: tc.env, Tasks: []retrain.Task{{ID: "a", Prompt: "2+2", Answer: "4"}},
			Model: model.Endpoint{BaseURL: model.EndpointFake}, MaxTurns: 2, Reward: tc.reward}
		p, err := Prepare(t.Context(), &job, &PrepareOptions{Envs: reg, Model: endpoint.Options{Responder: answerFour}})
		if err != nil {
			t.Fatalf("%s: Prepare: %v", tc.name, err)
		}
		var c memSink
		_, err = p.Run(t.Context(), &RunOptions{Sink: &c})
		p.Close()
		if err != nil || len(c.ts) != 1 {
			t.Fatalf("%s: Run: %v, %d trajectories", tc.name, err, len(c.ts))
		}
		if job.Reward != tc.reward {
			t.Errorf("%s: Prepare changed the caller's job", tc.name)
		}
		r := c.ts[0].Rewards
		if (r != nil) != (tc.want != nil) || (p.RewardConfig() != nil) != (tc.want != nil) {
			t.Fatalf("%s: rewards %+v, config %+v; want scored: %v", tc.name, r, p.RewardConfig(), tc.want != nil)
		}
		if r == nil {
			continue
		}
		got := []string{}
		for name := range r.Rollout {
			got = append(got, name)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: rollout components (-want +got):\n%s", tc.name, diff)
		}
		if tc.name == "defaults" && r.Rollout["right"] != 1 {
			t.Errorf("defaults: right = %v, want 1 (answered 4 to 2+2)", r.Rollout["right"])
		}
	}
}
