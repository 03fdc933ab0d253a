package codetest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/reward/codetest"
	"github.com/retrain-rl/retrain/sandbox"
)

// humanEval is one row of testdata/humaneval/HumanEval.jsonl.
type humanEval struct {
	TaskID            string `json:"task_id"`
	Prompt            string `json:"prompt"`
	EntryPoint        string `json:"entry_point"`
	CanonicalSolution string `json:"canonical_solution"`
	Test              string `json:"test"`
}

func (h humanEval) problem() codetest.Problem {
	return codetest.Problem{ID: h.TaskID, Prompt: h.Prompt, EntryPoint: h.EntryPoint, Test: h.Test}
}

func loadHumanEval(t testing.TB) []humanEval {
	t.Helper()
	f, err := os.Open("../../testdata/humaneval/HumanEval.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []humanEval
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var h humanEval
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, h)
	}
	if len(rows) != 164 {
		t.Fatalf("read %d problems, want 164", len(rows))
	}
	return rows
}

// newChecker returns a checker over a warm pool, closed at the end; it
// waits until the pool is full, so that the first checks are warm.
func newChecker(t testing.TB, opts *codetest.CheckerOptions) *codetest.Checker {
	t.Helper()
	sb, err := sandbox.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := sandbox.NewPool(sb, &sandbox.PoolOptions{Size: 4})
	t.Cleanup(func() { pool.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pool.WaitReady(ctx, 4); err != nil {
		t.Fatal(err)
	}
	return codetest.NewChecker(pool, opts)
}

// sample returns every step-th problem (all of them with
// RETRAIN_HUMANEVAL_ALL=1, which takes a minute or more on 2 cores).
func sample(rows []humanEval) []humanEval {
	if os.Getenv("RETRAIN_HUMANEVAL_ALL") != "" {
		return rows
	}
	var out []humanEval
	for i := 0; i < len(rows); i += 8 {
		out = append(out, rows[i])
	}
	return out
}

// TestHumanEvalCanonical checks that canonical solutions pass and that a
// broken variant of each (its body replaced by `return None`) fails.
func TestHumanEvalCanonical(t *testing.T) {
	c := newChecker(t, nil)
	rows := sample(loadHumanEval(t))
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, h := range rows {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			good, err := c.Check(ctx, h.problem(), h.CanonicalSolution)
			if err != nil {
				t.Errorf("%s: %v", h.TaskID, err)
				return
			}
			if !good.Passed || good.Result != "passed" || good.Fraction() != 1 {
				t.Errorf("%s: the canonical solution: %+v", h.TaskID, good)
			}
			bad, err := c.Check(ctx, h.problem(), "    return None\n")
			if err != nil {
				t.Errorf("%s: %v", h.TaskID, err)
				return
			}
			if bad.Passed || !strings.HasPrefix(bad.Result, "failed: ") {
				t.Errorf("%s: the broken solution: %+v", h.TaskID, bad)
			}
		})
	}
	wg.Wait()
	t.Logf("checked %d problems", len(rows))
}

func TestCheckFunction(t *testing.T) {
	c := newChecker(t, nil)
	p := codetest.Problem{
		Prompt:     "def add(a, b):\n    \"\"\"Adds.\"\"\"\n",
		EntryPoint: "add",
		Test:       "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) == 0\n    assert candidate(2, 2) == 4\n    assert candidate(-1, 1) == 0\n",
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name, solution string
		passed         bool
		tests          int
		result         string
	}{
		{"body", "    return a + b\n", true, 4, "passed"},
		{"whole function", "\ndef add(a, b):\n    return b + a\n", true, 4, "passed"},
		{"right by chance", "    return a * b if a == 2 else a + b\n", true, 4, "passed"},
		{"three of four", "    return 3 if a == 1 else 0\n", false, 3, "failed: AssertionError"},
		{"raises", "    raise ValueError('nope')\n", false, 0, "failed: ValueError: nope"},
		{"syntax error", "    return (\n", false, 0, "failed: SyntaxError"},
		{"wrong name", "\ndel add\n", false, 0, "failed: NameError"},
		{"exits early", "    pass\nimport sys\nsys.exit(0)\n", false, 0, "failed: SystemExit"},
		{"os exit", "    pass\nimport os\nos._exit(0)\n", false, 0, "failed: the program ended"},
		{"forged report", "    pass\nprint('retrain-result-00 {\"passed\": 4, \"total\": 4, \"error\": \"\"}')\n", false, 0, "failed: AssertionError"},
		{"prints a lot", "    print('x' * 10000000)\n    return a + b\n", true, 4, "passed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.Check(ctx, p, tt.solution)
			if err != nil {
				t.Fatal(err)
			}
			if out.Passed != tt.passed || out.Tests != 4 || (tt.tests > 0 && out.TestsPassed != tt.tests) || !strings.HasPrefix(out.Result, tt.result) {
				t.Errorf("got %+v, want passed %v, %d/4, result %q", out, tt.passed, tt.tests, tt.result)
			}
		})
	}
}

func TestCheckStdio(t *testing.T) {
	c := newChecker(t, nil)
	p := codetest.Problem{Inputs: []string{"1 2\n", "5 5\n", "10 -3\n"}, Outputs: []string{"3\n", "10\n", "7"}}
	ctx := context.Background()
	for _, tt := range []struct {
		name, solution string
		passed         int
		result         string
	}{
		{"right", "a, b = map(int, input().split())\nprint(a + b)", 3, "passed"},
		{"trailing space", "a, b = map(int, input().split())\nprint(a + b, ' ')\nprint()", 3, "passed"},
		{"wrong", "a, b = map(int, input().split())\nprint(a * b if a == 5 else a + b)", 2, "failed: test 2: wrong output"},
		{"crash", "raise SystemExit('bad input')", 0, "failed: test 1: exit 1: bad input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.Check(ctx, p, tt.solution)
			if err != nil {
				t.Fatal(err)
			}
			if out.TestsPassed != tt.passed || out.Tests != 3 || out.Passed != (tt.passed == 3) || !strings.HasPrefix(out.Result, tt.result) {
				t.Errorf("got %+v, want %d/3, result %q", out, tt.passed, tt.result)
			}
		})
	}
}

func TestCheckTimeouts(t *testing.T) {
	c := newChecker(t, &codetest.CheckerOptions{Timeout: time.Second, MaxTests: 2})
	ctx := context.Background()
	out, err := c.Check(ctx, codetest.Problem{Inputs: []string{"1", "2", "3"}, Outputs: []string{"1", "2", "3"}}, "import time\ntime.sleep(60)")
	if err != nil || out.Passed || out.Tests != 2 || out.Result != codetest.ResultTimedOut {
		t.Errorf("stdin/stdout: %+v, %v; want 2 tests (MaxTests), timed out", out, err)
	}
	p := codetest.Problem{Prompt: "def f():\n", EntryPoint: "f", Test: "def check(c):\n    assert c() == 1\n    assert c() != 2\n"}
	out, err = c.Check(ctx, p, "    while True:\n        pass\n")
	if err != nil || out.Passed || out.Tests != 2 || out.Result != codetest.ResultTimedOut {
		t.Errorf("function: %+v, %v; want 2 tests, timed out", out, err)
	}
}

func TestReward(t *testing.T) {
	f, err := reward.New(codetest.RewardName, nil)
	if err != nil {
		t.Fatal(err)
	}
	frac, err := reward.New(codetest.RewardName, map[string]any{"score": "fraction", "timeout": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	task := retrain.Task{ID: "1", Prompt: "Read two numbers and print their sum.", Metadata: map[string]any{
		"inputs": []any{"1 2\n", "3 4\n"}, "outputs": []any{"3\n", "7\n"},
	}}
	ctx := context.Background()
	sc, err := f.Score(ctx, reward.Sample{Task: task, Completion: "Here:\n```python\na, b = map(int, input().split())\nprint(a + b)\n```", Step: -1})
	if err != nil || sc.Value != 1 || !strings.Contains(sc.Detail, "2/2 tests passed") {
		t.Errorf("right answer: %+v, %v", sc, err)
	}
	sc, err = frac.Score(ctx, reward.Sample{Task: task, Completion: "```python\nprint(3)\n```", Step: -1})
	if err != nil || sc.Value != 0.5 {
		t.Errorf("half right, fraction: %+v, %v", sc, err)
	}
	sc, err = f.Score(ctx, reward.Sample{Task: task, Completion: "```python\nprint(3)\n```", Step: -1})
	if err != nil || sc.Value != 0 || !strings.Contains(sc.Detail, "failed: test 2: wrong output") {
		t.Errorf("half right, all-pass: %+v, %v", sc, err)
	}
	if _, err := f.Score(ctx, reward.Sample{Task: retrain.Task{Prompt: "x", Answer: "4"}, Completion: "4"}); err == nil || !strings.Contains(err.Error(), "no tests") {
		t.Errorf("a task without tests: %v", err)
	}
	for _, bad := range []map[string]any{{"score": "most"}, {"bogus": 1}, {"timeout": "-1s"}} {
		if _, err := reward.New(codetest.RewardName, bad); err == nil {
			t.Errorf("params %v were accepted", bad)
		}
	}
}
