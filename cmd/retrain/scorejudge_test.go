package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward/judge"
)

// judgeResponder scores a response "answer: N" N out of 10, a group of
// them in one JSON object, and anything else with a reply that holds no
// verdict.
func judgeResponder(req *openaitest.ChatRequest) openaitest.Reply {
	prompt := string(req.Messages[len(req.Messages)-1].Content)
	if m := regexp.MustCompile(`## Response \d+\nanswer: (\d+)`).FindAllStringSubmatch(prompt, -1); m != nil {
		scores := make([]string, len(m))
		for i, x := range m {
			scores[i] = x[1]
		}
		return openaitest.Reply{Content: `{"scores": [` + strings.Join(scores, ", ") + `]}`}
	}
	if m := regexp.MustCompile(`# Response\nanswer: (\d+)`).FindStringSubmatch(prompt); m != nil {
		return openaitest.Reply{Content: "<think>Weighing it.</think>\nScore: " + m[1]}
	}
	return openaitest.Reply{Content: "I cannot tell."}
}

func trajectoryRow(task, final string) string {
	return fmt.Sprintf(`{"id": "%s", "task": {"id": "%s", "prompt": "Write."}, "turns": [{"action": {"kind": "text", "text": %q, "raw": %q}, "reward": 0}], "messages": []}`, task, task, final, final)
}

type scoreLine struct {
	Row   int     `json:"row"`
	Score float64 `json:"score"`
	Error string  `json:"error"`
}

func readScoreLines(t *testing.T, path string) []scoreLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []scoreLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var s scoreLine
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, s)
	}
	return out
}

func TestScoreJudgeFile(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: judgeResponder})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	rows := []string{
		trajectoryRow("a", "answer: 3"), trajectoryRow("a", "answer: 8"),
		trajectoryRow("b", "answer: 5"), trajectoryRow("b", "answer: 1"), trajectoryRow("b", "answer: 10"),
		`{"gold": "x", "pred": "answer: 6"}`,
		`{"gold": "x", "pred": "nothing to see"}`,
	}
	os.WriteFile(in, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	cache := filepath.Join(dir, "cache")
	params := fmt.Sprintf(`{"base_url": %q, "model": %q, "cache": %q, "retries": 0}`, srv.URL, openaitest.DefaultModel, cache)
	want := []scoreLine{{1, 0.3, ""}, {2, 0.8, ""}, {3, 0.5, ""}, {4, 0.1, ""}, {5, 1, ""}, {6, 0.6, ""}, {7, 0, "x"}}
	check := func(path string) {
		t.Helper()
		got := readScoreLines(t, path)
		if len(got) != len(want) {
			t.Fatalf("%d results, want %d", len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Row != w.Row || (g.Score-w.Score) > 1e-12 || (w.Score-g.Score) > 1e-12 || (g.Error != "") != (w.Error != "") {
				t.Errorf("row %d: %+v, want %+v", i+1, g, w)
			}
		}
		if e := got[6].Error; !strings.Contains(e, "no readable verdict") || !strings.Contains(e, "I cannot tell.") {
			t.Errorf("the unreadable verdict's error lacks the judge's reply: %q", e)
		}
	}

	out := filepath.Join(dir, "out.jsonl")
	code, _, stderr := runCLI(t, "", "score", "--reward", "judge", "--params", params, "--in", in, "--out", out, "--concurrency", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check(out)
	if srv.Requests() != 7 {
		t.Errorf("%d requests, want 7", srv.Requests())
	}
	// Again: every readable verdict comes from the cache; only the
	// unreadable one is asked again.
	code, _, stderr = runCLI(t, "", "score", "--reward", "judge", "--params", params, "--in", in, "--out", out, "--concurrency", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check(out)
	if n := srv.Requests() - 7; n != 1 {
		t.Errorf("the second run made %d requests, want 1 (the unreadable verdict)", n)
	}

	// A group judge: one request per task's consecutive trajectories.
	before := srv.Requests()
	gparams := strings.TrimSuffix(params, "}") + `, "group": true}`
	code, _, stderr = runCLI(t, "", "score", "--reward", "judge", "--params", gparams, "--in", in, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check(out)
	if n := srv.Requests() - before; n != 3 {
		t.Errorf("group judge: %d requests, want 3 (2 groups, the unreadable row again; the other row is cached)", n)
	}
}

func TestScoreJudgeDefaultCache(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: judgeResponder})
	defer srv.Close()
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", home)
	t.Setenv(judge.EnvCache, "")
	params := fmt.Sprintf(`{"base_url": %q, "model": %q}`, srv.URL, openaitest.DefaultModel)
	for range 2 {
		code, out, stderr := runCLI(t, "", "score", "--reward", "judge", "--params", params, "--gold", "", "--pred", "answer: 7")
		if code != 0 || !strings.Contains(out, "score: 0.7") {
			t.Fatalf("exit %d, out %q: %s", code, out, stderr)
		}
		if !strings.Contains(stderr, filepath.Join(home, "retrain", "judge")) {
			t.Errorf("stderr does not say where verdicts are cached: %q", stderr)
		}
	}
	if srv.Requests() != 1 {
		t.Errorf("%d requests, want 1: the second run's verdict is cached", srv.Requests())
	}
}

func TestScoreJudgeRubricPair(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: "```json\n{\"faithful\": 9}\n```"}
	}})
	defer srv.Close()
	params := fmt.Sprintf(`{"base_url": %q, "model": %q, "cache": %q, "retries": 0, "rubric": [
		{"name": "faithful", "weight": 3, "description": "No made-up facts."},
		{"name": "concise", "description": "Short."}]}`, srv.URL, openaitest.DefaultModel, t.TempDir())
	code, out, stderr := runCLI(t, "", "score", "--reward", "judge", "--params", params, "--gold", "", "--pred", "A summary.")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"score: 0.675\n", "part faithful (weight 0.75): 0.9\n", "part concise (weight 0.25): failed: judge: no readable verdict"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestScoreJudgeUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--reward", "judge", "--params", `{"base_url": "http://127.0.0.1:1/v1", "verdict": "maybe"}`, "--gold", "", "--pred", "x"}, `unknown verdict "maybe"`},
		{[]string{"--concurrency", "0", "--gold", "1", "--pred", "1"}, "--concurrency must be from 1"},
	} {
		code, _, errOut := runCLI(t, "", append([]string{"score"}, tt.args...)...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("score %q: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// retrain rollout --rewards uses a judge like any reward: a group judge
// sees each task's samples in one call.
func TestRolloutWithJudge(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		n := strings.Count(string(req.Messages[0].Content), "## Response ")
		scores := make([]string, n)
		for i := range scores {
			scores[i] = fmt.Sprint(i * 3)
		}
		return openaitest.Reply{Content: `{"scores": [` + strings.Join(scores, ", ") + `]}`}
	}})
	defer srv.Close()
	dir := t.TempDir()
	rewards := filepath.Join(dir, "rewards.yaml")
	os.WriteFile(rewards, []byte(fmt.Sprintf(`rollout:
  - name: quality
    reward: judge
    params:
      base_url: %s
      model: %s
      group: true
      criteria: The answer is right and shows the work.
advantage: grpo
`, srv.URL, openaitest.DefaultModel)), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	code, _, stderr := rolloutCLI(t, "rollout", "--model", "fake", "--tasks", "2", "--n", "3", "--rewards", rewards, "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ts := readTrajectories(t, out)
	if len(ts) != 6 {
		t.Fatalf("%d trajectories", len(ts))
	}
	for _, tr := range ts {
		want := float64(tr.Sample*3) / 10
		if tr.Rewards == nil || tr.Rewards.Rollout["quality"] != want || tr.Rewards.Advantage == nil || len(tr.Rewards.Errors) > 0 {
			t.Errorf("%s: rewards %+v, want quality %v and an advantage", tr.ID, tr.Rewards, want)
		}
	}
	if srv.Requests() != 2 {
		t.Errorf("the judge got %d requests, want 2 (one per group)", srv.Requests())
	}
}

// The plumbing with a real HTTP server and the real client: retrain
// serve-model (the built-in toy model, not a useful judge) as the judge.
// Its replies hold no verdict: each row is a failed score that quotes the
// judge's reply, and the run goes on.
func TestScoreJudgeServeModel(t *testing.T) {
	base, stop := startServeModel(t, t.Context(), "")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(trajectoryRow("a", "The answer is 4.")+"\n"+`{"gold": "4", "pred": "4"}`+"\n"), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	// A short prompt and reply: the toy model is slow under the race detector.
	params := fmt.Sprintf(`{"base_url": %q, "cache": %q, "retries": 0, "max_tokens": 4, "max_retries": -1, "template": "Rate: {{response}}"}`, base, filepath.Join(dir, "cache"))
	code, _, stderr := runCLI(t, "", "score", "--reward", "judge", "--params", params, "--in", in, "--out", out, "--concurrency", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, r := range readScoreLines(t, out) {
		// A toy model may happen to write a number; either way the verdict
		// went through the server and came back.
		if r.Error != "" && !strings.Contains(r.Error, "no readable verdict in its reply") {
			t.Errorf("row %d: %q", r.Row, r.Error)
		}
	}
	if !strings.Contains(stderr, "scored 2 rows") {
		t.Errorf("stderr: %s", stderr)
	}
	stop()
}

// retrain eval with a group judge scores each task's samples together when
// it reports, as the rollout did.
func TestEvalWithGroupJudge(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		n := strings.Count(string(req.Messages[0].Content), "## Response ")
		scores := make([]string, n)
		for i := range scores {
			scores[i] = fmt.Sprint(10 - i)
		}
		return openaitest.Reply{Content: `{"scores": [` + strings.Join(scores, ", ") + `]}`}
	}})
	defer srv.Close()
	dir := t.TempDir()
	rewards := filepath.Join(dir, "rewards.yaml")
	os.WriteFile(rewards, []byte(fmt.Sprintf(`rollout:
  - name: correct
    reward: math_equal
  - name: quality
    reward: judge
    params: {base_url: %s, model: %s, group: true}
`, srv.URL, openaitest.DefaultModel)), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	code, _, stderr := rolloutCLI(t, "eval", "--model", "fake", "--tasks", "2", "--n", "2", "--rewards", rewards, "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// 2 groups in the rollout, 2 again in the report.
	if srv.Requests() != 4 {
		t.Errorf("the judge got %d requests, want 4 (one per group, twice)", srv.Requests())
	}
	b, err := os.ReadFile(strings.TrimSuffix(out, ".jsonl") + ".report.json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Rewards []struct {
			Name     string
			Mean     float64
			Min, Max float64
		}
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rep.Rewards {
		if c.Name == "quality" {
			found = true
			// Scored as groups: 10 and 9 in each (alone, this judge gives no verdict).
			if c.Min != 0.9 || c.Max != 1 {
				t.Errorf("quality: %+v, want min 0.9 and max 1 (group scores)", c)
			}
		}
	}
	if !found {
		t.Errorf("the report lacks the judge's component: %s", b)
	}
}
