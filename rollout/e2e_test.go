package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"

	_ "github.com/retrain-rl/retrain/env/toolenv" // registers "calculator"
)

// calcResponder plays the calculator environment's smolagent dialect: it
// calls the calculator on the expression of "What is EXPR?", then answers
// the result.
func calcResponder(req *openaitest.ChatRequest) openaitest.Reply {
	var task string
	for _, m := range req.Messages[1:] {
		if m.Role == "user" && task == "" {
			task = string(m.Content)
		}
		if r, ok := strings.CutPrefix(string(m.Content), "<result>"); ok {
			return openaitest.Reply{Content: "<answer>" + strings.TrimSuffix(r, "</result>") + "</answer>"}
		}
	}
	expr := strings.TrimSuffix(strings.TrimPrefix(task, "What is "), "?")
	args, _ := json.Marshal(map[string]string{"expression": expr})
	return openaitest.Reply{Content: `<tool>{"name": "calculator", "args": ` + string(args) + `}</tool>`}
}

// Whole episodes of the real calculator environment through the real
// OpenAI client and the fake server, written to a file.
// calculatorRun starts a fake server with so, a real client of it with co
// (its BaseURL and Model filled in), the calculator environment, and a
// JSONL writer to a file named name in a temporary directory; all are
// released when the test ends.
func calculatorRun(t *testing.T, so *openaitest.Options, co openai.Options, name string) (*openai.Client, env.Factory, *JSONLWriter, string) {
	t.Helper()
	srv := openaitest.NewServer(so)
	t.Cleanup(srv.Close)
	co.BaseURL, co.Model = srv.URL, openaitest.DefaultModel
	client, err := openai.New(&co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	f, err := env.New("calculator", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	path := filepath.Join(t.TempDir(), name)
	w, err := OpenJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return client, f, w, path
}

func TestEndToEndCalculator(t *testing.T) {
	client, f, w, path := calculatorRun(t, &openaitest.Options{Responder: calcResponder}, openai.Options{ReturnTokenIDs: true}, "out.jsonl")
	tasks := ArithmeticTasks(6, 1)
	sum, err := NewRunner(f, client, &RunnerOptions{N: 2, Concurrency: 4, Sink: w,
		Episode: Options{EnvName: "calculator", ModelName: openaitest.DefaultModel}}).Run(context.Background(), tasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if sum.Succeeded != 12 || sum.TemplateDrift != 0 {
		t.Fatalf("summary:\n%s", sum)
	}
	for _, tr := range readLines(t, path) {
		if tr.Dialect != "smolagent" {
			t.Errorf("%s: dialect %q, want the calculator's smolagent", tr.ID, tr.Dialect)
		}
		if tr.StopReason != retrain.StopTerminated || len(tr.Turns) != 2 {
			t.Errorf("%s: stop %q after %d turns (%s)", tr.ID, tr.StopReason, len(tr.Turns), tr.Error)
			continue
		}
		call, answer := tr.Turns[0], tr.Turns[1]
		if call.Action.Kind != retrain.ActionToolCall || call.Observation.ToolResults[0].Output != tr.Task.Answer {
			t.Errorf("%s: first turn %+v", tr.ID, call)
		}
		if answer.Action.Text != tr.Task.Answer {
			t.Errorf("%s: answered %q, want %q", tr.ID, answer.Action.Text, tr.Task.Answer)
		}
		// The fake server's tokenizer is prefix-stable: the check runs and passes.
		if answer.PrefixMatch == nil || !*answer.PrefixMatch {
			t.Errorf("%s: PrefixMatch %v, want true", tr.ID, answer.PrefixMatch)
		}
		if tk := call.Action.Tokens; tk.Len() == 0 || len(tk.IDs) != tk.Len() || len(tk.Logprobs) != tk.Len() {
			t.Errorf("%s: tokens %+v", tr.ID, tk)
		}
		var roles []string
		for _, m := range tr.Messages {
			roles = append(roles, string(m.Role))
		}
		if got := strings.Join(roles, ","); !strings.HasPrefix(got, "system,user,assistant,user,assistant") {
			t.Errorf("%s: conversation roles %s", tr.ID, got)
		}
		// Tool specs are kept once, in the initial observation.
		if len(tr.InitialObservation.Tools) != 1 || call.Observation.Tools != nil || answer.Observation.Tools != nil {
			t.Errorf("%s: tools initial %d, per turn %d/%d; want 1 and none repeated", tr.ID,
				len(tr.InitialObservation.Tools), len(call.Observation.Tools), len(answer.Observation.Tools))
		}
		if tr.Turns[1].PromptMessages != 4 {
			t.Errorf("%s: second prompt of %d messages, want 4", tr.ID, tr.Turns[1].PromptMessages)
		}
		if tr.Timings.Total <= 0 || tr.Timings.Model <= 0 {
			t.Errorf("%s: timings %+v", tr.ID, tr.Timings)
		}
	}
}

// An empty completion stays empty in the conversation: the assistant
// message holds exactly what the model wrote (nothing), not a rendering of
// an empty answer.
func TestEndToEndEmptyCompletion(t *testing.T) {
	responder := func(req *openaitest.ChatRequest) openaitest.Reply {
		for _, m := range req.Messages {
			if m.Role == "assistant" {
				return calcResponder(req)
			}
		}
		return openaitest.Reply{Content: ""}
	}
	client, f, w, path := calculatorRun(t, &openaitest.Options{Responder: responder}, openai.Options{ReturnTokenIDs: true}, "out.jsonl")
	sum, err := NewRunner(f, client, &RunnerOptions{N: 1, Sink: w,
		Episode: Options{EnvName: "calculator", ModelName: openaitest.DefaultModel}}).Run(context.Background(), ArithmeticTasks(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	trs := readLines(t, path)
	if len(trs) != 1 || sum.TemplateDrift != 0 {
		t.Fatalf("%d trajectories, summary:\n%s", len(trs), sum)
	}
	tr := trs[0]
	if len(tr.Turns) != 3 || tr.Turns[0].Action.Raw != "" || tr.Turns[0].Action.ParseError == "" {
		t.Fatalf("turns %+v, want an empty completion (a parse error) then a call and an answer", tr.Turns)
	}
	if m := tr.Messages[2]; m.Role != retrain.RoleAssistant || m.Content != "" || len(m.ToolCalls) != 0 {
		t.Errorf("assistant message of the empty completion = %+v, want empty content", m)
	}
	// The empty turn has no completion ids to check the next prompt against;
	// the answer's prompt extends the call's.
	if pm := tr.Turns[2].PrefixMatch; pm == nil || !*pm {
		t.Errorf("answer turn: PrefixMatch %v, want true", pm)
	}
}

// A failing server gives failed records with cause model. A 503 (the
// server may recover) is retried; a 400 (the same request fails again) is not.
func TestEndToEndServerErrors(t *testing.T) {
	for _, tt := range []struct {
		status, attempts int
	}{{503, 2}, {400, 1}} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
				return openaitest.Reply{Error: &openaitest.ErrorReply{Status: tt.status, Message: "nope"}}
			}})
			defer srv.Close()
			client, err := openai.New(&openai.Options{BaseURL: srv.URL, Model: openaitest.DefaultModel, MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer client.CloseIdleConnections()
			f, _ := env.New("calculator", nil)
			defer f.Close()
			sink := &memSink{}
			sum, err := NewRunner(f, client, &RunnerOptions{Retries: 1, RetryBackoff: 1, Sink: sink}).Run(context.Background(), ArithmeticTasks(2, 1))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failures[retrain.CauseModel] != 2 || sum.Retries != 2*(tt.attempts-1) || srv.Requests() != 2*tt.attempts {
				t.Errorf("summary %+v, %d requests", sum, srv.Requests())
			}
			for _, tr := range sink.ts {
				if !strings.Contains(tr.Error, "nope") || tr.Attempts != tt.attempts {
					t.Errorf("%s: error %q, attempts %d; want %d", tr.ID, tr.Error, tr.Attempts, tt.attempts)
				}
			}
		})
	}
}
