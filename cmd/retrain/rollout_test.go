package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"go.uber.org/goleak"
)

// rolloutCLI runs retrain with args and returns the exit code, stdout and stderr.
func rolloutCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

// readTrajectories parses every line of path.
func readTrajectories(t *testing.T, path string) []retrain.Trajectory {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []retrain.Trajectory
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var tr retrain.Trajectory
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		out = append(out, tr)
	}
	return out
}

// The fake model plays whole calculator episodes: a tool call, the result,
// the right answer.
func TestRolloutFakeCalculator(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stdout, stderr := rolloutCLI(t, "rollout", "--model", "fake", "--tasks", "5", "--n", "2", "--concurrency", "3", "--out", out, "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"using the in-process fake OpenAI server (scripted replies, not a real model)",
		"no --data: using 5 generated arithmetic tasks", "episodes: 10 (10 succeeded, 0 failed)", "wrote 10 trajectories to " + out} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	trs := readTrajectories(t, out)
	if len(trs) != 10 {
		t.Fatalf("%d trajectories, want 10", len(trs))
	}
	for _, tr := range trs {
		last := tr.Messages[len(tr.Messages)-1]
		if tr.Failed() || tr.StopReason != "terminated" || len(tr.Turns) != 2 || tr.Env != "calculator" {
			t.Errorf("%s: stop %q, %d turns, error %q", tr.ID, tr.StopReason, len(tr.Turns), tr.Error)
			continue
		}
		if tr.Turns[0].Action.Kind != retrain.ActionToolCall || tr.Turns[0].Action.ToolCalls[0].Name != "calculator" {
			t.Errorf("%s: first action %+v, want a calculator call", tr.ID, tr.Turns[0].Action)
		}
		if got := tr.Turns[1].Action.Text; got != tr.Task.Answer {
			t.Errorf("%s: answered %q, want %q (last message %q)", tr.ID, got, tr.Task.Answer, last.Content)
		}
		if tr.Turns[0].Action.Tokens == nil || len(tr.Turns[0].Action.Tokens.Logprobs) == 0 {
			t.Errorf("%s: no log-probabilities recorded", tr.ID)
		}
	}
	if !strings.Contains(stdout, "── episode arith-") || !strings.Contains(stdout, "[assistant] <tool>") {
		t.Errorf("no readable episode on stdout:\n%s", stdout)
	}
}

func TestRolloutTokenIDs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	if code, _, stderr := rolloutCLI(t, "rollout", "--model", "fake", "--tasks", "2", "--token-ids", "--quiet", "--out", out); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, tr := range readTrajectories(t, out) {
		second := tr.Turns[1]
		if len(second.PromptTokenIDs) == 0 || second.PrefixMatch == nil {
			t.Errorf("%s: prompt ids %d, prefix match %v: the drift check did not run", tr.ID, len(second.PromptTokenIDs), second.PrefixMatch)
		}
	}
}

func TestRolloutResume(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	args := []string{"rollout", "--model", "fake", "--tasks", "4", "--n", "2", "--quiet", "--out", out}
	if code, _, stderr := rolloutCLI(t, args...); code != 0 {
		t.Fatalf("first run: exit %d; stderr:\n%s", code, stderr)
	}
	before, _ := os.ReadFile(out)

	code, _, stderr := rolloutCLI(t, args...)
	if code != 2 || !strings.Contains(stderr, "already exists: pass --resume") {
		t.Errorf("rerun without --resume: exit %d, stderr:\n%s", code, stderr)
	}

	// A killed run: the last line is cut short.
	cut := before[:len(before)-40]
	os.WriteFile(out, cut, 0o644)
	code, _, stderr = rolloutCLI(t, append(args, "--resume")...)
	if code != 0 || !strings.Contains(stderr, "episodes: 1 (1 succeeded, 0 failed, 7 skipped as done)") {
		t.Errorf("resume after a cut: exit %d, stderr:\n%s", code, stderr)
	}
	if trs := readTrajectories(t, out); len(trs) != 8 {
		t.Errorf("%d lines after resume, want 8", len(trs))
	}
	full, _ := os.ReadFile(out)
	code, _, stderr = rolloutCLI(t, append(args, "--resume")...)
	if again, _ := os.ReadFile(out); code != 0 || !bytes.Equal(full, again) {
		t.Errorf("a resume of a complete file changed it (exit %d):\n%s", code, stderr)
	}

	if code, _, stderr := rolloutCLI(t, append(args, "--overwrite", "--tasks", "1", "--n", "1")...); code != 0 {
		t.Errorf("--overwrite: exit %d:\n%s", code, stderr)
	}
	if trs := readTrajectories(t, out); len(trs) != 1 {
		t.Errorf("%d lines after --overwrite, want 1", len(trs))
	}
}

// A server given by URL, its model found by GET /models.
func TestRolloutServerURL(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := openaitest.NewServer(&openaitest.Options{Models: []string{"served-model"}, Responder: fakeResponder})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _, stderr := rolloutCLI(t, "rollout", "--model", srv.URL, "--tasks", "3", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "fake OpenAI server") {
		t.Error("a real URL was announced as the fake")
	}
	trs := readTrajectories(t, out)
	if len(trs) != 3 || trs[0].Model != "served-model" || trs[0].Failed() {
		t.Errorf("%d trajectories, model %q, error %q", len(trs), trs[0].Model, trs[0].Error)
	}

	two := openaitest.NewServer(&openaitest.Options{Models: []string{"a", "b"}})
	defer two.Close()
	code, _, stderr = rolloutCLI(t, "rollout", "--model", two.URL, "--tasks", "1", "--quiet", "--out", filepath.Join(t.TempDir(), "x.jsonl"))
	if code != 2 || !strings.Contains(stderr, "serves 2 models (a, b): name one with --model-name") {
		t.Errorf("two models, no name: exit %d, stderr:\n%s", code, stderr)
	}
}

// Episodes that all fail make the command fail, with the first error.
func TestRolloutAllFailed(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Error: &openaitest.ErrorReply{Status: 400, Message: "bad request for the test"}}
	}})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _, stderr := rolloutCLI(t, "rollout", "--model", srv.URL, "--model-name", openaitest.DefaultModel, "--tasks", "2", "--retries", "0", "--quiet", "--out", out)
	if code != 1 || !strings.Contains(stderr, "all 2 episodes failed") || !strings.Contains(stderr, "bad request for the test") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, tr := range readTrajectories(t, out) {
		if tr.ErrorCause != "model" {
			t.Errorf("%s: cause %q, want model", tr.ID, tr.ErrorCause)
		}
	}
}

func TestRolloutGSM8K(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _, stderr := rolloutCLI(t, "rollout", "--model", "fake", "--data", "../../rollout/testdata/gsm8k.jsonl", "--limit", "3", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	trs := readTrajectories(t, out)
	if len(trs) != 3 {
		t.Fatalf("%d trajectories, want 3", len(trs))
	}
	answers := map[string]string{}
	for _, tr := range trs {
		answers[tr.Task.ID] = tr.Task.Answer
	}
	if diff := cmp.Diff(map[string]string{"1": "18", "2": "3", "3": "70000"}, answers); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	for _, tr := range trs {
		if tr.Failed() || tr.StopReason != "terminated" {
			t.Errorf("%s: %s %s", tr.ID, tr.StopReason, tr.Error)
		}
	}
}

func TestRolloutConfigFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte("model: fake\nenv: calculator\nn: 3\ntasks: 2\ntemperature: 0.5\ntimeout: 1m\nenv_config:\n  max_steps: 4\nquiet: true\nout: "+out+"\n"), 0o644)
	code, _, stderr := rolloutCLI(t, "rollout", "--config", cfg, "--n", "1")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	trs := readTrajectories(t, out)
	if len(trs) != 2 { // --n 1 overrides n: 3
		t.Fatalf("%d trajectories, want 2", len(trs))
	}
	if trs[0].Sampling["temperature"] != 0.5 {
		t.Errorf("sampling %v: the config's temperature was not applied", trs[0].Sampling)
	}
}

func TestRolloutErrors(t *testing.T) {
	dir := t.TempDir()
	badKey := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badKey, []byte("model: fake\nnn: 4\n"), 0o644)
	notMap := filepath.Join(dir, "list.yaml")
	os.WriteFile(notMap, []byte("- a\n- b\n"), 0o644)
	badType := filepath.Join(dir, "type.yaml")
	os.WriteFile(badType, []byte("n: many\n"), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown environment", []string{"--model", "fake", "--env", "nope"}, []string{`unknown environment "nope"`, "calculator", `run "retrain envs"`}},
		{"missing data file", []string{"--model", "fake", "--data", filepath.Join(dir, "none.jsonl")}, []string{"none.jsonl does not exist"}},
		{"bad data row", []string{"--model", "fake", "--data", badType}, []string{"line 1", "not a JSON object"}},
		{"unknown config key", []string{"--config", badKey}, []string{"bad.yaml line 2", `unknown key "nn"`, "known keys:", "max_turns"}},
		{"config not a mapping", []string{"--config", notMap}, []string{"must be a mapping"}},
		{"config bad value", []string{"--model", "fake", "--config", badType}, []string{"type.yaml", "many"}},
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml")}, []string{"none.yaml does not exist"}},
		{"not a URL", []string{"--model", "gpt"}, []string{`"gpt" is neither`}},
		{"bad env config", []string{"--model", "fake", "--env-config", "[1]"}, []string{"not a JSON object"}},
		{"env config rejected", []string{"--model", "fake", "--env-config", `{"bogus": 1}`}, []string{"bogus"}},
		{"bad n", []string{"--model", "fake", "--n", "0"}, []string{"--n is 0"}},
		{"bad top-p", []string{"--model", "fake", "--top-p", "2"}, []string{"--top-p is 2"}},
		{"resume and overwrite", []string{"--model", "fake", "--resume", "--overwrite"}, []string{"contradict"}},
		{"positional", []string{"--model", "fake", "extra"}, []string{`unexpected argument "extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"rollout", "--out", out}, tt.args...)
			wantUsageError(t, out, args, tt.want)
		})
	}
}

// Every flag (but --config) is a config key, so a config file can set it.
func TestRolloutFlagsAreConfigKeys(t *testing.T) {
	var errOut bytes.Buffer
	if code := run(t.Context(), []string{"rollout", "--help"}, stdio{in: strings.NewReader(""), out: io.Discard, err: &errOut}); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	keys := configKeys()
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(errOut.String(), -1) {
		flags = append(flags, m[1])
	}
	if len(flags) != len(keys)+1 {
		t.Errorf("%d flags, %d config keys: %v vs %v", len(flags), len(keys), flags, keys)
	}
	for _, f := range flags {
		if f != "config" && !slices.Contains(keys, strings.ReplaceAll(f, "-", "_")) {
			t.Errorf("flag --%s has no config key", f)
		}
	}
	var c rolloutConfig
	copyConfigField(&c, &rolloutConfig{MaxTurns: 7}, "max-turns")
	if c.MaxTurns != 7 {
		t.Error("copyConfigField did not copy max-turns")
	}
}

func TestFakeResponder(t *testing.T) {
	msg := func(role, content string) openaitest.Message {
		return openaitest.Message{Role: role, Content: openaitest.Content(content)}
	}
	smolSystem := msg("system", "call tools with <tool>{...}</tool>; results come back in <result></result> blocks")
	tests := []struct {
		name  string
		req   openaitest.ChatRequest
		reply string
		call  string
	}{
		{"smolagent call", openaitest.ChatRequest{Messages: []openaitest.Message{smolSystem, msg("user", "What is (12 + 3) * 4?")}},
			`<tool>{"name": "calculator", "args": {"expression":"(12 + 3) * 4"}}</tool>`, ""},
		{"smolagent answer", openaitest.ChatRequest{Messages: []openaitest.Message{smolSystem, msg("user", "What is 2 * 3?"),
			msg("assistant", "<tool>…</tool>"), msg("user", "<result>6</result>")}}, "<answer>6</answer>", ""},
		{"hermes call", openaitest.ChatRequest{Messages: []openaitest.Message{msg("system", "use <tool_call></tool_call>"), msg("user", "What is 2 * 3?")}},
			`<tool_call>{"name": "calculator", "arguments": {"expression":"2 * 3"}}</tool_call>`, ""},
		{"native call", openaitest.ChatRequest{Messages: []openaitest.Message{msg("user", "What is 2 * 3?")}, Tools: []openaitest.Tool{{Type: "function"}}},
			"", `{"expression":"2 * 3"}`},
		{"native answer", openaitest.ChatRequest{Messages: []openaitest.Message{msg("user", "What is 2 * 3?"), msg("assistant", ""), msg("tool", "6")}},
			"<answer>6</answer>", ""},
		{"word problem guess", openaitest.ChatRequest{Messages: []openaitest.Message{smolSystem, msg("user", "Tom has 16 eggs and eats 3. How many are left?")}},
			"<answer>3</answer>", ""},
		{"tool error", openaitest.ChatRequest{Messages: []openaitest.Message{smolSystem, msg("user", "What is 2 / 0?"), msg("assistant", "x"), msg("user", "<result>Error: division by zero</result>")}},
			"<answer>0</answer>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeResponder(&tt.req)
			if r.Content != tt.reply {
				t.Errorf("content %q, want %q", r.Content, tt.reply)
			}
			if tt.call != "" && (len(r.ToolCalls) != 1 || r.ToolCalls[0].Function.Arguments != tt.call) {
				t.Errorf("tool calls %+v, want one with %s", r.ToolCalls, tt.call)
			}
		})
	}
}

// A game needs no task: without --data its episodes get empty tasks (no
// arithmetic prompt above the board, no notice about generated tasks), and
// the game's own step limit (64 for tic-tac-toe) applies, not 16 turns.
func TestRolloutGameWithoutData(t *testing.T) {
	out := filepath.Join(t.TempDir(), "g.jsonl")
	code, _, stderr := rolloutCLI(t, "rollout", "--model", "fake", "--env", "tictactoe", "--tasks", "2", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "arithmetic") {
		t.Errorf("stderr speaks of arithmetic tasks:\n%s", stderr)
	}
	trs := readTrajectories(t, out)
	if len(trs) != 2 {
		t.Fatalf("%d trajectories, want 2", len(trs))
	}
	for _, tr := range trs {
		if tr.Task.Prompt != "" || tr.Task.Answer != "" || !strings.HasPrefix(tr.Task.ID, "episode-") {
			t.Errorf("%s: task %+v, want an empty task with an id", tr.ID, tr.Task)
		}
		for _, m := range tr.Messages {
			if strings.Contains(m.Content, "What is") {
				t.Errorf("%s: an arithmetic prompt leaked into the game: %q", tr.ID, m.Content)
			}
		}
		if tr.StopReason == retrain.StopMaxTurns && len(tr.Turns) == 16 {
			t.Errorf("%s: cut at the default 16 turns, not the game's own limit", tr.ID)
		}
	}
}
