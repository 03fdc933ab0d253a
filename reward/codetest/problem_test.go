package codetest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/reward/codetest"
)

func TestFromFields(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fields map[string]any
		want   codetest.Problem
		layout codetest.Layout
		err    string
	}{
		{"humaneval", map[string]any{"task_id": "HumanEval/0", "prompt": "def f():\n", "entry_point": "f", "test": "def check(c): pass"},
			codetest.Problem{ID: "HumanEval/0", Prompt: "def f():\n", EntryPoint: "f", Test: "def check(c): pass"}, codetest.LayoutFunction, ""},
		{"inputs outputs", map[string]any{"question": "Add.", "inputs": []any{"1 2\n"}, "outputs": []any{"3\n"}},
			codetest.Problem{Prompt: "Add.", Inputs: []string{"1 2\n"}, Outputs: []string{"3\n"}}, codetest.LayoutStdio, ""},
		{"apps", map[string]any{"problem_id": "7", "question": "Q", "input_output": `{"inputs": ["a\n"], "outputs": ["b\n"]}`},
			codetest.Problem{ID: "7", Prompt: "Q", Inputs: []string{"a\n"}, Outputs: []string{"b\n"}}, codetest.LayoutStdio, ""},
		{"codecontests", map[string]any{"name": "cc", "description": "D",
			"public_tests":  map[string]any{"input": []any{"1\n"}, "output": []any{"1\n"}},
			"private_tests": map[string]any{"input": []any{"2\n"}, "output": []any{"4\n"}}},
			codetest.Problem{ID: "cc", Prompt: "D", Inputs: []string{"1\n", "2\n"}, Outputs: []string{"1\n", "4\n"}}, codetest.LayoutStdio, ""},
		{"no tests", map[string]any{"prompt": "x"}, codetest.Problem{}, "", "give HumanEval's"},
		{"no entry point", map[string]any{"prompt": "x", "test": "def check(c): pass"}, codetest.Problem{}, "", "no \"entry_point\""},
		{"uneven", map[string]any{"inputs": []any{"1"}, "outputs": []any{}}, codetest.Problem{}, "", "each input needs its output"},
		{"not strings", map[string]any{"inputs": []any{1.0}, "outputs": []any{"1"}}, codetest.Problem{}, "", "inputs[0] is not a string"},
		{"call based", map[string]any{"input_output": map[string]any{"fn_name": "f", "inputs": []any{}, "outputs": []any{}}}, codetest.Problem{}, "", "call-based"},
		{"empty", map[string]any{"inputs": []any{}, "outputs": []any{}}, codetest.Problem{}, "", "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := codetest.FromFields(tt.fields)
			if tt.err != "" {
				if !errors.Is(err, codetest.ErrNoTests) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ErrNoTests with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if p.Layout() != tt.layout {
				t.Errorf("layout %q, want %q", p.Layout(), tt.layout)
			}
		})
	}
	p, err := codetest.FromTask(retrain.Task{ID: "3", Prompt: "def g():\n", Metadata: map[string]any{"entry_point": "g", "test": "def check(c): pass"}})
	if err != nil || p.Prompt != "def g():\n" || p.ID != "3" || p.EntryPoint != "g" {
		t.Errorf("FromTask: %+v, %v", p, err)
	}
}

func TestExtract(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"def f():\n    return 1\n", "def f():\n    return 1\n"},
		{"Here:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"},
		{"```\nprint(1)\n```", "print(1)\n"},
		{"```text\nexample\n```\n```py\nprint(2)\n```\n```\nother\n```", "print(2)\n"},
		{"```python\nprint(1)\n```\nthen\n```python\nprint(3)\n```", "print(3)\n"},
		{"```python\nprint(4)\n", "print(4)\n"},
		{"```", "```"},
	} {
		if got := codetest.Extract(tt.in); got != tt.want {
			t.Errorf("Extract(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"", "```", "```python\nx\n```", "a```b\nc```d```e\n", "```py\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := codetest.Extract(s)
		if len(got) > len(s) || !strings.Contains(s, got) {
			t.Errorf("Extract(%q) = %q, not a part of the input", s, got)
		}
	})
}
