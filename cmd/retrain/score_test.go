package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScorePair(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--gold", "#### 1,234", "--pred", `so \boxed{1234}`}, []string{"score: 1\n", "extracted: 1234\n", "detail: extracted by boxed"}},
		{[]string{"--gold", "0.5", "--pred", `\frac{1}{3}`}, []string{"score: 0\n", `extracted: \frac{1}{3}`}},
		{[]string{"--reward", "exact_match", "--params", `{"case_sensitive": true}`, "--gold", "Paris", "--pred", "paris"}, []string{"score: 0\n"}},
		{[]string{"--reward", "numeric", "--params", `{"abs_tol": 1}`, "--gold", "10", "--pred", "10.5"}, []string{"score: 1\n"}},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, "", append([]string{"score"}, tt.args...)...)
		if code != 0 {
			t.Errorf("score %q: exit %d, stderr %s", tt.args, code, errOut)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("score %q: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}

func TestScoreUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--gold", "1"}, "need --gold and --pred"},
		{[]string{"--reward", "nope", "--gold", "1", "--pred", "1"}, "known rewards"},
		{[]string{"--params", "[1]", "--gold", "1", "--pred", "1"}, "JSON object"},
		{[]string{"--params", `{"bogus": 1}`, "--gold", "1", "--pred", "1"}, `unknown param "bogus"`},
		{[]string{"--in", "x.jsonl", "--gold", "1"}, "not both"},
		{[]string{"--gold", "1", "--pred", "1", "--out", "x"}, "--out goes with --in"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(t, "", append([]string{"score"}, tt.args...)...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("score %q: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

const scoreRows = `{"gold": "#### 18", "pred": "She makes $18.00 every day. The answer is 18."}
{"gold": 0.5, "pred": "\\boxed{\\frac{1}{2}}"}

this is not JSON
{"gold": "5"}
{"gold": "5", "pred": ["5"]}
{"id": "t#0", "task": {"prompt": "6*7?", "answer": "42"}, "turns": [{"action": {"kind": "text", "text": "The answer is 42.", "raw": "The answer is 42."}, "reward": 0}], "messages": []}
{"turns": "not a list"}
{"gold": "3", "pred": "the answer is 4"}
`

func TestScoreFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "rows.jsonl")
	if err := os.WriteFile(in, []byte(scoreRows), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Row       int     `json:"row"`
		Score     float64 `json:"score"`
		Extracted string  `json:"extracted"`
		Error     string  `json:"error"`
	}
	check := func(name, out string) {
		t.Helper()
		var got []result
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: bad output line %q: %v", name, line, err)
			}
			got = append(got, r)
		}
		want := []result{
			{Row: 1, Score: 1, Extracted: "18"},
			{Row: 2, Score: 1, Extracted: `\frac{1}{2}`},
			{Row: 4, Error: "not a JSON object"},
			{Row: 5, Error: `row has no "pred"`},
			{Row: 6, Error: `"pred" must be a string or a number`},
			{Row: 7, Score: 1, Extracted: "42"},
			{Row: 8, Error: "not a trajectory"},
			{Row: 9, Score: 0, Extracted: "4"},
		}
		// Compare error prefixes only.
		for i := range got {
			if i < len(want) && want[i].Error != "" && strings.Contains(got[i].Error, want[i].Error) {
				got[i].Error = want[i].Error
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: results mismatch (-want +got):\n%s", name, diff)
		}
	}

	code, out, errOut := runCLI(t, "", "score", "--in", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	check("stdout", out)
	if !strings.Contains(errOut, "scored 8 rows (4 errors)") {
		t.Errorf("summary = %q", errOut)
	}

	outPath := filepath.Join(dir, "out.jsonl")
	code, out, errOut = runCLI(t, scoreRows, "score", "--in", "-", "--out", outPath)
	if code != 0 || out != "" {
		t.Fatalf("--out: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	check("--out file", string(data))

	code, _, errOut = runCLI(t, "", "score", "--in", filepath.Join(dir, "missing.jsonl"))
	if code != 1 || !strings.Contains(errOut, "missing.jsonl") {
		t.Errorf("missing input: exit %d, stderr %q", code, errOut)
	}
}

// A trajectory written before Trajectory.Dialect existed (its dialect only in
// reset_info, where toolenv put it) scores as the same trajectory written today.
func TestScoreOldTrajectoryDialect(t *testing.T) {
	turns := `"turns": [{"action": {"kind": "text", "raw": "<tool_call>{broken</tool_call>"}, "reward": 0}], "messages": []`
	rows := `{"id": "old#0", "sample": 0, "reset_info": {"dialect": "hermes"}, ` + turns + "}\n" +
		`{"id": "new#0", "sample": 0, "dialect": "hermes", ` + turns + "}\n" +
		`{"id": "plain#0", "sample": 0, ` + turns + "}\n"
	code, out, errOut := runCLI(t, rows, "score", "--reward", "format", "--in", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []scoreResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r scoreResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad output line %q: %v", line, err)
		}
		got = append(got, r)
	}
	if len(got) != 3 || got[0].Error != "" || got[0].Score != 0.5 || !cmp.Equal(got[0], scoreResult{Row: 1, Score: got[1].Score, Detail: got[1].Detail}) {
		t.Errorf("old row %+v, want the new row's score %+v (0.5: hermes, balanced but broken)", got[0], got[1])
	}
	if got[2].Score != 1 {
		t.Errorf("row without a dialect %+v, want 1 (plain text)", got[2])
	}
}
