package toolenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/env/toolenv"
	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/calculator"
)

func mustDialect(t testing.TB, name string) dialect.Dialect {
	t.Helper()
	d, err := dialect.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type echoArgs struct {
	Text string `json:"text"`
}

// testTools are the calculator, "echo" (returns its text), "fail" (always a
// tool error) and "count" (counts its calls).
type testTools struct {
	calls atomic.Int64
}

func (tt *testTools) provider() tool.Provider {
	echo := tool.MustFunc("echo", "Returns its text.", func(_ context.Context, in echoArgs) (string, error) {
		return in.Text, nil
	}, nil)
	fail := tool.MustFunc("fail", "Always fails.", func(_ context.Context, in struct{}) (string, error) {
		return "", tool.Errorf("the service is down; try later")
	}, nil)
	count := tool.MustFunc("count", "Counts its calls.", func(_ context.Context, in echoArgs) (string, error) {
		return fmt.Sprint(tt.calls.Add(1)), nil
	}, nil)
	return tool.Static(calculator.New(), echo, fail, count)
}

func newEnv(t *testing.T, opts *toolenv.Options) *toolenv.Env {
	t.Helper()
	e := toolenv.New(opts)
	t.Cleanup(func() { e.Close() })
	if err := e.Setup(t.Context()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return e
}

func reset(t *testing.T, e retrain.Environment, prompt string) retrain.Observation {
	t.Helper()
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: prompt, Answer: "5"}})
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	return obs
}

// step parses text (and native calls) with the env's dialect and steps.
func step(t *testing.T, e *toolenv.Env, text string, native ...retrain.ToolCall) retrain.Step {
	t.Helper()
	s, err := e.Step(t.Context(), e.Dialect().Parse(text, native))
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	return s
}

func call(id, name, args string) retrain.ToolCall {
	return retrain.ToolCall{ID: id, Name: name, Arguments: json.RawMessage(args)}
}

func exactAnswer(task retrain.Task, answer string) float64 {
	if answer == task.Answer {
		return 1
	}
	return 0
}

// smolActions drives a calculator episode in the smolagent dialect: one
// calculator call, then the answer.
func smolActions(obs retrain.Observation) retrain.Action {
	d := dialect.SmolAgent()
	if obs.Kind == retrain.ObsInitial {
		return d.Parse(`<tool>{"name": "calculator", "args": {"expression": "2+3"}}</tool>`, nil)
	}
	return d.Parse("<answer>5</answer>", nil)
}

func TestConformance(t *testing.T) {
	task := retrain.Task{ID: "add", Prompt: "What is 2+3?", Answer: "5"}
	t.Run("smolagent", func(t *testing.T) {
		envtest.Run(t, func() retrain.Environment {
			return toolenv.New(&toolenv.Options{
				Providers:    []tool.Provider{tool.Static(calculator.New())},
				AnswerReward: exactAnswer,
			})
		}, &envtest.Options{Task: task, Actions: smolActions})
	})
	t.Run("native", func(t *testing.T) {
		d := dialect.Native()
		f := toolenv.NewFactory(&toolenv.Options{Providers: []tool.Provider{tool.Static(calculator.New())}, Dialect: d})
		defer f.Close()
		envtest.RunFactory(t, f, &envtest.Options{Task: task, Actions: func(obs retrain.Observation) retrain.Action {
			if obs.Kind == retrain.ObsInitial {
				return d.Parse("", []retrain.ToolCall{call("c1", "calculator", `{"expression": "2+3"}`)})
			}
			return d.Parse("5", nil)
		}})
	})
	t.Run("truncated", func(t *testing.T) {
		envtest.Run(t, func() retrain.Environment {
			return toolenv.New(&toolenv.Options{Providers: []tool.Provider{tool.Static(calculator.New())}, MaxSteps: 3})
		}, &envtest.Options{Task: task, Actions: func(retrain.Observation) retrain.Action {
			return dialect.SmolAgent().Parse("I will not follow the format.", nil)
		}})
	})
	t.Run("registered calculator", func(t *testing.T) {
		f, err := env.New(toolenv.CalculatorName, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		envtest.RunFactory(t, f, &envtest.Options{Task: task, Actions: smolActions})
	})
}

func TestSmolAgentEpisode(t *testing.T) {
	e := newEnv(t, &toolenv.Options{
		Providers:    []tool.Provider{(&testTools{}).provider()},
		SystemPrompt: "You add numbers.",
		AnswerReward: exactAnswer,
	})
	obs := reset(t, e, "What is 2+3?")
	if obs.Kind != retrain.ObsInitial || !obs.RequiresAction || len(obs.Tools) != 4 {
		t.Fatalf("initial observation: kind %q, requires action %v, %d tools", obs.Kind, obs.RequiresAction, len(obs.Tools))
	}
	if len(obs.Messages) != 2 || obs.Messages[0].Role != "system" || obs.Messages[1].Content != "What is 2+3?" {
		t.Fatalf("initial messages = %+v", obs.Messages)
	}
	sys := obs.Messages[0].Content
	if want := "You add numbers.\n\n" + strings.TrimSpace(dialect.SmolAgent().SystemPrompt(obs.Tools)); sys != want {
		t.Errorf("system prompt =\n%s\nwant the configured prompt, a blank line, then the dialect's:\n%s", sys, want)
	}

	// Turn 1: two calls in one turn.
	turn1 := `<think>add, then echo</think>
<tool>{"name": "calculator", "args": {"expression": "2+3"}}</tool>
<tool>{"name": "echo", "args": {"text": "a<b"}}</tool>`
	s := step(t, e, turn1)
	if s.Done() || !s.Observation.RequiresAction || s.Reward != 0 {
		t.Errorf("turn 1: done %v, requires action %v, reward %v", s.Done(), s.Observation.RequiresAction, s.Reward)
	}
	if s.Observation.Kind != retrain.ObsToolResult {
		t.Errorf("turn 1 kind = %q", s.Observation.Kind)
	}
	wantResults := []retrain.ToolResult{
		{CallID: "call_0", Name: "calculator", Output: "5", Success: true},
		{CallID: "call_1", Name: "echo", Output: "a<b", Success: true},
	}
	if diff := cmp.Diff(wantResults, s.Observation.ToolResults); diff != "" {
		t.Errorf("turn 1 results (-want +got):\n%s", diff)
	}
	msgs := s.Observation.Messages
	if len(msgs) != 4 {
		t.Fatalf("turn 1: %d messages, want 4", len(msgs))
	}
	if msgs[2].Role != "assistant" || msgs[2].Content != turn1 {
		t.Errorf("assistant message = %+v, want the raw output", msgs[2])
	}
	wantResult := retrain.Message{Role: "user", Content: "<result>5</result>\n<result>a&lt;b</result>"}
	if diff := cmp.Diff(wantResult, msgs[3]); diff != "" {
		t.Errorf("result message (-want +got):\n%s", diff)
	}
	if s.Observation.Content != wantResult.Content {
		t.Errorf("observation content = %q, want the result message's", s.Observation.Content)
	}
	if s.Info["tool_calls"] != 2 || s.Info["tool_errors"] != 0 || s.Info["parse_error"] != false {
		t.Errorf("turn 1 info = %v", s.Info)
	}

	// Turn 2: a failing tool is a tool error, not an invalid action.
	s = step(t, e, `<tool>{"name": "fail", "args": {}}</tool>`)
	if s.Reward != 0 {
		t.Errorf("a tool error was penalised: reward %v", s.Reward)
	}
	r := s.Observation.ToolResults[0]
	if r.Success || r.CallID != "call_2_0" || !strings.Contains(r.Error, "the service is down") {
		t.Errorf("turn 2 result = %+v; want a failure with a fresh id call_2_0", r)
	}
	if got := s.Observation.Messages[5].Content; got != `<result>Error: tool "fail": the service is down; try later</result>` {
		t.Errorf("failed result message = %q", got)
	}
	if s.Info["tool_errors"] != 1 || s.Info["invalid_calls"] != 0 {
		t.Errorf("turn 2 info = %v", s.Info)
	}

	// Turn 3: the answer.
	s = step(t, e, "<answer>5</answer>")
	if !s.Terminated || s.Truncated || s.Reward != 1 || s.Observation.RequiresAction {
		t.Errorf("answer: terminated %v truncated %v reward %v requires action %v", s.Terminated, s.Truncated, s.Reward, s.Observation.RequiresAction)
	}
	if s.Observation.Kind != retrain.ObsFinalAnswerFeedback {
		t.Errorf("answer kind = %q", s.Observation.Kind)
	}
	if n := len(s.Observation.Messages); n != 7 || s.Observation.Messages[6].Content != "<answer>5</answer>" {
		t.Errorf("final conversation has %d messages; last = %+v", n, s.Observation.Messages[n-1])
	}
	if _, err := e.Step(t.Context(), e.Dialect().Parse("<answer>5</answer>", nil)); !errors.Is(err, retrain.ErrEpisodeDone) {
		t.Errorf("Step after the answer: err = %v", err)
	}
}

func TestNativeEpisode(t *testing.T) {
	e := newEnv(t, &toolenv.Options{
		Providers: []tool.Provider{(&testTools{}).provider()},
		Dialect:   mustDialect(t, "native"),
	})
	obs := reset(t, e, "What is 2+3?")
	if len(obs.Tools) != 4 {
		t.Errorf("native observation offers %d tools, want 4", len(obs.Tools))
	}

	s := step(t, e, "", call("abc", "calculator", `{"expression": "2+3"}`), call("def", "echo", `{"text": "hi"}`))
	want := []retrain.Message{
		{Role: "tool", Content: "5", ToolCallID: "abc", Name: "calculator"},
		{Role: "tool", Content: "hi", ToolCallID: "def", Name: "echo"},
	}
	if diff := cmp.Diff(want, s.Observation.Messages[len(s.Observation.Messages)-2:]); diff != "" {
		t.Errorf("tool messages (-want +got):\n%s", diff)
	}
	asst := s.Observation.Messages[len(s.Observation.Messages)-3]
	if asst.Role != "assistant" || len(asst.ToolCalls) != 2 || asst.ToolCalls[0].ID != "abc" || asst.ToolCalls[1].ID != "def" {
		t.Errorf("assistant message = %+v; want the native calls with their ids", asst)
	}

	// The server reuses an id: it is renamed in both the assistant message
	// and the result so that they still correlate.
	s = step(t, e, "", call("abc", "echo", `{"text": "again"}`))
	msgs := s.Observation.Messages
	asst, res := msgs[len(msgs)-2], msgs[len(msgs)-1]
	if asst.ToolCalls[0].ID != "call_2_0" || res.ToolCallID != "call_2_0" || s.Observation.ToolResults[0].CallID != "call_2_0" {
		t.Errorf("repeated id: assistant call id %q, tool message id %q, result id %q; want call_2_0 everywhere",
			asst.ToolCalls[0].ID, res.ToolCallID, s.Observation.ToolResults[0].CallID)
	}

	s = step(t, e, "The answer is 5.")
	if !s.Terminated || msgs[len(msgs)-1].Role != "tool" || s.Observation.Messages[len(s.Observation.Messages)-1].Content != "The answer is 5." {
		t.Errorf("native answer: terminated %v, last message %+v", s.Terminated, s.Observation.Messages[len(s.Observation.Messages)-1])
	}
}

func TestInvalidActions(t *testing.T) {
	tests := []struct {
		name        string
		penalty     *float64
		text        string
		wantReward  float64
		wantKind    retrain.ObservationKind
		wantContent string // in the last message
		wantParse   bool
		wantInvalid int
	}{
		{
			name:        "parse error",
			text:        "The answer is 5",
			wantReward:  toolenv.DefaultInvalidActionPenalty,
			wantKind:    retrain.ObsEnvironmentState,
			wantContent: "found neither a <tool> block nor an <answer> block",
			wantParse:   true,
		},
		{
			name:        "unclosed answer",
			text:        "<answer>5",
			wantReward:  toolenv.DefaultInvalidActionPenalty,
			wantKind:    retrain.ObsEnvironmentState,
			wantContent: "format described in the system prompt",
			wantParse:   true,
		},
		{
			name:        "unknown tool",
			text:        `<tool>{"name": "weather", "args": {}}</tool>`,
			wantReward:  toolenv.DefaultInvalidActionPenalty,
			wantKind:    retrain.ObsToolResult,
			wantContent: `<result>Error: unknown tool "weather"; available tools: calculator, echo, fail, count</result>`,
			wantInvalid: 1,
		},
		{
			name:        "invalid arguments",
			text:        `<tool>{"name": "count", "args": {"txt": "x"}}</tool>`,
			wantReward:  toolenv.DefaultInvalidActionPenalty,
			wantKind:    retrain.ObsToolResult,
			wantContent: `invalid arguments`,
			wantInvalid: 1,
		},
		{
			name:        "penalty once per step",
			text:        `<tool>{"name": "weather", "args": {}}</tool><tool>{"name": "calculator", "args": {}}</tool>`,
			wantReward:  toolenv.DefaultInvalidActionPenalty,
			wantKind:    retrain.ObsToolResult,
			wantContent: `missing required property`,
			wantInvalid: 2,
		},
		{
			name:        "configured penalty",
			penalty:     new(-0.5),
			text:        "no tags",
			wantReward:  -0.5,
			wantKind:    retrain.ObsEnvironmentState,
			wantContent: "could not be used",
			wantParse:   true,
		},
		{
			name:        "no penalty",
			penalty:     new(0.0),
			text:        `<tool>{"name": "weather", "args": {}}</tool>`,
			wantKind:    retrain.ObsToolResult,
			wantContent: `unknown tool`,
			wantInvalid: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools := &testTools{}
			e := newEnv(t, &toolenv.Options{Providers: []tool.Provider{tools.provider()}, InvalidActionPenalty: tt.penalty})
			reset(t, e, "task")
			s := step(t, e, tt.text)
			if s.Reward != tt.wantReward {
				t.Errorf("reward = %v, want %v", s.Reward, tt.wantReward)
			}
			if s.Done() || !s.Observation.RequiresAction {
				t.Errorf("an invalid action ended the episode (done %v, requires action %v)", s.Done(), s.Observation.RequiresAction)
			}
			if s.Observation.Kind != tt.wantKind {
				t.Errorf("kind = %q, want %q", s.Observation.Kind, tt.wantKind)
			}
			msgs := s.Observation.Messages
			if len(msgs) != 4 || msgs[2].Content != tt.text || msgs[3].Role != "user" {
				t.Fatalf("want the raw output then one user message; got %+v", msgs)
			}
			if !strings.Contains(msgs[3].Content, tt.wantContent) {
				t.Errorf("feedback %q lacks %q", msgs[3].Content, tt.wantContent)
			}
			if s.Info["parse_error"] != tt.wantParse || s.Info["invalid_calls"] != tt.wantInvalid {
				t.Errorf("info = %v; want parse_error %v, invalid_calls %d", s.Info, tt.wantParse, tt.wantInvalid)
			}
			if n := tools.calls.Load(); n != 0 {
				t.Errorf("the count tool ran %d times on invalid arguments", n)
			}
			// The episode goes on.
			if s := step(t, e, "<answer>5</answer>"); !s.Terminated {
				t.Error("the answer after an invalid action did not terminate the episode")
			}
		})
	}
}

func TestEmptyToolCall(t *testing.T) {
	e := newEnv(t, &toolenv.Options{Providers: []tool.Provider{(&testTools{}).provider()}})
	reset(t, e, "task")
	s, err := e.Step(t.Context(), retrain.Action{Kind: retrain.ActionToolCall, Raw: "<tool></tool>"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Reward != toolenv.DefaultInvalidActionPenalty || s.Info["parse_error"] != true {
		t.Errorf("a tool call without calls: reward %v, info %v", s.Reward, s.Info)
	}
}

func TestMaxStepsTruncates(t *testing.T) {
	e := newEnv(t, &toolenv.Options{Providers: []tool.Provider{(&testTools{}).provider()}, MaxSteps: 2})
	reset(t, e, "task")
	s := step(t, e, `<tool>{"name": "echo", "args": {"text": "1"}}</tool>`)
	if s.Done() {
		t.Fatal("step 1 of 2 ended the episode")
	}
	s = step(t, e, `<tool>{"name": "echo", "args": {"text": "2"}}</tool>`)
	if !s.Truncated || s.Terminated || s.Observation.RequiresAction {
		t.Errorf("step 2 of 2: truncated %v, terminated %v, requires action %v", s.Truncated, s.Terminated, s.Observation.RequiresAction)
	}
	if len(s.Observation.ToolResults) != 1 || s.Observation.ToolResults[0].Output != "2" {
		t.Errorf("the last step's tool still runs; results = %+v", s.Observation.ToolResults)
	}
	if _, err := e.Step(t.Context(), e.Dialect().Parse("<answer>2</answer>", nil)); !errors.Is(err, retrain.ErrEpisodeDone) {
		t.Errorf("Step after truncation: err = %v", err)
	}
	if obs := reset(t, e, "again"); len(obs.Messages) != 2 {
		t.Errorf("Reset after truncation: %d messages", len(obs.Messages))
	}
	if s := step(t, e, "<answer>x</answer>"); !s.Terminated {
		t.Error("the step counter was not reset")
	}
}

// blocker is a tool that waits for its context to end, after calling
// onCall.
func blocker(onCall func()) tool.Tool {
	return tool.MustFunc("block", "Waits.", func(ctx context.Context, in struct{}) (string, error) {
		onCall()
		<-ctx.Done()
		return "", ctx.Err()
	}, nil)
}

func TestCancelDuringToolCall(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e := newEnv(t, &toolenv.Options{Providers: []tool.Provider{tool.Static(blocker(cancel), calculator.New())}})
	reset(t, e, "task")
	step(t, e, `<tool>{"name": "calculator", "args": {"expression": "1+1"}}</tool>`)
	before, _ := e.Render()

	_, err := e.Step(ctx, e.Dialect().Parse(`<tool>{"name": "calculator", "args": {"expression": "1"}}</tool><tool>{"name": "block", "args": {}}</tool>`, nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Step cancelled during a tool call: err = %v, want context.Canceled", err)
	}
	if after, _ := e.Render(); after != before {
		t.Errorf("a cancelled step changed the conversation:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The episode goes on as if the cancelled step never happened: same
	// turn number in the call ids.
	s := step(t, e, `<tool>{"name": "calculator", "args": {"expression": "2"}}</tool>`)
	if s.Info["step"] != 2 || s.Observation.ToolResults[0].CallID != "call_2_0" {
		t.Errorf("after the cancelled step: info step %v, call id %q; want 2 and call_2_0", s.Info["step"], s.Observation.ToolResults[0].CallID)
	}
}

func TestToolTimeout(t *testing.T) {
	e := newEnv(t, &toolenv.Options{
		Providers:   []tool.Provider{tool.Static(blocker(func() {}))},
		ToolTimeout: 20 * time.Millisecond,
	})
	reset(t, e, "task")
	s := step(t, e, `<tool>{"name": "block", "args": {}}</tool>`)
	r := s.Observation.ToolResults[0]
	if r.Success || !strings.Contains(r.Error, "timed out") {
		t.Errorf("result = %+v; want a timeout", r)
	}
	if s.Reward != 0 || s.Info["invalid_calls"] != 0 {
		t.Errorf("a timeout is a tool error, not an invalid action: reward %v, info %v", s.Reward, s.Info)
	}
}

// countingProvider counts Tools calls and fails the first failures ones.
type countingProvider struct {
	calls    atomic.Int64
	failures int64
}

func (p *countingProvider) Tools(ctx context.Context) ([]tool.Tool, error) {
	if p.calls.Add(1) <= p.failures {
		return nil, errors.New("server not ready")
	}
	return []tool.Tool{calculator.New()}, nil
}

func TestFactorySharesTools(t *testing.T) {
	p := &countingProvider{failures: 1}
	f := toolenv.NewFactory(&toolenv.Options{Providers: []tool.Provider{p}})
	defer f.Close()

	first, err := f.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if err := first.Setup(t.Context()); err == nil || !strings.Contains(err.Error(), "server not ready") {
		t.Fatalf("Setup with a failing provider: err = %v", err)
	}

	var wg sync.WaitGroup
	envs := make([]retrain.Environment, 8)
	for i := range envs {
		e, err := f.NewEnv()
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = e
		wg.Go(func() {
			if err := e.Setup(t.Context()); err != nil {
				t.Errorf("Setup: %v", err)
				return
			}
			if obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "x"}}); err != nil || len(obs.Tools) != 1 {
				t.Errorf("Reset: %d tools, %v", len(obs.Tools), err)
			}
		})
	}
	wg.Wait()
	for _, e := range envs {
		e.Close()
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider asked %d times; want 2 (one failure, then one success shared by all)", n)
	}
	if _, ok := envs[0].(env.DialectEnv); !ok {
		t.Error("the factory's environments do not implement env.DialectEnv")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := f.NewEnv(); !errors.Is(err, retrain.ErrClosed) {
		t.Errorf("NewEnv after Close: err = %v", err)
	}
}

func TestSetupWaitHonoursContext(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	slow := providerFunc(func(ctx context.Context) ([]tool.Tool, error) {
		close(started)
		<-release
		return nil, nil
	})
	f := toolenv.NewFactory(&toolenv.Options{Providers: []tool.Provider{slow}})
	defer f.Close()
	a, _ := f.NewEnv()
	b, _ := f.NewEnv()
	done := make(chan error, 1)
	go func() { done <- a.Setup(t.Context()) }()
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Setup(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Setup waiting for another's collection with a cancelled context: err = %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("first Setup: %v", err)
	}
}

type providerFunc func(ctx context.Context) ([]tool.Tool, error)

func (f providerFunc) Tools(ctx context.Context) ([]tool.Tool, error) { return f(ctx) }

func TestResetWithoutSetup(t *testing.T) {
	e := toolenv.New(&toolenv.Options{Providers: []tool.Provider{tool.Static(calculator.New())}})
	defer e.Close()
	if len(e.Tools()) != 0 {
		t.Error("tools before Setup")
	}
	obs := reset(t, e, "x")
	if len(obs.Tools) != 1 || len(e.Tools()) != 1 {
		t.Errorf("Reset without Setup: %d tools", len(obs.Tools))
	}
}

func TestNoTools(t *testing.T) {
	e := newEnv(t, nil)
	obs := reset(t, e, "hello")
	if len(obs.Tools) != 0 || e.Dialect().Name() != toolenv.DefaultDialect {
		t.Errorf("defaults: %d tools, dialect %q", len(obs.Tools), e.Dialect().Name())
	}
	if !strings.Contains(obs.Messages[0].Content, "No tools are available") {
		t.Errorf("system prompt without tools = %q", obs.Messages[0].Content)
	}
}

func TestRender(t *testing.T) {
	e := newEnv(t, &toolenv.Options{Providers: []tool.Provider{tool.Static(calculator.New())}, Dialect: mustDialect(t, "native")})
	if _, err := e.Render(); !errors.Is(err, retrain.ErrNotReset) {
		t.Errorf("Render before Reset: err = %v", err)
	}
	reset(t, e, "What is 2+3?")
	step(t, e, "", call("c1", "calculator", `{"expression": "2+3"}`))
	got, err := e.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"=== user ===\nWhat is 2+3?\n",
		`-> calculator {"expression":"2+3"} [c1]`,
		"=== tool calculator (c1) ===\n5\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Render output lacks %q:\n%s", want, got)
		}
	}
}

func TestRegisteredConfig(t *testing.T) {
	tests := []struct {
		name, env, config string
		wantErr           string
		wantTools         []string
		wantDialect       string
		wantPrompt        string
	}{
		{name: "tool defaults", env: "tool", wantTools: []string{"calculator"}, wantDialect: "smolagent"},
		{name: "tool subset", env: "tool", config: `{"tools": ["calculator"], "dialect": "hermes", "system_prompt": "Be exact.", "max_steps": 3, "invalid_action_penalty": 0, "tool_timeout": "5s"}`,
			wantTools: []string{"calculator"}, wantDialect: "hermes", wantPrompt: "Be exact."},
		{name: "calculator", env: "calculator", wantTools: []string{"calculator"}, wantDialect: "smolagent", wantPrompt: toolenv.CalculatorPrompt},
		{name: "calculator native", env: "calculator", config: `{"dialect": "native"}`, wantTools: []string{"calculator"}, wantDialect: "native", wantPrompt: toolenv.CalculatorPrompt},
		{name: "unknown tool", env: "tool", config: `{"tools": ["calculator", "weather"]}`, wantErr: `config key "tools": unknown tool "weather"; available tools: calculator`},
		{name: "unknown dialect", env: "tool", config: `{"dialect": "klingon"}`, wantErr: `config key "dialect": dialect: unknown dialect "klingon"; known dialects: hermes`},
		{name: "negative max steps", env: "calculator", config: `{"max_steps": -1}`, wantErr: `"max_steps" is -1`},
		{name: "calculator takes no tools", env: "calculator", config: `{"tools": []}`, wantErr: `unknown config key "tools"; allowed keys: dialect, system_prompt, max_steps, invalid_action_penalty, tool_timeout`},
		{name: "unknown key", env: "tool", config: `{"maxsteps": 3}`, wantErr: `allowed keys: tools, mcp, dialect, system_prompt, max_steps, invalid_action_penalty, tool_timeout`},
		{name: "bad timeout", env: "tool", config: `{"tool_timeout": "later"}`, wantErr: `invalid duration "later"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := env.New(tt.env, json.RawMessage(tt.config))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			re, err := f.NewEnv()
			if err != nil {
				t.Fatal(err)
			}
			defer re.Close()
			e := re.(env.DialectEnv)
			obs := reset(t, e, "2+3?")
			var names []string
			for _, s := range obs.Tools {
				names = append(names, s.Name)
			}
			// tool.Default holds what the test binary imports; the
			// calculator is among it.
			for _, want := range tt.wantTools {
				if !strings.Contains(strings.Join(names, ","), want) {
					t.Errorf("tools = %v, want %v among them", names, tt.wantTools)
				}
			}
			if e.Dialect().Name() != tt.wantDialect {
				t.Errorf("dialect = %q, want %q", e.Dialect().Name(), tt.wantDialect)
			}
			if !strings.HasPrefix(obs.Messages[0].Content, tt.wantPrompt) {
				t.Errorf("system prompt does not start with %q:\n%s", tt.wantPrompt, obs.Messages[0].Content)
			}
		})
	}
}

func TestRegisteredConfigApplies(t *testing.T) {
	f, err := env.New("tool", json.RawMessage(`{"tools": ["calculator"], "max_steps": 1, "invalid_action_penalty": -1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re, _ := f.NewEnv()
	defer re.Close()
	e := re.(*toolenv.Env)
	reset(t, e, "x")
	s := step(t, e, "no format")
	if s.Reward != -1 || !s.Truncated {
		t.Errorf("max_steps 1 and penalty -1: reward %v, truncated %v", s.Reward, s.Truncated)
	}
}
