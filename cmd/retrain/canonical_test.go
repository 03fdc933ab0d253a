package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readHumanEval on any bytes: an error, or problems each with a prompt and
// a solution; never a panic. The committed file reads whole.
func FuzzReadHumanEval(f *testing.F) {
	f.Add([]byte(`{"prompt": "def f():\n", "canonical_solution": "    return 1\n"}` + "\n\n"))
	f.Add([]byte(`{"prompt": "def f():\n"}`))
	f.Add([]byte(""))
	f.Add([]byte("{\n"))
	f.Add([]byte(`[1, 2]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "h.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		problems, err := readHumanEval(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if len(problems) == 0 {
			t.Fatal("no problem and no error")
		}
		for _, p := range problems {
			if p.Prompt == "" || p.Solution == "" {
				t.Errorf("problem %+v lacks its prompt or solution", p)
			}
		}
	})
}

func TestReadHumanEvalFile(t *testing.T) {
	problems, err := readHumanEval(humanEvalPath)
	if err != nil || len(problems) != 164 {
		t.Fatalf("%d problems, %v; want HumanEval's 164", len(problems), err)
	}
	if _, err := readHumanEval(filepath.Join(t.TempDir(), "none.jsonl")); err == nil {
		t.Error("a missing file read without an error")
	}
}
