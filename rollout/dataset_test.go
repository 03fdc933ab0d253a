package rollout

import (
	"encoding/json"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestLoadTasksGSM8K(t *testing.T) {
	tasks, err := LoadTasks("testdata/gsm8k.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	var answers, ids []string
	for _, tk := range tasks {
		answers = append(answers, tk.Answer)
		ids = append(ids, tk.ID)
	}
	if diff := cmp.Diff([]string{"18", "3", "70000", "540", "2,125"}, answers); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5"}, ids); diff != "" {
		t.Errorf("ids are line numbers (-want +got):\n%s", diff)
	}
	first := tasks[0]
	if !strings.HasPrefix(first.Prompt, "Janet’s ducks lay 16 eggs") {
		t.Errorf("prompt %q", first.Prompt)
	}
	if sol, _ := first.Metadata["solution"].(string); !strings.Contains(sol, "<<16-3-4=9>>") || !strings.HasSuffix(sol, "#### 18") {
		t.Errorf("solution not kept: %q", sol)
	}
	if len(first.Metadata) != 1 {
		t.Errorf("metadata %v, want only the solution", first.Metadata)
	}
}

// The whole GSM8K test split in the shared data loads, when present.
func TestLoadTasksSharedGSM8K(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "gsm8k_test.jsonl")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared GSM8K split not present at %s (testdata/gsm8k.jsonl covers the format)", path)
	}
	tasks, err := LoadTasks(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1319 {
		t.Errorf("%d tasks, want 1319", len(tasks))
	}
	for _, tk := range tasks {
		if tk.Answer == "" || strings.Contains(tk.Answer, "#") {
			t.Fatalf("task %s: answer %q", tk.ID, tk.Answer)
		}
	}
	limited, err := LoadTasks(path, &DatasetOptions{Limit: 7})
	if err != nil || len(limited) != 7 {
		t.Errorf("limit 7: %d tasks, %v", len(limited), err)
	}
}

func TestReadTasks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts *DatasetOptions
		want []retrain.Task
	}{
		{name: "prompt and id fields", in: `{"id": "x", "prompt": "p", "answer": 42, "level": 3}` + "\n",
			want: []retrain.Task{{ID: "x", Prompt: "p", Answer: "42", Metadata: map[string]any{"level": json.Number("3")}}}},
		{name: "numeric id, no trailing newline, blank lines", in: "\n{\"id\": 7, \"question\": \"q\"}\n\n{\"question\": \"r\"}",
			want: []retrain.Task{{ID: "7", Prompt: "q"}, {ID: "4", Prompt: "r"}}},
		{name: "custom fields", in: `{"problem": "p", "solution": "s", "uid": "u1"}`,
			opts: &DatasetOptions{PromptField: "problem", AnswerField: "solution", IDField: "uid"},
			want: []retrain.Task{{ID: "u1", Prompt: "p", Answer: "s"}}},
		{name: "prompt preferred to question", in: `{"prompt": "p", "question": "q"}`,
			want: []retrain.Task{{ID: "1", Prompt: "p", Metadata: map[string]any{"question": "q"}}}},
		{name: "limit", in: "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": \"c\"}\n", opts: &DatasetOptions{Limit: 2},
			want: []retrain.Task{{ID: "1", Prompt: "a"}, {ID: "2", Prompt: "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadTasks(strings.NewReader(tt.in), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tasks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadTasksErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts *DatasetOptions
		want []string // substrings of the error
	}{
		{"not JSON", "{\"prompt\": \"a\"}\nnot json\n", nil, []string{"line 2", "not a JSON object"}},
		{"array", "[1, 2]\n", nil, []string{"line 1", "not a JSON object"}},
		{"two values", `{"prompt": "a"} {"prompt": "b"}`, nil, []string{"line 1", "more than one"}},
		{"no prompt", "{\"prompt\": \"a\"}\n{\"text\": \"a\"}\n", nil, []string{"line 2", `no prompt field "prompt"`, `"text"`, "--prompt-field"}},
		{"prompt not a string", `{"prompt": ["a"]}`, nil, []string{"line 1", "non-empty string"}},
		{"empty prompt", `{"prompt": ""}`, nil, []string{"line 1", "non-empty string"}},
		{"answer an object", `{"prompt": "a", "answer": {}}`, nil, []string{"line 1", `answer field "answer"`}},
		{"duplicate id", "{\"id\": 1, \"prompt\": \"a\"}\n{\"id\": \"1\", \"prompt\": \"b\"}\n", nil, []string{"line 2", `"1"`, "line 1", "unique"}},
		{"missing id field", `{"prompt": "a"}`, &DatasetOptions{IDField: "uid"}, []string{"line 1", `no id field "uid"`}},
		{"empty", "\n\n", nil, []string{"no tasks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadTasks(strings.NewReader(tt.in), tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadTasksMissingFile(t *testing.T) {
	_, err := LoadTasks(filepath.Join(t.TempDir(), "nope.jsonl"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.jsonl does not exist") {
		t.Errorf("err = %v", err)
	}
}

func FuzzReadTasks(f *testing.F) {
	f.Add(`{"question": "q", "answer": "a\n#### 5"}`)
	f.Add("{\"id\": 1, \"prompt\": \"p\"}\n{\"id\": 2, \"prompt\": \"p\", \"x\": [1]}\n")
	f.Add(`{"prompt": "p", "answer": 1e400}`)
	f.Add("{\"prompt\": \"p\"}\n{\"prompt\"")
	f.Fuzz(func(t *testing.T, in string) {
		tasks, err := ReadTasks(strings.NewReader(in), nil)
		if err != nil {
			if len(tasks) != 0 {
				t.Fatal("tasks returned with an error")
			}
			return
		}
		seen := map[string]bool{}
		for _, tk := range tasks {
			if tk.Prompt == "" || tk.ID == "" || seen[tk.ID] || strings.Contains(tk.Answer, "####") {
				t.Fatalf("bad task %+v", tk)
			}
			seen[tk.ID] = true
			if _, err := json.Marshal(tk); err != nil {
				t.Fatalf("task does not encode: %v", err)
			}
		}
	})
}

func TestArithmeticTasks(t *testing.T) {
	a, b := ArithmeticTasks(50, 7), ArithmeticTasks(50, 7)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different tasks:\n%s", diff)
	}
	if cmp.Equal(a, ArithmeticTasks(50, 8)) {
		t.Error("different seeds, same tasks")
	}
	for _, tk := range a {
		expr := tk.Metadata["expression"].(string)
		if tk.Prompt != "What is "+expr+"?" {
			t.Errorf("prompt %q", tk.Prompt)
		}
		tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := tv.Value.ExactString(); got != tk.Answer {
			t.Errorf("%s: answer %s, evaluated %s", expr, tk.Answer, got)
		}
	}
	if a[0].ID != "arith-1" || a[49].ID != "arith-50" {
		t.Errorf("ids %s … %s", a[0].ID, a[49].ID)
	}
}
