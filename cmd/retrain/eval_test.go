package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/report"
	"go.uber.org/goleak"
)

const gsm8kData = "testdata/gsm8k20.jsonl" // the first 20 rows of GSM8K's test split

// gsm8kTasks reads the test data: each question's index and gold answer.
func gsm8kTasks(t *testing.T) map[string]struct {
	index  int
	answer string
} {
	t.Helper()
	f, err := os.Open(gsm8kData)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tasks := map[string]struct {
		index  int
		answer string
	}{}
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); i++ {
		var row struct{ Question, Answer string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		_, gold, _ := strings.Cut(row.Answer, "#### ")
		tasks[row.Question] = struct {
			index  int
			answer string
		}{i, strings.TrimSpace(gold)}
	}
	return tasks
}

// gsm8kScript plays the 20 GSM8K tasks, 4 samples each: task i gets
// c = i%5 correct samples (0..4, each value on 4 tasks). Sample s < c is
// correct: sample 0 calls the calculator (successfully) then answers, the
// others answer at once. The wrong samples s >= c:
//
//	s=0 (c=0: 4 tasks)    the server fails (HTTP 400): a failed episode
//	s=1 (c<=1: 8 tasks)   "<answer>GOLD" unclosed: a parse error (format 0,
//	                      env -0.1), then <answer>GOLD+1</answer>
//	s=2 (c<=2: 12 tasks)  a calculator call that fails (1/0), then GOLD+1
//	s=3 (c<=3: 16 tasks)  <answer>GOLD+1</answer>
func gsm8kScript(t *testing.T) scriptFunc {
	tasks := gsm8kTasks(t)
	return func(question string, s, turn int) openaitest.Reply {
		task, ok := tasks[question]
		if !ok {
			return openaitest.Reply{Error: &openaitest.ErrorReply{Status: 400, Message: "unscripted question"}}
		}
		gold, _ := strconv.Atoi(task.answer)
		wrong := strconv.Itoa(gold + 1)
		c := task.index % 5
		switch {
		case s < c && s == 0 && turn == 0:
			return toolReply("2 + 2")
		case s < c:
			return answerReply(task.answer)
		case s == 0:
			return openaitest.Reply{Error: &openaitest.ErrorReply{Status: 400, Message: "scripted failure"}}
		case s == 1 && turn == 0:
			return openaitest.Reply{Content: "<answer>" + task.answer}
		case s == 2 && turn == 0:
			return toolReply("1/0")
		}
		return answerReply(wrong)
	}
}

// A GSM8K eval through the real OpenAI client and the fake server: the
// report matches what the scripted answers must score, worked out by hand.
func TestEvalGSM8K(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := scriptedServer(t, 4, gsm8kScript(t))
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "gsm8k.jsonl")
	code, stdout, stderr := rolloutCLI(t, "eval", "--model", srv.URL, "--model-name", openaitest.DefaultModel,
		"--data", gsm8kData, "--n", "4", "--seed", "0", "--retries", "0", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	reportPath := filepath.Join(dir, "gsm8k.report.json")
	got := readReport(t, reportPath)

	// 80 episodes: 40 correct (sum of c); 4 failed; of the 76 others,
	//   16 correct via the tool (2 turns), 24 correct at once (1 turn),
	//   8 malformed then wrong (2 turns), 12 tool error then wrong (2 turns),
	//   16 wrong at once (1 turn): 112 turns.
	// The rewards are the calculator environment's defaults:
	// correct: 40 ones and 36 zeros over 76 scored episodes.
	// format (the mean over turns, weighted 0.1): 0.1 for all but the 8
	// malformed ones (0.05).
	// env: -0.1 on the 8 malformed ones.
	// total: 1.1 (40 correct), -0.05 (8 malformed), 0.1 (28 other wrong).
	pc := 40.0 / 76
	want := &report.Report{
		Episodes: 80, Tasks: 20, Failed: 4, Scored: 76,
		Pass: &report.Pass{Reward: "correct", Threshold: 1, Passed: 40, SuccessRate: 0.5, AtK: []report.PassAtKValue{
			{K: 1, Value: 0.5},     // (0 + 1/4 + 2/4 + 3/4 + 1) / 5
			{K: 2, Value: 2.0 / 3}, // (0 + 1/2 + 5/6 + 1 + 1) / 5
			{K: 3, Value: 0.75},    // (0 + 3/4 + 1 + 1 + 1) / 5
			{K: 4, Value: 0.8},     // (0 + 1 + 1 + 1 + 1) / 5
		}},
		Total: &report.Stats{N: 76, Mean: (40*1.1 - 8*0.05 + 28*0.1) / 76.0, Min: -0.05, Max: 1.1,
			Std: math.Sqrt((40*1.21+8*0.0025+28*0.01)/76.0 - math.Pow((40*1.1-8*0.05+28*0.1)/76.0, 2))},
		Rewards: []report.Component{
			{Name: "correct", Level: report.LevelRollout, Stats: report.Stats{N: 76, Mean: pc, Std: math.Sqrt(pc * (1 - pc)), Min: 0, Max: 1}},
			{Name: "format", Level: report.LevelRollout, Stats: report.Stats{N: 76, Mean: 7.2 / 76, Std: 0.05 * math.Sqrt(8.0/76*68/76), Min: 0.05, Max: 0.1}},
			{Name: "env", Level: report.LevelStep, Stats: report.Stats{N: 76, Mean: -0.8 / 76, Std: 0.1 * math.Sqrt(8.0/76*68/76), Min: -0.1, Max: 0}},
		},
		Turns: 112, MeanTurns: 112.0 / 76,
		ToolCalls: 28, ToolErrors: 12, ToolErrorRate: 12.0 / 28,
		ParseErrors: 8, ParseErrorRate: 8.0 / 112,
		Failures:    map[retrain.ErrorCause]int{"model": 4},
		StopReasons: map[retrain.StopReason]int{"terminated": 76, "error": 4},
	}
	if got.PromptTokens == 0 || got.CompletionTokens == 0 {
		t.Errorf("tokens %d prompt, %d completion: want both counted", got.PromptTokens, got.CompletionTokens)
	}
	opts := cmp.Options{cmpopts.EquateApprox(0, 1e-9), cmpopts.IgnoreFields(report.Report{}, "PromptTokens", "CompletionTokens")}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	for _, line := range []string{
		"episodes      80 (20 tasks, 4 failed: model 4)",
		"success rate  50.0% (40 of 80 pass: correct >= 1)",
		"pass@k        pass@1 0.5000  pass@2 0.6667  pass@3 0.7500  pass@4 0.8000",
		"tool calls    28, 12 failed (42.9%)",
		"parse errors  8 of 112 turns (7.1%)",
		"stop reasons  terminated 76, error 4",
		"correct rollout 0.5263 0.4993 0.0000 1.0000 76",
		"format rollout 0.0947 0.0153 0.0500 0.1000 76",
		"env step (sum) -0.0105 0.0307 -0.1000 0.0000 76",
	} {
		if !strings.Contains(squeeze(stdout), squeeze(line)) {
			t.Errorf("the table lacks %q:\n%s", line, stdout)
		}
	}
	if !strings.Contains(stderr, "wrote the report to "+reportPath) || !strings.Contains(stderr, "episodes: 80 (76 succeeded, 4 failed)") {
		t.Errorf("stderr:\n%s", stderr)
	}

	// --in reports on the file again, without a server: the same report.
	srv.Close()
	again := filepath.Join(dir, "again.json")
	code, _, stderr = rolloutCLI(t, "eval", "--in", out, "--report", again)
	if code != 0 {
		t.Fatalf("--in: exit %d; stderr:\n%s", code, stderr)
	}
	if diff := cmp.Diff(got, readReport(t, again)); diff != "" {
		t.Errorf("--in report differs from the run's (-run +in):\n%s", diff)
	}

	// A stricter criterion: pass on the total reward >= 1.05 (the same 40).
	code, _, stderr = rolloutCLI(t, "eval", "--in", out, "--report", again, "--pass-reward", "total", "--pass-threshold", "1.05")
	if r := readReport(t, again); code != 0 || r.Pass.Reward != "total" || r.Pass.Passed != 40 {
		t.Errorf("--pass-reward total: exit %d, pass %+v; stderr:\n%s", code, r.Pass, stderr)
	}
}

// squeeze collapses runs of spaces, so table checks ignore column widths.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// Eval with the fake model and default settings writes eval.jsonl's report
// beside it, and a rollout's file (custom rewards, resumed lines) reports.
func TestEvalFake(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "e.jsonl")
	code, stdout, stderr := rolloutCLI(t, "eval", "--model", "fake", "--tasks", "3", "--n", "2", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	r := readReport(t, filepath.Join(dir, "e.report.json"))
	// The fake answers arithmetic right, through the calculator, in 2 turns.
	if r.Episodes != 6 || r.Pass.SuccessRate != 1 || len(r.Pass.AtK) != 2 || r.MeanTurns != 2 || r.ToolCalls != 6 || r.ToolErrors != 0 {
		t.Errorf("report %+v, pass %+v", r, r.Pass)
	}
	if !strings.Contains(stdout, "success rate  100.0% (6 of 6 pass: correct >= 1)") {
		t.Errorf("table:\n%s", stdout)
	}
}

// When every episode fails, eval still writes the report, then fails.
func TestEvalAllFailed(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Error: &openaitest.ErrorReply{Status: 400, Message: "always failing"}}
	}})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "e.jsonl")
	code, stdout, stderr := rolloutCLI(t, "eval", "--model", srv.URL, "--model-name", openaitest.DefaultModel, "--tasks", "2", "--retries", "0", "--quiet", "--out", out)
	if code != 1 || !strings.Contains(stderr, "all 2 episodes failed") {
		t.Errorf("exit %d; stderr:\n%s", code, stderr)
	}
	r := readReport(t, filepath.Join(dir, "e.report.json"))
	if r.Failed != 2 || r.Failures["model"] != 2 || r.Pass.SuccessRate != 0 || r.Total != nil {
		t.Errorf("report %+v", r)
	}
	if !strings.Contains(stdout, "no scored episodes") {
		t.Errorf("table:\n%s", stdout)
	}
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	noCorrect := writeFile(t, dir, "fmt.yaml", "rollout:\n  - name: format\n")
	notTraj := writeFile(t, dir, "data.jsonl", `{"question": "q", "answer": "1"}`+"\n")
	out := filepath.Join(dir, "out.jsonl")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"in with a run flag", []string{"--in", notTraj, "--model", "fake"}, []string{"--model runs episodes", "--in"}},
		{"unknown pass reward", []string{"--model", "fake", "--pass-reward", "nope"}, []string{`--pass-reward "nope"`, "correct, format, env, total"}},
		{"no correctness component", []string{"--model", "fake", "--rewards", noCorrect}, []string{"no rollout-level math_equal", "--pass-reward", "format"}},
		{"in a missing file", []string{"--in", filepath.Join(dir, "none.jsonl")}, []string{"none.jsonl does not exist"}},
		{"in not trajectories", []string{"--in", notTraj}, []string{"data.jsonl line 1 is not a trajectory"}},
		{"report over the trajectories", []string{"--model", "fake", "--report", out}, []string{"would overwrite the trajectories"}},
		{"rollout's checks", []string{"--model", "fake", "--n", "0"}, []string{"--n is 0"}},
		{"positional", []string{"extra"}, []string{`unexpected argument "extra"; eval takes only flags`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"eval", "--out", out}, tt.args...)
			if tt.args[0] == "--in" {
				args = append([]string{"eval"}, tt.args...)
			}
			wantUsageError(t, out, args, tt.want)
		})
	}
}

// Every eval flag (but --config) is a key of its config file, rollout's
// included, and the file sets eval's own keys.
func TestEvalConfigFile(t *testing.T) {
	keys := yamlKeys(reflect.TypeFor[evalConfig]())
	for _, k := range []string{"model", "rewards", "n", "report", "pass_reward", "pass_threshold", "in"} {
		if !slices.Contains(keys, k) {
			t.Errorf("eval config lacks the key %q: %v", k, keys)
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "e.jsonl")
	rep := filepath.Join(dir, "custom.json")
	cfg := writeFile(t, dir, "eval.yaml", "model: fake\ntasks: 2\nquiet: true\nout: "+out+"\nreport: "+rep+"\npass_reward: total\npass_threshold: 2\n")
	code, _, stderr := rolloutCLI(t, "eval", "--config", cfg, "--pass-threshold", "1")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	r := readReport(t, rep)
	if r.Pass.Reward != "total" || r.Pass.Threshold != 1 {
		t.Errorf("pass %+v: want total >= 1 (the flag overrides the file's 2)", r.Pass)
	}
}

func TestDefaultReportPath(t *testing.T) {
	for in, want := range map[string]string{"eval.jsonl": "eval.report.json", "d/x.json": "d/x.report.json", "runs": "runs.report.json", "a.b.jsonl": "a.b.report.json"} {
		if got := defaultReportPath(in); got != want {
			t.Errorf("defaultReportPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// eval --in reads files of older versions as today's (the dialect from
// reset_info), skips a last line cut short with a warning, and names a bad
// line by its number.
func TestEvalInOldFileAndCutLine(t *testing.T) {
	dir := t.TempDir()
	row := func(id, dialect string) string {
		return `{"id": "` + id + `#0", "task": {"id": "` + id + `", "answer": "42"}, "sample": 0, ` + dialect +
			`"turns": [{"action": {"kind": "text", "text": "42", "raw": "<tool_call>{broken</tool_call>"}, "reward": 0}], "messages": [], "stop_reason": "terminated"}` + "\n"
	}
	content := row("old", `"reset_info": {"dialect": "hermes"}, `) + "\n" + row("new", `"dialect": "hermes", `) + row("cut", "")[:60]
	in := writeFile(t, dir, "old.jsonl", content)
	code, _, stderr := runCLI(t, "", "eval", "--in", in)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "skipping the last line of "+in+" (line 4): cut short") {
		t.Errorf("no warning about the cut line; stderr:\n%s", stderr)
	}
	r := readReport(t, filepath.Join(dir, "old.report.json"))
	want := []report.Component{
		{Name: "correct", Level: report.LevelRollout, Stats: report.Stats{N: 2, Mean: 1, Min: 1, Max: 1}},
		// format 0.5 for both (hermes: tags balanced, but no parse); 1 if the old line had lost its dialect.
		{Name: "format", Level: report.LevelRollout, Stats: report.Stats{N: 2, Mean: 0.5, Min: 0.5, Max: 0.5}},
		{Name: "env", Level: report.LevelStep, Stats: report.Stats{N: 2}},
	}
	if diff := cmp.Diff(want, r.Rewards); r.Episodes != 2 || diff != "" {
		t.Errorf("%d episodes; rewards (-want +got):\n%s", r.Episodes, diff)
	}

	bad := writeFile(t, dir, "bad.jsonl", row("a", "")+"{\"id\": \"b#0\"}\n"+row("c", ""))
	code, _, stderr = runCLI(t, "", "eval", "--in", bad)
	if code != 2 || !strings.Contains(stderr, "bad.jsonl line 2 is not a trajectory") {
		t.Errorf("bad line: exit %d; stderr:\n%s", code, stderr)
	}
}
