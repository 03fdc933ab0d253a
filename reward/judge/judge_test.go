package judge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward"
)

// judgeServer starts the fake OpenAI server scripted as a judge: respond
// sees the last user message of each request and the whole request.
func judgeServer(t *testing.T, respond func(last string, req *openaitest.ChatRequest) string) *openaitest.Server {
	t.Helper()
	srv := openaitest.NewServer(&openaitest.Options{Record: true, Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		last := ""
		for _, m := range req.Messages {
			if m.Role == "user" {
				last = string(m.Content)
			}
		}
		return openaitest.Reply{Content: respond(last, req)}
	}})
	t.Cleanup(srv.Close)
	return srv
}

// newJudge builds the judge reward of params pointed at srv, closed at the
// end of the test.
func newJudge(t *testing.T, srv *openaitest.Server, params map[string]any) reward.Func {
	t.Helper()
	p := map[string]any{"base_url": srv.URL, "model": openaitest.DefaultModel, "max_retries": -1}
	for k, v := range params {
		p[k] = v
	}
	reg := reward.NewRegistry()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	f, err := reg.New(Name, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.(interface{ Close() error }).Close() })
	return f
}

func sample(task, answer, response string) reward.Sample {
	return reward.Sample{Task: retrain.Task{Prompt: task, Answer: answer}, Completion: response, Step: -1}
}

func TestJudgeVerdictFormats(t *testing.T) {
	// The response names the reply the judge gives.
	replies := map[string]string{
		"bare":   "7",
		"prose":  "The summary covers the main points but is wordy.\nScore: 6",
		"json":   `{"score": 9, "reason": "accurate"}`,
		"fenced": "Verdict below.\n```json\n{\"score\": 3}\n```",
		"think":  "<think>Is it 2? Score: 2. No, it covers more.</think>\nScore: 8",
	}
	srv := judgeServer(t, func(last string, _ *openaitest.ChatRequest) string {
		for name, reply := range replies {
			if strings.Contains(last, "RESPONSE-"+name+"\n") {
				return reply
			}
		}
		return "no idea"
	})
	j := newJudge(t, srv, map[string]any{"retries": 0})
	want := map[string]float64{"bare": 0.7, "prose": 0.6, "json": 0.9, "fenced": 0.3, "think": 0.8}
	for name, w := range want {
		sc, err := j.Score(context.Background(), sample("Summarize the text.", "", "RESPONSE-"+name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if d := sc.Value - w; d > 1e-12 || d < -1e-12 {
			t.Errorf("%s: score %v, want %v", name, sc.Value, w)
		}
		if !strings.HasPrefix(sc.Detail, "judge: ") {
			t.Errorf("%s: detail %q does not quote the judge", name, sc.Detail)
		}
	}
	// Garbage: no verdict, an error that carries the judge's reply.
	_, err := j.Score(context.Background(), sample("Summarize the text.", "", "RESPONSE-garbage"))
	var ve *VerdictError
	if !errors.As(err, &ve) || ve.Reply != "no idea" || !strings.Contains(err.Error(), `"no idea"`) {
		t.Errorf("garbage verdict: err = %v, want a VerdictError quoting the reply", err)
	}
}

func TestJudgePrompt(t *testing.T) {
	srv := judgeServer(t, func(string, *openaitest.ChatRequest) string { return "Score: 10" })
	j := newJudge(t, srv, map[string]any{
		"criteria":    "It is polite.",
		"template":    "T={{task}} R={{reference}} X={{response}} C={{criteria}} F={{format}}",
		"temperature": 0.5, "max_tokens": 77,
	})
	if _, err := j.Score(context.Background(), sample("Say hi.", "hello", "hi {{task}}")); err != nil {
		t.Fatal(err)
	}
	req := srv.Recorded()[0]
	got := string(req.Messages[0].Content)
	want := `T=Say hi. R=hello X=hi {{task}} C=It is polite. F=End your reply with a line "Score: N", where N is a number from 0 (does not meet it at all) to 10 (fully meets it).`
	if got != want {
		t.Errorf("prompt:\n%s\nwant:\n%s", got, want)
	}
	if req.Temperature == nil || *req.Temperature != 0.5 || req.MaxTokens != 77 {
		t.Errorf("sampling: temperature %v, max_tokens %v", req.Temperature, req.MaxTokens)
	}
}

func TestJudgeRetriesUnreadableVerdict(t *testing.T) {
	srv := judgeServer(t, func(last string, req *openaitest.ChatRequest) string {
		if len(req.Messages) == 1 {
			return "It is a fine answer."
		}
		return "Score: 8"
	})
	j := newJudge(t, srv, nil)
	sc, err := j.Score(context.Background(), sample("2+2?", "4", "4"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Value != 0.8 || srv.Requests() != 2 {
		t.Errorf("score %v after %d requests, want 0.8 after 2", sc.Value, srv.Requests())
	}
	retry := srv.Recorded()[1].Messages
	if len(retry) != 3 || retry[1].Content != "It is a fine answer." || !strings.Contains(string(retry[2].Content), "I could not read a verdict") {
		t.Errorf("the retry does not show the judge its reply and what was wrong: %+v", retry)
	}
}

func TestJudgeUnreadableFailsTheComponent(t *testing.T) {
	srv := judgeServer(t, func(string, *openaitest.ChatRequest) string { return "I refuse to grade this." })
	reg := reward.NewRegistry()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	calc, err := reward.NewCalculator(&reward.Config{
		ErrorScore: -1,
		Rollout: []reward.Component{
			{Name: "quality", Reward: Name, Params: map[string]any{"base_url": srv.URL, "model": openaitest.DefaultModel, "retries": 1}},
			{Name: "correct", Reward: "math_equal"},
		},
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer calc.Close()
	tr := trajectory("2+2?", "4", "The answer is 4.")
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	if srv.Requests() != 2 {
		t.Errorf("%d requests, want 2 (the first and one retry)", srv.Requests())
	}
	want := map[string]float64{"quality": -1, "correct": 1}
	if diff := cmp.Diff(want, tr.Rewards.Rollout); diff != "" {
		t.Errorf("rollout components (-want +got):\n%s", diff)
	}
	if len(tr.Rewards.Errors) != 1 || !strings.Contains(tr.Rewards.Errors[0], "rollout: quality: judge: no readable verdict in 2 replies") ||
		!strings.Contains(tr.Rewards.Errors[0], "I refuse to grade this.") {
		t.Errorf("errors = %q, want the failed component with the judge's reply", tr.Rewards.Errors)
	}
}

func trajectory(task, answer, final string) *retrain.Trajectory {
	return &retrain.Trajectory{
		Task:  retrain.Task{ID: "t", Prompt: task, Answer: answer},
		Turns: []retrain.Turn{{Action: retrain.Action{Raw: final, Text: final}}},
	}
}

func TestJudgeDown(t *testing.T) {
	srv := judgeServer(t, func(string, *openaitest.ChatRequest) string { return "Score: 5" })
	url := srv.URL
	srv.Close() // nothing listens there any more
	reg := reward.NewRegistry()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	params := map[string]any{"base_url": url, "model": "judge", "max_retries": -1}
	for _, group := range []bool{false, true} {
		params["group"] = group
		calc, err := reward.NewCalculator(&reward.Config{
			Rollout: []reward.Component{{Name: "quality", Reward: Name, Params: params}, {Name: "correct", Reward: "math_equal"}},
		}, reg)
		if err != nil {
			t.Fatal(err)
		}
		group := []*retrain.Trajectory{trajectory("2+2?", "4", "4"), trajectory("2+2?", "4", "5")}
		if err := calc.ScoreGroup(context.Background(), group); err != nil {
			t.Fatalf("the run stopped: %v", err)
		}
		calc.Close()
		for i, tr := range group {
			r := tr.Rewards
			if r == nil || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "rollout: quality: judge:") {
				t.Fatalf("group %v, trajectory %d: rewards %+v, want the judge's component failed", group, i, r)
			}
			if r.Rollout["correct"] != float64(1-i) {
				t.Errorf("group %v, trajectory %d: the other component scored %v", group, i, r.Rollout["correct"])
			}
		}
	}
}

func TestJudgeRubric(t *testing.T) {
	rubric := []any{
		map[string]any{"name": "accuracy", "description": "Facts match the source.", "weight": 3},
		map[string]any{"name": "brevity", "description": "No more than three sentences."},
	}
	t.Run("one call", func(t *testing.T) {
		srv := judgeServer(t, func(last string, _ *openaitest.ChatRequest) string {
			if !strings.Contains(last, "- accuracy (weight 0.75): Facts match the source.") {
				return "the rubric is missing"
			}
			return "Accurate but long.\n```json\n{\"accuracy\": 8, \"brevity\": 2}\n```"
		})
		reg := reward.NewRegistry()
		Register(reg)
		calc, err := reward.NewCalculator(&reward.Config{Rollout: []reward.Component{{Name: "quality", Reward: Name, Weight: reward.Float(2),
			Params: map[string]any{"base_url": srv.URL, "model": openaitest.DefaultModel, "rubric": rubric}}}}, reg)
		if err != nil {
			t.Fatal(err)
		}
		defer calc.Close()
		tr := trajectory("Summarize.", "", "A long summary.")
		if err := calc.Score(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
		// weight 2 × share × criterion score
		want := map[string]float64{"quality.accuracy": 2 * 0.75 * 0.8, "quality.brevity": 2 * 0.25 * 0.2}
		if diff := cmp.Diff(want, tr.Rewards.Rollout, cmpApprox); diff != "" {
			t.Errorf("components (-want +got):\n%s", diff)
		}
		if d := tr.Rewards.Total - (1.2 + 0.1); d > 1e-12 || d < -1e-12 {
			t.Errorf("total %v, want 1.3", tr.Rewards.Total)
		}
		if srv.Requests() != 1 {
			t.Errorf("%d requests, want 1", srv.Requests())
		}
	})
	t.Run("one call, a criterion missing", func(t *testing.T) {
		srv := judgeServer(t, func(string, *openaitest.ChatRequest) string { return `{"accuracy": 10}` })
		sc, err := newJudge(t, srv, map[string]any{"rubric": rubric, "retries": 1}).Score(context.Background(), sample("Summarize.", "", "x"))
		if err != nil {
			t.Fatal(err)
		}
		if len(sc.Parts) != 2 || sc.Parts[0].Error != "" || sc.Parts[0].Value != 1 || !strings.Contains(sc.Parts[1].Error, `found no score from 0 to 10 for "brevity"`) {
			t.Errorf("parts = %+v", sc.Parts)
		}
		if sc.Value != 0.75 || srv.Requests() != 2 {
			t.Errorf("value %v after %d requests, want 0.75 after 2", sc.Value, srv.Requests())
		}
	})
	t.Run("per criterion", func(t *testing.T) {
		srv := judgeServer(t, func(last string, _ *openaitest.ChatRequest) string {
			if strings.Contains(last, "Facts match") {
				return "Score: 10"
			}
			return "Verdict unclear."
		})
		sc, err := newJudge(t, srv, map[string]any{"rubric": rubric, "per_criterion": true, "retries": 0}).Score(context.Background(), sample("Summarize.", "", "x"))
		if err != nil {
			t.Fatal(err)
		}
		if srv.Requests() != 2 || len(sc.Parts) != 2 || sc.Parts[0].Value != 1 || !strings.Contains(sc.Parts[1].Error, "Verdict unclear.") {
			t.Errorf("%d requests, parts %+v", srv.Requests(), sc.Parts)
		}
	})
}

// groupReply scores each "## Response K" of a group prompt by the number
// in its text ("answer: N" scores N), or fails when the prompt is not a
// group's.
var responseBlockRE = regexp.MustCompile(`## Response (\d+)\nanswer: (\d+)`)

func TestJudgeGroup(t *testing.T) {
	srv := judgeServer(t, func(last string, _ *openaitest.ChatRequest) string {
		if m := responseBlockRE.FindAllStringSubmatch(last, -1); m != nil {
			scores := make([]string, len(m))
			for i, x := range m {
				scores[i] = x[2]
			}
			return `{"scores": [` + strings.Join(scores, ", ") + `]}`
		}
		if i := strings.Index(last, "answer: "); i >= 0 {
			return "Score: " + strings.Fields(last[i+len("answer: "):])[0]
		}
		return "?"
	})
	reg := reward.NewRegistry()
	Register(reg)
	params := map[string]any{"base_url": srv.URL, "model": openaitest.DefaultModel, "group": true}
	cfg := &reward.Config{Rollout: []reward.Component{{Name: "rank", Reward: Name, Params: params}}, Advantage: reward.AdvDrGRPO}
	calc, err := reward.NewCalculator(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer calc.Close()
	if !calc.GroupLevel() {
		t.Fatal("a group judge is not group-level")
	}
	group := []*retrain.Trajectory{trajectory("Q", "", "answer: 2"), trajectory("Q", "", "answer: 9"), trajectory("Q", "", "answer: 4")}
	failed := trajectory("Q", "", "answer: 10")
	failed.Error, failed.ErrorCause = "model down", retrain.CauseModel
	group = append(group, failed)
	if err := calc.ScoreGroup(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	calc.Advantages(group)
	if srv.Requests() != 1 {
		t.Errorf("%d requests for a group of 3, want 1", srv.Requests())
	}
	var got []float64
	for _, tr := range group[:3] {
		got = append(got, tr.Rewards.Total)
	}
	if diff := cmp.Diff([]float64{0.2, 0.9, 0.4}, got, cmpApprox); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if a := group[1].Rewards.Advantage; a == nil || *a <= 0 {
		t.Errorf("the best sample's advantage is %v", a)
	}
	if failed.Rewards != nil {
		t.Errorf("the failed trajectory was scored: %+v", failed.Rewards)
	}

	// Too long for one call: judged sample by sample.
	params["max_group_chars"] = 100
	calc2, err := reward.NewCalculator(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer calc2.Close()
	before := srv.Requests()
	group = group[:3]
	if err := calc2.ScoreGroup(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests() - before; n != 3 {
		t.Errorf("%d requests for a group too long, want 3 (one per sample)", n)
	}
	if group[1].Rewards.Total != 0.9 || len(group[1].Rewards.Errors) > 0 {
		t.Errorf("per-sample fallback: %+v", group[1].Rewards)
	}

	// Score (one trajectory alone) asks about that one.
	before = srv.Requests()
	tr := trajectory("Q", "", "answer: 7")
	if err := calc.Score(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	if srv.Requests()-before != 1 || tr.Rewards.Total != 0.7 {
		t.Errorf("alone: total %v", tr.Rewards.Total)
	}
}

func TestJudgeCache(t *testing.T) {
	srv := judgeServer(t, func(last string, _ *openaitest.ChatRequest) string {
		return fmt.Sprintf("Score: %d", len(last)%11)
	})
	dir := t.TempDir()
	responses := []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff"}
	run := func(params map[string]any) []float64 {
		p := map[string]any{"cache": dir}
		for k, v := range params {
			p[k] = v
		}
		j := newJudge(t, srv, p)
		out := make([]float64, len(responses))
		var wg sync.WaitGroup
		for i, r := range responses { // concurrent episodes share the cache
			wg.Go(func() {
				sc, err := j.Score(context.Background(), sample("Task", "", r))
				if err != nil {
					t.Error(err)
				}
				out[i] = sc.Value
			})
		}
		wg.Wait()
		return out
	}
	first := run(nil)
	if srv.Requests() != len(responses) {
		t.Fatalf("first run: %d requests, want %d", srv.Requests(), len(responses))
	}
	second := run(nil)
	if srv.Requests() != len(responses) {
		t.Errorf("second run made %d requests, want none", srv.Requests()-len(responses))
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("cached scores differ (-first +second):\n%s", diff)
	}
	// What determines a verdict is in the key: another template, model
	// setting or criterion asks again.
	for _, params := range []map[string]any{
		{"template": "Judge: {{response}} {{format}}"},
		{"temperature": 0.7},
		{"criteria": "It is short."},
	} {
		before := srv.Requests()
		run(params)
		if n := srv.Requests() - before; n != len(responses) {
			t.Errorf("params %v: %d requests, want %d", params, n, len(responses))
		}
	}
	// An unreadable verdict is not cached.
	bad := judgeServer(t, func(string, *openaitest.ChatRequest) string { return "hmm" })
	j := newJudge(t, bad, map[string]any{"cache": dir, "retries": 0})
	for range 2 {
		j.Score(context.Background(), sample("Task", "", "z"))
	}
	if bad.Requests() != 2 {
		t.Errorf("an unreadable verdict was cached: %d requests, want 2", bad.Requests())
	}
	// A damaged entry is asked again.
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if len(files) == 0 {
		t.Fatal("no cache files")
	}
	for _, f := range files {
		os.WriteFile(f, []byte("{"), 0o644)
	}
	before := srv.Requests()
	run(nil)
	if srv.Requests()-before != len(responses) {
		t.Errorf("damaged entries: %d requests, want %d", srv.Requests()-before, len(responses))
	}
}

func TestJudgeParamErrors(t *testing.T) {
	reg := reward.NewRegistry()
	Register(reg)
	t.Setenv(EnvBaseURL, "")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1") // not a judge's default
	for _, tt := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{}, "no judge server: set base_url"},
		{map[string]any{"base_url": "fake"}, "not an http(s) URL"},
		{map[string]any{"base_url": "http://x/v1", "template": "no response here"}, "template has no {{response}}"},
		{map[string]any{"base_url": "http://x/v1", "template": "{{response}} {{answer}}"}, "unknown placeholder {{answer}}"},
		{map[string]any{"base_url": "http://x/v1", "verdict": "maybe"}, `unknown verdict "maybe"`},
		{map[string]any{"base_url": "http://x/v1", "scale": []any{5, 1}}, "min < max"},
		{map[string]any{"base_url": "http://x/v1", "retries": 50}, "retries is 50"},
		{map[string]any{"base_url": "http://x/v1", "rubric": []any{map[string]any{"name": "a b", "description": "x"}}}, `name "a b"`},
		{map[string]any{"base_url": "http://x/v1", "rubric": []any{map[string]any{"name": "a"}}}, "needs a description"},
		{map[string]any{"base_url": "http://x/v1", "per_criterion": true}, "per_criterion goes with a rubric"},
		{map[string]any{"base_url": "http://x/v1", "api_key_env": "A-B"}, "not an environment variable"},
		{map[string]any{"base_url": "http://x/v1", "temperatur": 1}, `unknown param "temperatur"`},
	} {
		_, err := reg.New(Name, tt.params)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, reward.ErrBadParams) {
			t.Errorf("params %v: err = %v, want ErrBadParams saying %q", tt.params, err, tt.want)
		}
	}
	// The operator's environment gives the endpoint.
	t.Setenv(EnvBaseURL, "http://127.0.0.1:1/v1")
	f, err := reg.New(Name, nil)
	if err != nil {
		t.Fatalf("with $%s: %v", EnvBaseURL, err)
	}
	f.(*Judge).Close()
}

func TestJudgeAPIKeyFromEnvironment(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{APIKey: "sekrit", Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: "Score: 10"}
	}})
	defer srv.Close()
	t.Setenv("MY_JUDGE_KEY", "sekrit")
	j := newJudge(t, srv, map[string]any{"api_key_env": "MY_JUDGE_KEY"})
	if sc, err := j.Score(context.Background(), sample("x", "", "y")); err != nil || sc.Value != 1 {
		t.Errorf("score %v, err %v", sc.Value, err)
	}
	t.Setenv(EnvAPIKey, "wrong")
	j = newJudge(t, srv, nil)
	if _, err := j.Score(context.Background(), sample("x", "", "y")); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("with the wrong key: err = %v, want a 401", err)
	}
}

// A group too long for the judge's context is judged sample by sample.
func TestJudgeGroupContextFallback(t *testing.T) {
	long := strings.Repeat("word ", 150)
	srv := openaitest.NewServer(&openaitest.Options{MaxContext: 1500, Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: "Score: 6"}
	}})
	defer srv.Close()
	f := newJudge(t, srv, map[string]any{"group": true, "max_tokens": 8, "template": "{{response}} {{format}}", "group_template": "{{responses}} {{format}}"})
	samples := []reward.Sample{sample("Q", "", long+"1"), sample("Q", "", long+"2"), sample("Q", "", long+"3")}
	scores, errs := f.(reward.GroupFunc).ScoreGroup(context.Background(), samples)
	for i := range samples {
		if errs[i] != nil || scores[i].Value != 0.6 {
			t.Errorf("sample %d: %v, %v", i, scores[i], errs[i])
		}
	}
	if srv.Requests() != 4 {
		t.Errorf("%d requests, want 4: the group (refused), then one per sample", srv.Requests())
	}
}
