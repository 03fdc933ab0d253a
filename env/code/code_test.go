package code_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/code"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/internal/proctree"
	"github.com/retrain-rl/retrain/reward/codetest"
	"github.com/retrain-rl/retrain/sandbox"
)

// addTask is a HumanEval-layout task.
var addTask = retrain.Task{ID: "add", Prompt: "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n", Metadata: map[string]any{
	"task_id": "Test/0", "entry_point": "add",
	"test": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n",
}}

// sumTask is a stdin/stdout task.
var sumTask = retrain.Task{ID: "sum", Prompt: "Read two integers and print their sum.", Metadata: map[string]any{
	"inputs": []any{"1 2\n", "5 7\n"}, "outputs": []any{"3\n", "12\n"},
}}

func newFactory(t *testing.T, config string) env.Factory {
	t.Helper()
	f, err := env.New(code.Name, json.RawMessage(config))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func text(s string) retrain.Action { return retrain.Action{Kind: retrain.ActionText, Text: s, Raw: s} }

func TestConformance(t *testing.T) {
	f := newFactory(t, `{}`)
	envtest.RunFactory(t, f, &envtest.Options{Task: addTask, Actions: func(retrain.Observation) retrain.Action {
		return text("```python\ndef add(a, b):\n    return a + b\n```")
	}})
}

// TestConformanceMultiTurn runs the suite on a stateful multi-turn
// configuration: each episode calls the python tool (which starts its
// interpreter), then answers; Close and Reset end the interpreter.
func TestConformanceMultiTurn(t *testing.T) {
	f := newFactory(t, `{"max_turns": 3, "stateful": true}`)
	envtest.RunFactory(t, f, &envtest.Options{Task: addTask, Actions: func(obs retrain.Observation) retrain.Action {
		if obs.Kind != retrain.ObsToolResult {
			return retrain.Action{Kind: retrain.ActionToolCall, Raw: "call",
				ToolCalls: []retrain.ToolCall{{ID: "c1", Name: "python", Arguments: json.RawMessage(`{"code": "x = 1"}`)}}}
		}
		return text("```python\ndef add(a, b):\n    return a + b\n```")
	}})
}

func TestSingleTurn(t *testing.T) {
	f := newFactory(t, `{}`)
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		task   retrain.Task
		reply  string
		reward float64
		result string
	}{
		{"function, fenced", addTask, "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```", 1, "passed"},
		{"function, body only", addTask, "    return b + a\n", 1, "passed"},
		{"function, wrong", addTask, "```python\ndef add(a, b):\n    return a - b\n```", 0, "failed: AssertionError"},
		{"stdio", sumTask, "```python\nprint(sum(map(int, input().split())))\n```", 1, "passed"},
		{"stdio, wrong", sumTask, "```python\nprint(3)\n```", 0, "failed: test 2: wrong output"},
		{"no code", sumTask, "I don't know.", 0, "failed: test 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := f.NewEnv()
			defer e.Close()
			obs, info, err := e.Reset(ctx, retrain.ResetOptions{Task: tt.task})
			if err != nil {
				t.Fatal(err)
			}
			if len(obs.Tools) != 0 || !strings.Contains(obs.Content, "```python") && tt.task.ID == "add" {
				t.Errorf("single-turn opening: tools %v, content %q", obs.Tools, obs.Content)
			}
			if info["layout"] == nil {
				t.Errorf("info %v lacks the layout", info)
			}
			a := e.(env.DialectEnv).Dialect().Parse(tt.reply, nil)
			step, err := e.Step(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if !step.Terminated || step.Reward != tt.reward || !strings.HasPrefix(step.Info["result"].(string), tt.result) {
				t.Errorf("reward %v, info %v; want %v and %q", step.Reward, step.Info, tt.reward, tt.result)
			}
		})
	}
}

func TestFraction(t *testing.T) {
	f := newFactory(t, `{"score": "fraction"}`)
	e, _ := f.NewEnv()
	defer e.Close()
	ctx := context.Background()
	if _, _, err := e.Reset(ctx, retrain.ResetOptions{Task: sumTask}); err != nil {
		t.Fatal(err)
	}
	step, err := e.Step(ctx, text("```python\nprint(3)\n```"))
	if err != nil || step.Reward != 0.5 || step.Info["tests_passed"] != 1 {
		t.Errorf("%+v %v", step, err)
	}
}

// TestMultiTurn tries code with the python tool, then answers; the
// stateful interpreter keeps a variable between calls and is closed at the
// episode's end.
func TestMultiTurn(t *testing.T) {
	f := newFactory(t, `{"max_turns": 4, "stateful": true}`)
	e, _ := f.NewEnv()
	defer e.Close()
	d := e.(env.DialectEnv).Dialect()
	ctx := context.Background()
	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Task: sumTask})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Tools) != 1 || obs.Tools[0].Name != "python" || !strings.Contains(obs.Messages[0].Content, "python") {
		t.Fatalf("multi-turn opening: tools %v", obs.Tools)
	}
	call := func(code string) string {
		args, _ := json.Marshal(map[string]string{"code": code})
		return `<tool_call>{"name": "python", "arguments": ` + string(args) + `}</tool_call>`
	}
	step, err := e.Step(ctx, d.Parse(call("x = 40"), nil))
	if err != nil || step.Done() || len(step.Observation.ToolResults) != 1 || !step.Observation.ToolResults[0].Success {
		t.Fatalf("first call: %+v %v", step, err)
	}
	step, err = e.Step(ctx, d.Parse(call("print(x + 2)"), nil))
	if err != nil || step.Observation.ToolResults[0].Output != "42\n" {
		t.Fatalf("the variable did not survive: %+v %v", step.Observation.ToolResults, err)
	}
	step, err = e.Step(ctx, d.Parse(call("raise ValueError('x')"), nil))
	if err != nil || step.Observation.ToolResults[0].Success || !strings.Contains(step.Observation.ToolResults[0].Error, "ValueError") {
		t.Fatalf("a failing run: %+v %v", step.Observation.ToolResults, err)
	}
	step, err = e.Step(ctx, d.Parse("```python\nprint(sum(map(int, input().split())))\n```", nil))
	if err != nil || !step.Terminated || step.Reward != 1 {
		t.Fatalf("answer: %+v %v", step, err)
	}
}

func TestTurnLimit(t *testing.T) {
	f := newFactory(t, `{"max_turns": 2, "dialect": "smolagent"}`)
	e, _ := f.NewEnv()
	defer e.Close()
	d := e.(env.DialectEnv).Dialect()
	ctx := context.Background()
	if _, _, err := e.Reset(ctx, retrain.ResetOptions{Task: sumTask}); err != nil {
		t.Fatal(err)
	}
	step, err := e.Step(ctx, d.Parse("I am thinking.", nil))
	if err != nil || step.Done() || step.Reward >= 0 || step.Info["parse_error"] != true {
		t.Fatalf("a reply without code: %+v %v", step, err)
	}
	step, err = e.Step(ctx, d.Parse(`<tool>{"name": "shell", "args": {"cmd": "ls"}}</tool>`, nil))
	if err != nil || !step.Truncated || step.Observation.ToolResults[0].Success || !strings.Contains(step.Observation.ToolResults[0].Error, "unknown tool") {
		t.Fatalf("an unknown tool at the limit: %+v %v", step, err)
	}
}

func TestBadTasksAndConfig(t *testing.T) {
	f := newFactory(t, `{}`)
	e, _ := f.NewEnv()
	defer e.Close()
	_, _, err := e.Reset(context.Background(), retrain.ResetOptions{Task: retrain.Task{ID: "x", Prompt: "2+2?", Answer: "4"}})
	if !errors.Is(err, codetest.ErrNoTests) {
		t.Errorf("a task without tests: %v", err)
	}
	for cfg, want := range map[string]string{
		`{"score": "most"}`:   `"score" is "most"`,
		`{"dialect": "nope"}`: `config key "dialect"`,
		`{"max_turns": -1}`:   `"max_turns" is -1`,
		`{"bogus": 1}`:        "bogus",
		`{"pool_size": -2}`:   "must not be negative",
	} {
		if _, err := env.New(code.Name, json.RawMessage(cfg)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %s: %v, want %q", cfg, err, want)
		}
	}
}

func TestNoBwrap(t *testing.T) {
	_, err := code.NewFactory(&sandbox.Options{Bwrap: "/nonexistent/bwrap"}, nil)
	if !errors.Is(err, sandbox.ErrNoBwrap) || !strings.Contains(err.Error(), "apt-get install bubblewrap") {
		t.Errorf("err = %v", err)
	}
	f, err := code.NewFactory(&sandbox.Options{Bwrap: "/nonexistent/bwrap", UnsafeNoSandbox: true}, nil)
	if err != nil {
		t.Fatalf("unsafe mode: %v", err)
	}
	defer f.Close()
	e, _ := f.NewEnv()
	defer e.Close()
	e.Reset(context.Background(), retrain.ResetOptions{Task: sumTask})
	step, err := e.Step(context.Background(), text("```python\nprint(sum(map(int, input().split())))\n```"))
	if err != nil || step.Reward != 1 {
		t.Errorf("unsafe mode: %+v %v", step, err)
	}
}

// TestSharedPool: factories of the registered environment with the same
// operator settings share one warm pool; it lives until the last closes.
func TestSharedPool(t *testing.T) {
	ctx := context.Background()
	f1, err := env.New(code.Name, json.RawMessage(`{"max_turns": 2, "pool_size": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	f2, err := env.New(code.Name, json.RawMessage(`{"max_turns": 1, "pool_size": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := f1.Close(); err != nil {
		t.Fatal(err)
	}
	f1.Close() // a second Close gives nothing back twice
	e, _ := f2.NewEnv()
	if _, _, err := e.Reset(ctx, retrain.ResetOptions{Task: sumTask}); err != nil {
		t.Fatal(err)
	}
	step, err := e.Step(ctx, text("```python\nprint(sum(map(int, input().split())))\n```"))
	if err != nil || step.Reward != 1 {
		t.Errorf("after the other factory closed: %+v %v", step, err)
	}
	e.Close()
	if err := f2.Close(); err != nil {
		t.Fatal(err)
	}
	// The pool has ended: a new factory starts another, and works.
	f3 := newFactory(t, `{"pool_size": 2}`)
	e, _ = f3.NewEnv()
	defer e.Close()
	if _, _, err := e.Reset(ctx, retrain.ResetOptions{Task: sumTask}); err != nil {
		t.Fatal(err)
	}
}

// The warm pool starts with the first environment made, not with the
// factory: a factory built only to check a job (a distributed run's
// coordinator) starts no sandbox.
func TestPoolStartsWithFirstEnv(t *testing.T) {
	f, err := env.New(code.Name, json.RawMessage(`{"pool_size": 2, "timeout": "7s"}`)) // a pool of its own
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	time.Sleep(500 * time.Millisecond) // what is checked is that nothing starts meanwhile
	if n := children(t); n != 0 {
		t.Fatalf("%d processes started by a factory no environment was made of", n)
	}
	e, err := f.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for deadline := time.Now().Add(30 * time.Second); children(t) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pool did not start with the first environment")
		}
	}
}

// children counts this process's child processes.
func children(*testing.T) int { return len(proctree.Children(os.Getpid())) }
