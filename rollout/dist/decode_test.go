package dist

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
)

// resultTrajectory is a trajectory with every kind of token array: prompt
// ids on one turn and not the other, generated ids, log-probs (extreme ones
// too), token texts and bytes, and an empty array.
func resultTrajectory() *retrain.Trajectory {
	yes := true
	return &retrain.Trajectory{
		ID: "t1#0", Sample: 0, Env: "calculator",
		Task:     retrain.Task{ID: "t1", Prompt: "What is 2+2?", Answer: "4"},
		Messages: []retrain.Message{{Role: retrain.RoleUser, Content: "What is 2+2?"}, {Role: retrain.RoleAssistant, Content: "<answer>4</answer>"}},
		Turns: []retrain.Turn{
			{PromptMessages: 1, PromptTokenIDs: []int32{1, 2, 3, math.MaxInt32, 0},
				Action: retrain.Action{Kind: retrain.ActionText, Text: "4", Raw: "<answer>4</answer>",
					Tokens: &retrain.Tokens{IDs: []int32{7, 8}, Text: []string{"<answer>", "4"}, Logprobs: []float64{-0.125, -1e-300},
						Bytes: [][]byte{[]byte("<answer>"), {0xff}}}}},
			{PromptMessages: 2, PrefixMatch: &yes,
				Action: retrain.Action{Kind: retrain.ActionText, Raw: "", Tokens: &retrain.Tokens{Text: []string{"x"}, Logprobs: []float64{-math.MaxFloat64}}}},
			{PromptMessages: 2, Action: retrain.Action{Kind: retrain.ActionText, Raw: "y"}},
		},
	}
}

func TestDecodeResult(t *testing.T) {
	for _, tr := range []*retrain.Trajectory{resultTrajectory(), {ID: "a#1", Sample: 1}, {ID: "b#0", Turns: []retrain.Turn{}}} {
		b, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeResult(b)
		if err != nil {
			t.Fatalf("decodeResult(%s): %v", b, err)
		}
		var want retrain.Trajectory
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(&want, got); d != "" {
			t.Errorf("decodeResult differs from json.Unmarshal (-want +got):\n%s", d)
		}
		if d := cmp.Diff(tr, got); d != "" && tr.Turns != nil && len(tr.Turns) > 0 {
			t.Errorf("decodeResult does not give back what was encoded (-want +got):\n%s", d)
		}
	}
	for _, bad := range []string{
		`{"id":"x","turns":[{"action":{"tokens":{"logprobs":["a"]}}}]}`,
		`{"id":"x","turns":[{"action":{"tokens":{"logprobs":[1,[2]]}}}]}`,
		`{"id":"x","turns":[{"action":{"tokens":{"logprobs":{"a":1}}}}]}`,
		`{"id":"x","turns":[{"action":{"tokens":{"logprobs":[1e999]}}}]}`,
		`{"id":"x","turns":[{"action":{"tokens":{"ids":[1.5]}}}]}`,
		`{"id":"x","turns":[{"prompt_token_ids":[4294967296]}]}`,
		`{"id":"x","turns":[{"prompt_token_ids":[1,]}]}`,
		`{"id":"x"`,
	} {
		if _, err := decodeResult([]byte(bad)); err == nil {
			t.Errorf("decodeResult(%s) succeeded", bad)
		}
	}
}

// decodeResult never accepts what json.Unmarshal refuses, and what it
// accepts it decodes as json.Unmarshal does.
func FuzzDecodeResult(f *testing.F) {
	b, _ := json.Marshal(resultTrajectory())
	f.Add(b)
	f.Add([]byte(`{"id":"x","turns":[{"action":{"tokens":{"logprobs":[ -0.5 , 1E3,2e-2],"ids":[ ]}},"prompt_token_ids":null}]}`))
	f.Add([]byte(`{"id":"x","turns":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeResult(data)
		var want retrain.Trajectory
		wantErr := json.Unmarshal(data, &want)
		if err != nil {
			return // refusing more (null ids) is allowed
		}
		if wantErr != nil {
			t.Fatalf("decodeResult accepted %q, which json.Unmarshal refuses: %v", data, wantErr)
		}
		if d := cmp.Diff(&want, got); d != "" {
			t.Fatalf("decodeResult(%q) differs from json.Unmarshal (-want +got):\n%s", data, d)
		}
	})
}
