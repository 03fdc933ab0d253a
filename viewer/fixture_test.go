package viewer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/rollout"
)

// The fixture: 5 tasks of 4 samples. t0's samples all pass (a zero-variance
// group); t1 is mixed; t2#3 failed (the model server); t3#1 drifted on
// its second turn; t1#0 has two turns with known tokens and log-probs.
const (
	fixtureTasks   = 5
	fixtureSamples = 4
)

// fixtureTokens are the completion tokens of t1#0's first turn.
var fixtureTokens = retrain.Tokens{
	IDs:      []int32{1, 2, 3, 4, 5, 6},
	Text:     []string{"<tool>", `{"name": "calculator", `, `"args": {"expression": "`, "6*7", `"}}`, "</tool>"},
	Logprobs: []float64{-0.0123, -0.2, -0.6931, -2.5, -0.05, -4.75},
}

func ptr[T any](v T) *T { return &v }

// fixtureTrajectory returns sample s of task k of the fixture.
func fixtureTrajectory(k, s int) *retrain.Trajectory {
	task := fmt.Sprintf("t%d", k)
	correct := 0.0
	switch {
	case k == 0, k == 1 && s%2 == 0, k >= 2 && s == 0:
		correct = 1
	}
	t := &retrain.Trajectory{
		ID: fmt.Sprintf("%s#%d", task, s), Task: retrain.Task{ID: task, Prompt: fmt.Sprintf("What is 6*%d?", 7+k), Answer: fmt.Sprint(6 * (7 + k))},
		Sample: s, Env: "calculator", Model: "test-model", Dialect: "smolagent",
		Messages: []retrain.Message{
			{Role: retrain.RoleSystem, Content: "You solve math problems."},
			{Role: retrain.RoleUser, Content: fmt.Sprintf("What is 6*%d?", 7+k)},
			{Role: retrain.RoleAssistant, Content: fmt.Sprintf("<answer>%d</answer>", 6*(7+k)+s)},
		},
		Turns: []retrain.Turn{{
			PromptMessages: 2,
			Action: retrain.Action{Kind: "final_answer", Text: fmt.Sprint(6*(7+k) + s), Raw: fmt.Sprintf("<answer>%d</answer>", 6*(7+k)+s),
				Tokens: &retrain.Tokens{Text: []string{"<answer>", fmt.Sprint(6*(7+k) + s), "</answer>"}, Logprobs: []float64{-0.01, -0.3 * float64(s+1), -0.02}}},
			FinishReason: retrain.FinishStop, Terminated: true, Info: retrain.Info{"step": 1.0},
			ModelSeconds: 0.25, EnvSeconds: 0.001,
		}},
		StopReason: retrain.StopTerminated, PromptTokens: 40, CompletionTokens: 3 + s,
		Timings: retrain.Timings{Total: 0.3 + 0.1*float64(s), Model: 0.25, Env: 0.001},
		Rewards: &retrain.Rewards{
			Turns:   []retrain.TurnReward{{Components: map[string]float64{"correct": correct, "format": 0.1}, Reward: correct + 0.1}},
			Rollout: map[string]float64{"correct": correct},
			Total:   correct + 0.1,
		},
	}
	if k == 1 && s == 0 { // two turns: a tool call with known tokens, then the answer
		t.Messages = []retrain.Message{
			t.Messages[0], t.Messages[1],
			{Role: retrain.RoleAssistant, Content: strings.Join(fixtureTokens.Text, ""), ToolCalls: []retrain.ToolCall{{ID: "call_0", Name: "calculator", Arguments: json.RawMessage(`{"expression":"6*7"}`)}}},
			{Role: retrain.RoleUser, Content: "<result>42</result>"},
			{Role: retrain.RoleAssistant, Content: "<answer>48</answer>"},
		}
		first := retrain.Turn{
			PromptMessages: 2,
			Action: retrain.Action{Kind: "tool_call", Raw: strings.Join(fixtureTokens.Text, ""), Tokens: &fixtureTokens,
				ToolCalls: []retrain.ToolCall{{ID: "call_0", Name: "calculator", Arguments: json.RawMessage(`{"expression":"6*7"}`)}}},
			Observation: retrain.Observation{Kind: "tool_results", ToolResults: []retrain.ToolResult{{CallID: "call_0", Name: "calculator", Output: "42", Success: true}}},
			Info:        retrain.Info{"tool_calls": 1.0}, ModelSeconds: 0.2, EnvSeconds: 0.01,
		}
		t.Turns[0].PromptMessages = 4
		t.Turns[0].PrefixMatch = ptr(true)
		t.Turns = append([]retrain.Turn{first}, t.Turns...)
		t.Rewards.Turns = append([]retrain.TurnReward{{Components: map[string]float64{"correct": 0, "format": 0}}}, t.Rewards.Turns...)
	}
	if k == 3 && s == 1 { // drift on the second turn
		t.Messages = append(t.Messages[:2], retrain.Message{Role: retrain.RoleAssistant, Content: "thinking"}, retrain.Message{Role: retrain.RoleUser, Content: "go on"}, t.Messages[2])
		t.Turns = append([]retrain.Turn{{PromptMessages: 2, Action: retrain.Action{Kind: "text", Raw: "thinking", ParseError: "no answer and no tool call"}}}, t.Turns...)
		t.Turns[1].PromptMessages = 4
		t.Turns[1].PrefixMatch = ptr(false)
		t.TemplateDrift = true
		t.Rewards.Turns = append([]retrain.TurnReward{{Components: map[string]float64{"correct": 0, "format": 0}}}, t.Rewards.Turns...)
	}
	if k == 2 && s == 3 { // an infrastructure failure
		t.Messages, t.Turns, t.Rewards = t.Messages[:2], nil, nil
		t.StopReason, t.Error, t.ErrorCause = retrain.StopError, "model: connection refused\nretried 3 times", retrain.CauseModel
	}
	// GRPO-like advantages: total minus the group mean (t0: all equal).
	if t.Rewards != nil {
		mean := 0.1 + map[int]float64{0: 1, 1: 0.5}[k]
		if k >= 2 {
			mean = 0.1 + 0.25
		}
		t.Rewards.Advantage = ptr(t.Rewards.Total - mean)
	}
	return t
}

// writeFixture writes the fixture's trajectories to a file in dir, with
// the writer the rollout uses, and returns its path.
func writeFixture(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "rollouts.jsonl")
	w, err := rollout.OpenJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := range fixtureTasks {
		for s := range fixtureSamples {
			if err := w.Write(fixtureTrajectory(k, s)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixtureTrainLog is a training log of 12 steps with evaluations at steps
// 0, 5 and 10, and a line of a type the viewer does not know.
func fixtureTrainLog(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"type":"eval","step":0,"split":"held_out","accuracy":0.5,"parse_errors":2,"tasks":200,"n":4,"temperature":1}` + "\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, `{"type":"step","step":%d,"time_s":%g,"reward":%g,"accuracy":%g,"parse_rate":1.0,"kl":%g,"clip_fraction":0.02,"loss":-0.01,"tokens_per_s":5000,"episodes":64,"zero_variance_groups":3,"lr":1e-4,"future_metric":7}`+"\n",
			i, 1.5*float64(i), 0.5+0.03*float64(i), 0.5+0.025*float64(i), 0.001*float64(i))
		if i%5 == 0 {
			fmt.Fprintf(&b, `{"type":"eval","step":%d,"split":"held_out","accuracy":%g,"parse_errors":0,"tasks":200,"n":4,"temperature":1}`+"\n", i, 0.5+0.02*float64(i))
		}
	}
	b.WriteString(`{"type":"checkpoint","step":12,"path":"ckpt/12"}` + "\n")
	path := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// serve opens paths and serves them behind the front door on loopback,
// as retrain view does; it returns the base URL and the server.
func serve(t testing.TB, paths []string, opts *Options) (string, *Server) {
	t.Helper()
	s, err := Open(context.Background(), paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	var front *httpsec.Options
	if opts != nil && opts.Token != "" {
		front = &httpsec.Options{Token: opts.Token, Public: []string{"/health"}}
	}
	ts := httptest.NewServer(httpsec.Handler(s.Handler(), front))
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return ts.URL, s
}

// rowOf returns the row index of the episode with id in s's first file.
func rowOf(t testing.TB, s *Server, id string) int {
	t.Helper()
	for _, e := range s.files[0].ix.rows {
		if e.ID == id {
			return e.Index
		}
	}
	t.Fatalf("no episode %s", id)
	return -1
}
