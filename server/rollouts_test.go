package server

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/toolenv"
	wire "github.com/retrain-rl/retrain/internal/openenvwire"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward"
)

// rolloutLines posts a rollout request and returns the status and the
// decoded NDJSON lines (or the error body).
func rolloutLines(t *testing.T, url, body string) (int, []RolloutLine, string) {
	t.Helper()
	resp, err := http.Post(url+"/v1/rollouts", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.WriteString(sc.Text())
		}
		return resp.StatusCode, nil, b.String()
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q, want application/x-ndjson", ct)
	}
	var lines []RolloutLine
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l RolloutLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return 200, lines, ""
}

func TestRollouts(t *testing.T) {
	model := openaitest.NewServer(&openaitest.Options{Responder: openaitest.ArithmeticResponder})
	t.Cleanup(model.Close)
	srv, url := start(t, &Options{ModelURLs: []string{model.URL}})

	req := map[string]any{
		"env":   "calculator",
		"tasks": []map[string]any{{"id": "a", "prompt": "What is 6 * 7?", "answer": "42"}, {"id": "b", "prompt": "What is 2 + 3?", "answer": "6"}},
		"n":     2,
		"model": map[string]any{"base_url": model.URL, "model": openaitest.DefaultModel},
		"reward": map[string]any{
			"rollout":   []map[string]any{{"name": "correct", "reward": "math_equal"}},
			"advantage": "dr_grpo",
		},
		"max_turns": 4,
	}
	body, _ := json.Marshal(req)
	status, lines, errBody := rolloutLines(t, url, string(body))
	if status != 200 {
		t.Fatalf("status %d: %s", status, errBody)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 4 trajectories and a summary", len(lines))
	}
	correct := map[string]float64{"a": 1, "b": 0} // the fake computes 2+3=5; the reference says 6
	for _, l := range lines[:4] {
		tr := l.Trajectory
		if l.Type != "trajectory" || tr == nil {
			t.Fatalf("line %+v, want a trajectory", l)
		}
		if tr.Error != "" || tr.StopReason != "terminated" || tr.Env != "calculator" {
			t.Errorf("%s: error %q stop %q env %q", tr.ID, tr.Error, tr.StopReason, tr.Env)
		}
		if tr.Rewards == nil || tr.Rewards.Rollout["correct"] != correct[tr.Task.ID] {
			t.Errorf("%s: rewards %+v, want correct=%v", tr.ID, tr.Rewards, correct[tr.Task.ID])
		}
		if tr.Rewards == nil || tr.Rewards.Advantage == nil || *tr.Rewards.Advantage != 0 {
			t.Errorf("%s: advantage %v, want 0 (both samples of a group score alike)", tr.ID, tr.Rewards)
		}
		if len(tr.Turns) != 2 || tr.Turns[0].Action.Tokens.Len() == 0 {
			t.Errorf("%s: %d turns, want 2 with tokens", tr.ID, len(tr.Turns))
		}
	}
	sum := lines[4]
	if sum.Type != "summary" || sum.Summary == nil || sum.Summary.Episodes != 4 || sum.Summary.Succeeded != 4 {
		t.Fatalf("summary line %+v", sum)
	}
	if sum.Summary.MeanReward == nil || *sum.Summary.MeanReward != 0.5 {
		t.Errorf("mean reward %v, want 0.5", sum.Summary.MeanReward)
	}
	if sum.Summary.SuccessRate == nil || *sum.Summary.SuccessRate != 0.5 {
		t.Errorf("success rate %v, want 0.5 (task a right, b wrong)", sum.Summary.SuccessRate)
	}
	if srv.metrics.rollouts.Load() != 1 || srv.metrics.rolloutEpisodes.Load() != 4 {
		t.Errorf("rollout metrics %d/%d, want 1/4", srv.metrics.rollouts.Load(), srv.metrics.rolloutEpisodes.Load())
	}
}

func TestRolloutDatasetAndErrors(t *testing.T) {
	model := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: "4"}
	}})
	t.Cleanup(model.Close)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tasks.jsonl"), []byte(`{"question": "2+2?", "answer": "#### 4"}`+"\n"+`{"question": "3+3?", "answer": "6"}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.jsonl"), []byte(`{"prompt": "x"}`+"\n"), 0o644)
	_, url := start(t, &Options{DataDir: dir, ModelURLs: []string{model.URL + "/"}})

	status, lines, body := rolloutLines(t, url, `{"dataset": "tasks.jsonl", "model": {"base_url": "`+model.URL+`"}}`)
	if status != 200 || len(lines) != 3 {
		t.Fatalf("dataset rollout: %d %s %v", status, body, lines)
	}
	if r := lines[0].Trajectory.StepReward + lines[1].Trajectory.StepReward; r != 1 {
		t.Errorf("step rewards sum %v, want 1 (single_turn scores the answer 4 right once)", r)
	}

	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"Escape", `{"dataset": "../secret.jsonl", "model": {"base_url": "` + model.URL + `"}}`, 400, "inside the server's data directory"},
		{"Missing", `{"dataset": "none.jsonl", "model": {"base_url": "` + model.URL + `"}}`, 404, "does not exist"},
		{"NoTasks", `{"model": {"base_url": "` + model.URL + `"}}`, 400, "no tasks"},
		{"NoModel", `{"tasks": [{"prompt": "x"}]}`, 400, "model.base_url is required"},
		{"Weights", `{"tasks": [{"prompt": "x"}], "model": {"base_url": "local", "weights": "/etc/passwd"}}`, 403, "model.weights may be set only by the operator"},
		{"ModelNotAllowed", `{"tasks": [{"prompt": "x"}], "model": {"base_url": "http://127.0.0.1:9/v1"}}`, 403, "is not allowed"},
		{"UnknownKey", `{"taks": []}`, 400, "taks"},
		{"UnknownEnv", `{"env": "nope", "tasks": [{"prompt": "x"}], "model": {"base_url": "` + model.URL + `"}}`, 404, "served:"},
		{"BadReward", `{"tasks": [{"prompt": "x"}], "model": {"base_url": "` + model.URL + `"}, "reward": {"advantage": "ppo"}}`, 400, "unknown advantage"},
		{"BadEnvConfig", `{"env": "counter", "env_config": {"x": 1}, "tasks": [{"prompt": "x"}], "model": {"base_url": "` + model.URL + `"}}`, 400, "unknown config key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := rolloutLines(t, url, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("status %d body %s; want %d and %q", status, body, tc.status, tc.want)
			}
		})
	}

	// Without a data directory, datasets are refused.
	_, url2 := start(t, &Options{ModelURLs: []string{model.URL}})
	status, _, body = rolloutLines(t, url2, `{"dataset": "tasks.jsonl", "model": {"base_url": "`+model.URL+`"}}`)
	if status != http.StatusForbidden || !strings.Contains(body, "--data-dir") {
		t.Errorf("no data dir: %d %s", status, body)
	}
}

// A rollout request without rewards scores with the environment's default
// rewards, which /schema lists; a request's own rewards replace them.
func TestRolloutDefaultRewards(t *testing.T) {
	model := openaitest.NewServer(&openaitest.Options{Responder: openaitest.ArithmeticResponder})
	t.Cleanup(model.Close)
	reg := testRegistry()
	spec := env.NewSpec("scored", "the calculator, scored", nil, func(struct{}) (env.Factory, error) {
		return env.New("calculator", nil)
	})
	spec.Rewards = toolenv.CalculatorRewards()
	reg.MustRegisterSpec(spec)
	_, url := start(t, &Options{Registry: reg, ModelURLs: []string{model.URL}})

	_, _, body := httpDo(t, "GET", url+"/envs/scored/schema", "", nil)
	var s wire.Schema
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("schema: %v: %s", err, body)
	}
	var listed reward.Config
	if err := json.Unmarshal(s.Rewards, &listed); err != nil {
		t.Fatalf("schema rewards %s: %v", s.Rewards, err)
	}
	if diff := cmp.Diff(toolenv.CalculatorRewards(), &listed); diff != "" {
		t.Errorf("/schema rewards (-registered +listed):\n%s", diff)
	}
	_, _, body = httpDo(t, "GET", url+"/envs/counter/schema", "", nil)
	if strings.Contains(body, `"rewards"`) {
		t.Errorf("counter has no default rewards, yet /schema lists some: %s", body)
	}

	for _, tc := range []struct {
		reward string
		want   map[string]float64
	}{
		{"", map[string]float64{"correct": 1, "format": 0.1}},
		{`, "reward": {"rollout": [{"name": "right", "reward": "numeric"}]}`, map[string]float64{"right": 1}},
	} {
		req := `{"env": "scored", "tasks": [{"id": "a", "prompt": "What is 6 * 7?", "answer": "42"}],
			"model": {"base_url": "` + model.URL + `", "model": "` + openaitest.DefaultModel + `"}` + tc.reward + `}`
		status, lines, errBody := rolloutLines(t, url, req)
		if status != 200 || len(lines) != 2 || lines[0].Trajectory == nil {
			t.Fatalf("reward %q: status %d, %d lines: %s", tc.reward, status, len(lines), errBody)
		}
		tr := lines[0].Trajectory
		if tr.Rewards == nil {
			t.Fatalf("reward %q: not scored", tc.reward)
		}
		if diff := cmp.Diff(tc.want, tr.Rewards.Rollout, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
			t.Errorf("reward %q: rollout rewards (-want +got):\n%s", tc.reward, diff)
		}
		if sum := lines[1].Summary; sum == nil || sum.MeanReward == nil {
			t.Errorf("reward %q: summary %+v has no mean reward", tc.reward, sum)
		}
		// The defaults name a correctness component (correct: the fake
		// answers 42, right); numeric is one too.
		if sum := lines[1].Summary; sum == nil || sum.SuccessRate == nil || *sum.SuccessRate != 1 {
			t.Errorf("reward %q: summary %+v: success rate, want 1", tc.reward, sum)
		}
	}
}
