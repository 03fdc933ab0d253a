package rollout

import (
	"context"
	"slices"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
)

// A default episode (no seed, no sampling settings) sends a drawn seed with
// every request and records it, with the max_tokens actually sent, on
// every turn.
func TestRunRecordsSamplingPerTurn(t *testing.T) {
	var sent []model.Sampling
	m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		sent = append(sent, req.Sampling)
		return model.Completion{Text: "hmm", Tokens: &retrain.Tokens{Text: []string{"a", "b", "c", "d"}}}, nil
	})
	tr, err := Run(context.Background(), &scriptEnv{}, m, &Options{Task: task, MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Turns) != 3 || len(sent) != 3 {
		t.Fatalf("%d turns, %d requests; want 3", len(tr.Turns), len(sent))
	}
	for i, turn := range tr.Turns {
		s := turn.Sampling
		if s == nil || s.Seed == nil {
			t.Fatalf("turn %d: sampling %+v, want a seed", i, s)
		}
		if sent[i].Seed == nil || *sent[i].Seed != *s.Seed || *s.Seed != *tr.Turns[0].Sampling.Seed {
			t.Errorf("turn %d: recorded seed %d, sent %v; want the episode's one seed", i, *s.Seed, sent[i].Seed)
		}
		if want := []int{10, 6, 2}[i]; s.MaxTokens != want || sent[i].MaxTokens != want {
			t.Errorf("turn %d: max_tokens recorded %d, sent %d; want %d", i, s.MaxTokens, sent[i].MaxTokens, want)
		}
		if s.Temperature != nil || s.TopP != nil {
			t.Errorf("turn %d: temperature %v, top_p %v; want nil (the server's default, as sent)", i, s.Temperature, s.TopP)
		}
	}
	if tr.Sampling != nil {
		t.Errorf("trajectory sampling %v; want it unchanged (none set)", tr.Sampling)
	}
	again, _ := Run(context.Background(), &scriptEnv{}, m, &Options{Task: task, MaxTokens: 10})
	if *again.Turns[0].Sampling.Seed == *tr.Turns[0].Sampling.Seed {
		t.Errorf("two episodes drew the same seed %d", *tr.Turns[0].Sampling.Seed)
	}

	temp, seed := 0.5, int64(7)
	tr, _ = Run(context.Background(), &scriptEnv{}, m, &Options{Task: task, Sampling: model.Sampling{Temperature: &temp, Seed: &seed, MaxTokens: 4},
		PolicyVersion: "step-3", LogprobsMode: model.LogprobsRaw})
	if s := tr.Turns[0].Sampling; s == nil || *s.Temperature != 0.5 || *s.Seed != 7 || s.MaxTokens != 4 {
		t.Errorf("given settings recorded as %+v", s)
	}
	for i, turn := range tr.Turns {
		if turn.PolicyVersion != "step-3" || turn.LogprobsMode != "raw" {
			t.Errorf("turn %d: policy %q, logprobs %q", i, turn.PolicyVersion, turn.LogprobsMode)
		}
	}
}

// Rerunning each turn's request with its recorded sampling settings
// reproduces the local model's completion token for token.
func TestRecordedSamplingReproducesLocal(t *testing.T) {
	m, err := local.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Run(context.Background(), &scriptEnv{truncateAt: 3}, m, &Options{Task: task, MaxTokens: 96})
	if err != nil || tr.Failed() {
		t.Fatalf("run: %v %s", err, tr.Error)
	}
	for i, turn := range tr.Turns {
		s := turn.Sampling
		req := model.Request{Messages: tr.Messages[:turn.PromptMessages],
			Sampling: model.Sampling{Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens, Seed: s.Seed}}
		c, err := m.Generate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Tokens.IDs, turn.Action.Tokens.IDs) {
			t.Errorf("turn %d: replayed ids %v, recorded %v", i, c.Tokens.IDs, turn.Action.Tokens.IDs)
		}
	}
}
