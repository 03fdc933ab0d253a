package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
)

var task = retrain.Task{ID: "t1", Prompt: "What is 6*7?", Answer: "42"}

func TestRunStopReasons(t *testing.T) {
	tests := []struct {
		name      string
		env       *scriptEnv
		model     model.Model
		opts      Options
		stop      retrain.StopReason
		turns     int
		reward    float64
		cause     retrain.ErrorCause
		wantError bool
	}{
		{name: "terminated", env: &scriptEnv{}, model: textModel("thinking", "answer 42"),
			stop: retrain.StopTerminated, turns: 2, reward: 0.9},
		{name: "truncated", env: &scriptEnv{truncateAt: 3}, model: textModel("hmm"),
			stop: retrain.StopTruncated, turns: 3, reward: -0.3},
		{name: "max turns", env: &scriptEnv{}, model: textModel("hmm"), opts: Options{MaxTurns: 4},
			stop: retrain.StopMaxTurns, turns: 4, reward: -0.4},
		{name: "default max turns", env: &scriptEnv{}, model: textModel("hmm"),
			stop: retrain.StopMaxTurns, turns: DefaultMaxTurns, reward: -0.1 * DefaultMaxTurns},
		// textModel reports 3 completion tokens a turn: a budget of 7 allows 3 turns.
		{name: "max tokens", env: &scriptEnv{}, model: textModel("hmm"), opts: Options{MaxTokens: 7},
			stop: retrain.StopMaxTokens, turns: 3, reward: -0.3},
		{name: "deadline", env: &scriptEnv{}, opts: Options{Timeout: 20 * time.Millisecond},
			model: modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
				if len(req.Messages) > 2 { // second turn: hang until the deadline
					<-ctx.Done()
					return model.Completion{}, ctx.Err()
				}
				return model.Completion{Text: "hmm"}, nil
			}),
			stop: retrain.StopDeadline, turns: 1, reward: -0.1, cause: retrain.CauseTimeout, wantError: true},
		{name: "model error", env: &scriptEnv{}, model: modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
			if len(req.Messages) > 2 {
				return model.Completion{}, errServerDown
			}
			return model.Completion{Text: "hmm"}, nil
		}), stop: retrain.StopError, turns: 1, reward: -0.1, cause: retrain.CauseModel, wantError: true},
		{name: "step error", env: &scriptEnv{stepErr: errors.New("sandbox died")}, model: textModel("hmm"),
			stop: retrain.StopError, turns: 1, cause: retrain.CauseEnvironment, wantError: true},
		{name: "reset error", env: &scriptEnv{resetErr: errors.New("no such task")}, model: textModel("hmm"),
			stop: retrain.StopError, turns: 0, cause: retrain.CauseEnvironment, wantError: true},
		{name: "panic", env: &scriptEnv{panicStep: true}, model: textModel("hmm"),
			stop: retrain.StopError, turns: 0, cause: retrain.CausePanic, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Task = task
			tr, err := Run(context.Background(), tt.env, tt.model, &opts)
			if tr == nil {
				t.Fatal("Run returned a nil trajectory")
			}
			if (err != nil) != tt.wantError {
				t.Fatalf("err = %v, want error %v", err, tt.wantError)
			}
			if tr.StopReason != tt.stop {
				t.Errorf("StopReason = %q, want %q (error %q)", tr.StopReason, tt.stop, tr.Error)
			}
			if len(tr.Turns) != tt.turns {
				t.Errorf("%d turns, want %d", len(tr.Turns), tt.turns)
			}
			if diff := tr.StepReward - tt.reward; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("StepReward = %v, want %v", tr.StepReward, tt.reward)
			}
			if tr.ErrorCause != tt.cause {
				t.Errorf("ErrorCause = %q, want %q", tr.ErrorCause, tt.cause)
			}
			if tt.wantError {
				var ee *EpisodeError
				if !errors.As(err, &ee) || ee.Cause != tt.cause {
					t.Errorf("error %v is not an *EpisodeError with cause %q", err, tt.cause)
				}
				if tr.Error == "" {
					t.Error("failed trajectory has no Error")
				}
			}
			if tr.ID != "t1#0" || tr.Task.ID != "t1" {
				t.Errorf("ID %q, task %q", tr.ID, tr.Task.ID)
			}
			if tr.Messages == nil || tr.Turns == nil {
				t.Error("Messages or Turns is nil (would encode as null)")
			}
		})
	}
}

func TestRunModelErrorWrapsCause(t *testing.T) {
	_, err := Run(context.Background(), &scriptEnv{}, modelFunc(func(context.Context, model.Request) (model.Completion, error) {
		return model.Completion{}, errServerDown
	}), &Options{Task: task})
	if !errors.Is(err, errServerDown) {
		t.Errorf("error %v does not wrap the model's error", err)
	}
}

func TestRunPanicKeepsStack(t *testing.T) {
	tr, _ := Run(context.Background(), &scriptEnv{panicStep: true}, textModel("x"), &Options{Task: task})
	if !strings.Contains(tr.Error, "scripted panic") || !strings.Contains(tr.Error, "goroutine") {
		t.Errorf("Error lacks the panic value or stack: %q", tr.Error)
	}
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		cancel()
		<-ctx.Done()
		return model.Completion{}, ctx.Err()
	})
	tr, err := Run(ctx, &scriptEnv{}, m, &Options{Task: task})
	if !errors.Is(err, context.Canceled) || tr.ErrorCause != retrain.CauseCanceled {
		t.Errorf("err %v, cause %q; want canceled", err, tr.ErrorCause)
	}
}

func TestRunRecordsTurns(t *testing.T) {
	e := &scriptEnv{toolSecs: 0.25}
	temp := 0.7
	tr, err := Run(context.Background(), e, textModel("hmm", "answer 42"), &Options{
		Task: task, Sample: 3, Seed: retrain.Seed(9), EnvName: "script", ModelName: "m",
		Sampling: model.Sampling{Temperature: &temp, MaxTokens: 100, Extra: map[string]any{"top_k": 20}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr.ID != "t1#3" || tr.Sample != 3 || *tr.Seed != 9 || tr.Env != "script" || tr.Model != "m" {
		t.Errorf("identity: %q sample %d seed %v env %q model %q", tr.ID, tr.Sample, tr.Seed, tr.Env, tr.Model)
	}
	wantSampling := map[string]any{"temperature": 0.7, "max_tokens": 100, "top_k": 20}
	if diff := cmp.Diff(wantSampling, tr.Sampling); diff != "" {
		t.Errorf("Sampling (-want +got):\n%s", diff)
	}
	wantMsgs := []string{"user:What is 6*7?", "assistant:hmm", "user:say answer X", "assistant:answer 42", "user:done"}
	if diff := cmp.Diff(wantMsgs, roles(tr.Messages)); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
	if tr.Turns[0].PromptMessages != 1 || tr.Turns[1].PromptMessages != 3 {
		t.Errorf("PromptMessages = %d, %d; want 1, 3", tr.Turns[0].PromptMessages, tr.Turns[1].PromptMessages)
	}
	if tr.Turns[0].Observation.Messages != nil || tr.InitialObservation.Messages != nil {
		t.Error("observations keep their messages")
	}
	if tr.InitialObservation.Content != task.Prompt || tr.ResetInfo["seed"] == nil {
		t.Errorf("initial observation %+v, reset info %v", tr.InitialObservation, tr.ResetInfo)
	}
	if !tr.Turns[1].Terminated || tr.Turns[1].Reward != 1 || tr.Turns[1].Info["step"] != 2 || tr.Turns[0].FinishReason != "stop" {
		t.Errorf("turn 2 = %+v", tr.Turns[1])
	}
	if tr.PromptTokens != 20 || tr.CompletionTokens != 6 {
		t.Errorf("tokens %d prompt, %d completion; want 20, 6", tr.PromptTokens, tr.CompletionTokens)
	}
	if tr.Timings.Tools != 0.5 || tr.Timings.Total < tr.Timings.Model {
		t.Errorf("timings %+v", tr.Timings)
	}
}

func roles(ms []retrain.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Role)+":"+m.Content)
	}
	return out
}

// An environment that gives no messages gets a conversation built from the
// prompt, the dialect's system prompt, assistant messages and feedback.
func TestRunBuildsConversation(t *testing.T) {
	e := &dialectScriptEnv{scriptEnv: scriptEnv{noMessages: true}, d: testDialect{"test"}}
	tr, err := Run(context.Background(), e, textModel("hmm", "answer 42"), &Options{Task: task})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"system:you have 1 tools", "user:What is 6*7?", "assistant:[hmm]",
		"user:feedback: say answer X", "assistant:[answer 42]", "user:feedback: done"}
	if diff := cmp.Diff(want, roles(tr.Messages)); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
}

// The dialect parses completions; tools are sent only for the native dialect.
func TestRunDialectAndTools(t *testing.T) {
	for _, name := range []string{"native", "smolagent"} {
		t.Run(name, func(t *testing.T) {
			var sawTools atomic.Int32
			m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
				sawTools.Store(int32(len(req.Tools)))
				return model.Completion{Text: "call calc"}, nil
			})
			e := &dialectScriptEnv{d: testDialect{name}}
			tr, _ := Run(context.Background(), e, m, &Options{Task: task, MaxTurns: 1})
			if got := tr.Turns[0].Action; got.Kind != retrain.ActionToolCall || got.ToolCalls[0].Name != "calc" {
				t.Errorf("action %+v, want a parsed tool call", got)
			}
			want := int32(0)
			if name == "native" {
				want = 1
			}
			if sawTools.Load() != want {
				t.Errorf("request had %d tools, want %d", sawTools.Load(), want)
			}
		})
	}
}

func TestRunPlainTextNativeCalls(t *testing.T) {
	m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		return model.Completion{ToolCalls: []retrain.ToolCall{{ID: "c1", Name: "calc"}}}, nil
	})
	tr, _ := Run(context.Background(), &scriptEnv{}, m, &Options{Task: task, MaxTurns: 1})
	if a := tr.Turns[0].Action; a.Kind != retrain.ActionToolCall || len(a.ToolCalls) != 1 {
		t.Errorf("action %+v, want the native tool call kept", a)
	}
}

// The token budget caps each request's max_tokens to what is left.
func TestRunTokenBudgetCapsRequests(t *testing.T) {
	var got []int
	m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		got = append(got, req.Sampling.MaxTokens)
		return model.Completion{Text: "hmm", Tokens: &retrain.Tokens{Text: []string{"a", "b", "c", "d"}}}, nil
	})
	tr, _ := Run(context.Background(), &scriptEnv{}, m, &Options{Task: task, MaxTokens: 10, Sampling: model.Sampling{MaxTokens: 5}})
	if diff := cmp.Diff([]int{5, 5, 2}, got); diff != "" {
		t.Errorf("max_tokens per request (-want +got):\n%s", diff)
	}
	if tr.StopReason != retrain.StopMaxTokens || tr.CompletionTokens != 12 {
		t.Errorf("stop %q after %d tokens", tr.StopReason, tr.CompletionTokens)
	}
}

func TestRunTemplateDrift(t *testing.T) {
	tests := []struct {
		name    string
		prompts [][]int32 // prompt ids per turn
		outs    [][]int32 // completion ids per turn
		want    []*bool
		drift   bool
		shared  bool // the earlier turns' ids are views of the last prompt's
	}{
		{name: "extends", prompts: [][]int32{{1, 2}, {1, 2, 7, 8, 3}, {1, 2, 7, 8, 3, 9, 4}}, outs: [][]int32{{7, 8}, {9}, {5}},
			want: []*bool{nil, ptr(true), ptr(true)}, shared: true},
		{name: "re-rendered history", prompts: [][]int32{{1, 2}, {1, 2, 7, 3}}, outs: [][]int32{{7, 8}, {9}},
			want: []*bool{nil, ptr(false)}, drift: true},
		{name: "shorter prompt", prompts: [][]int32{{1, 2}, {1, 2}}, outs: [][]int32{{7}, {9}},
			want: []*bool{nil, ptr(false)}, drift: true},
		{name: "no prompt ids", prompts: [][]int32{nil, {1, 2, 7}}, outs: [][]int32{{7}, {9}},
			want: []*bool{nil, nil}},
		{name: "no completion ids", prompts: [][]int32{{1, 2}, {1, 2, 7}}, outs: [][]int32{nil, {9}},
			want: []*bool{nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turn := 0
			m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
				c := model.Completion{Text: "hmm", PromptTokenIDs: tt.prompts[turn]}
				if tt.outs[turn] != nil {
					c.Tokens = &retrain.Tokens{IDs: tt.outs[turn]}
				}
				turn++
				return c, nil
			})
			tr, _ := Run(context.Background(), &scriptEnv{}, m, &Options{Task: task, MaxTurns: len(tt.prompts)})
			var got []*bool
			for _, tu := range tr.Turns {
				got = append(got, tu.PrefixMatch)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PrefixMatch (-want +got):\n%s", diff)
			}
			if tr.TemplateDrift != tt.drift {
				t.Errorf("TemplateDrift = %v, want %v", tr.TemplateDrift, tt.drift)
			}
			for i, tu := range tr.Turns {
				var ids []int32
				if tu.Action.Tokens != nil {
					ids = tu.Action.Tokens.IDs
				}
				if !cmp.Equal(tu.PromptTokenIDs, tt.prompts[i]) || !cmp.Equal(ids, tt.outs[i]) {
					t.Errorf("turn %d: prompt ids %v, completion ids %v; want %v, %v", i, tu.PromptTokenIDs, ids, tt.prompts[i], tt.outs[i])
				}
				if len(tu.PromptTokenIDs) != cap(tu.PromptTokenIDs) {
					t.Errorf("turn %d: prompt ids of capacity %d for %d ids: an append could write into another turn's", i, cap(tu.PromptTokenIDs), len(tu.PromptTokenIDs))
				}
			}
			if tt.shared {
				// The earlier turns' ids are views of the last prompt's.
				last := tr.Turns[len(tr.Turns)-1].PromptTokenIDs
				for i, tu := range tr.Turns[:len(tr.Turns)-1] {
					if &tu.PromptTokenIDs[0] != &last[0] || &tu.Action.Tokens.IDs[0] != &last[len(tu.PromptTokenIDs)] {
						t.Errorf("turn %d: ids not shared with the last prompt's", i)
					}
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// rollerEnv plays its own episodes.
type rollerEnv struct {
	scriptEnv
	err error
}

func (e *rollerEnv) Rollout(ctx context.Context, m model.Model, o *Options) (*retrain.Trajectory, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("no deadline set")
	}
	return &retrain.Trajectory{StopReason: "custom", Turns: []retrain.Turn{{Reward: float64(o.MaxTurns)}}}, e.err
}

func TestRunRoller(t *testing.T) {
	tr, err := Run(context.Background(), &rollerEnv{}, textModel("x"), &Options{Task: task, Sample: 1, EnvName: "r", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason != "custom" || tr.Turns[0].Reward != DefaultMaxTurns || tr.ID != "t1#1" || tr.Env != "r" || tr.Messages == nil {
		t.Errorf("trajectory %+v", tr)
	}
	tr, err = Run(context.Background(), &rollerEnv{err: errServerDown}, textModel("x"), &Options{Task: task, Timeout: time.Minute})
	if !errors.Is(err, errServerDown) || tr.ErrorCause != retrain.CauseEnvironment || tr.Error == "" {
		t.Errorf("roller failure: err %v, cause %q", err, tr.ErrorCause)
	}
}

// The trajectory names the dialect that parsed the output: the options', else
// the environment's; none for plain text, and then the key is left out.
func TestRunRecordsDialect(t *testing.T) {
	tests := []struct {
		name string
		env  retrain.Environment
		opts Options
		want string
	}{
		{"environment's", &dialectScriptEnv{d: testDialect{"envs"}}, Options{}, "envs"},
		{"options' over the environment's", &dialectScriptEnv{d: testDialect{"envs"}}, Options{Dialect: testDialect{"opts"}}, "opts"},
		{"plain text", &scriptEnv{}, Options{}, ""},
		{"failed episode", &dialectScriptEnv{scriptEnv: scriptEnv{resetErr: errors.New("no")}, d: testDialect{"envs"}}, Options{}, "envs"},
		{"roller", &rollerEnv{}, Options{Dialect: testDialect{"opts"}, Timeout: time.Minute}, "opts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Task = task
			tr, _ := Run(context.Background(), tt.env, textModel("answer 42"), &tt.opts)
			if tr.Dialect != tt.want {
				t.Errorf("Dialect = %q, want %q", tr.Dialect, tt.want)
			}
			b, err := json.Marshal(tr)
			if err != nil {
				t.Fatal(err)
			}
			if has := bytes.Contains(b, []byte(`"dialect":`)); has != (tt.want != "") {
				t.Errorf("JSON has a dialect key: %v, want %v:\n%s", has, tt.want != "", b)
			}
		})
	}
}
