package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

// readLines parses every line of path as a trajectory, failing the test on
// a line that does not parse or a file that does not end with a newline.
func readLines(t *testing.T, path string) []retrain.Trajectory {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	var out []retrain.Trajectory
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(b) == 0 {
			break
		}
		var tr retrain.Trajectory
		if err := json.Unmarshal(line, &tr); err != nil {
			t.Fatalf("line %d does not parse: %v\n%s", i+1, err, line)
		}
		out = append(out, tr)
	}
	return out
}

func TestJSONLWriterConcurrentWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	w, err := OpenJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				tr := &retrain.Trajectory{ID: fmt.Sprintf("g%d#%d", g, i), Task: retrain.Task{ID: fmt.Sprint(g), Prompt: strings.Repeat("<&>", 500)}, Sample: i}
				if err := w.Write(tr); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if w.Lines() != 200 {
		t.Errorf("Lines() = %d", w.Lines())
	}
	if err := w.Close(); err != nil || w.Close() != nil {
		t.Fatalf("Close: %v", err)
	}
	lines := readLines(t, path)
	if len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
	if !strings.HasPrefix(lines[0].Task.Prompt, "<&>") {
		t.Error("prompt changed in the round trip")
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(`\u003c`)) {
		t.Error("HTML escaping is on: lines are needlessly longer")
	}
	if err := w.Write(&retrain.Trajectory{ID: "late"}); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestOpenJSONLRepairsPartialLine(t *testing.T) {
	whole := `{"id":"a#0","task":{"id":"a","prompt":"p"},"sample":0}` + "\n"
	tests := []struct{ name, content, want string }{
		{"partial last line", whole + `{"id":"b#0","task":{"id`, whole},
		{"only a partial line", `{"id":"b#0"`, ""},
		{"whole lines", whole + whole, whole + whole},
		{"empty", "", ""},
		{"long partial line", whole + strings.Repeat("x", 200<<10), whole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.jsonl")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := OpenJSONL(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(&retrain.Trajectory{ID: "c#0", Task: retrain.Task{ID: "c"}}); err != nil {
				t.Fatal(err)
			}
			w.Close()
			got, _ := os.ReadFile(path)
			if !strings.HasPrefix(string(got), tt.want) || strings.Count(string(got), "\n") != strings.Count(tt.want, "\n")+1 {
				t.Errorf("file after repair and one write:\n%q\nwant prefix %q", got, tt.want)
			}
			readLines(t, path)
		})
	}
}

func TestOpenJSONLOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	os.WriteFile(path, []byte("{}\n{}\n"), 0o644)
	w, err := OpenJSONL(path, &JSONLOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("overwritten file holds %q", b)
	}
}

func TestCompleted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	content := `{"id":"a#0","task":{"id":"a","prompt":"p"},"sample":0}
{"id":"a#1","task":{"id":"a","prompt":"p"},"sample":1,"error":"server down","error_cause":"model"}

{"id":"b#1","task":{"id":"b","prompt":"p"},"sample":1}
{"id":"a#1","task":{"id":"a","prompt":"p"},"sample":1}
{"id":"c#0","task":{"id":"c"`
	os.WriteFile(path, []byte(content), 0o644)
	got, err := Completed(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Key]bool{{"a", 0}: true, {"b", 1}: true, {"a", 1}: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Completed (-want +got):\n%s", diff)
	}

	if got, err := Completed(filepath.Join(t.TempDir(), "missing.jsonl")); err != nil || len(got) != 0 {
		t.Errorf("missing file: %v, %v", got, err)
	}
	os.WriteFile(path, []byte(`{"id":"a#0","task":{"id":"a"},"sample":0}`+"\n"+`{"question": "not a trajectory"}`+"\n"), 0o644)
	if _, err := Completed(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: err = %v, want one naming line 2", err)
	}
}

// runToFile runs the runner with resume over path, as the CLI does.
func runToFile(t *testing.T, path string, tasks []retrain.Task, n int) Summary {
	t.Helper()
	done, err := Completed(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sum, err := NewRunner(&countingFactory{}, answerModel(), &RunnerOptions{N: n, Concurrency: 3, Done: done, Sink: w}).Run(context.Background(), tasks)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestResumeAddsNothingWhenDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	tasks := numTasks(4)
	if sum := runToFile(t, path, tasks, 2); sum.Episodes != 8 {
		t.Fatalf("first run: %d episodes", sum.Episodes)
	}
	before, _ := os.ReadFile(path)
	if sum := runToFile(t, path, tasks, 2); sum.Episodes != 0 || sum.Skipped != 8 {
		t.Errorf("second run: %d episodes, %d skipped; want 0, 8", sum.Episodes, sum.Skipped)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the second run changed the file")
	}
}

// A run killed at any moment leaves a file that resumes into a complete one:
// every cut of a finished file, resumed, gives whole lines and every episode.
func TestResumeAfterKillAtAnyPoint(t *testing.T) {
	dir := t.TempDir()
	tasks := numTasks(3)
	full := filepath.Join(dir, "full.jsonl")
	runToFile(t, full, tasks, 2)
	b, _ := os.ReadFile(full)
	cuts := []int{0, 1, len(b) - 1, len(b)}
	for i := 1; i < 24; i++ {
		cuts = append(cuts, len(b)*i/24)
	}
	for i, c := range b { // every line boundary, and one byte either side
		if c == '\n' {
			cuts = append(cuts, i, i+1, min(i+2, len(b)))
		}
	}
	for _, cut := range cuts {
		path := filepath.Join(dir, fmt.Sprintf("cut%d.jsonl", cut))
		os.WriteFile(path, b[:cut], 0o644)
		runToFile(t, path, tasks, 2)
		lines := readLines(t, path)
		seen := map[string]int{}
		for _, l := range lines {
			seen[l.ID]++
		}
		if len(seen) != 6 || len(lines) != 6 {
			t.Errorf("cut at %d: %d lines, %d distinct episodes; want 6, 6", cut, len(lines), len(seen))
		}
	}
}

// Whatever a killed writer left, reopening keeps exactly the whole lines
// and resume reading never panics.
func FuzzOpenJSONLRepair(f *testing.F) {
	f.Add([]byte(`{"id":"a#0","task":{"id":"a"},"sample":0}` + "\n" + `{"id":"b`))
	f.Add([]byte("\n\n{}"))
	f.Add([]byte(""))
	f.Add([]byte(`{"id":"a#0","task":{"id":"a"},"sample":0,"error":"x"}` + "\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(dir, "f.jsonl")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		Completed(path) // must not panic; errors are fine
		w, err := OpenJSONL(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		got, _ := os.ReadFile(path)
		want := content[:bytes.LastIndexByte(content, '\n')+1]
		if !bytes.Equal(got, want) {
			t.Fatalf("after repair %q, want %q", got, want)
		}
	})
}

func BenchmarkJSONLWrite(b *testing.B) {
	w, err := OpenJSONL(filepath.Join(b.TempDir(), "out.jsonl"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	tr := &retrain.Trajectory{ID: "t#0", Task: retrain.Task{ID: "t", Prompt: strings.Repeat("word ", 100)},
		Turns: []retrain.Turn{{Action: retrain.Action{Raw: strings.Repeat("tok", 300),
			Tokens: &retrain.Tokens{IDs: make([]int32, 300), Logprobs: make([]float64, 300)}}}}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Write(tr); err != nil {
				b.Fatal(err)
			}
		}
	})
}
