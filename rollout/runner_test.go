package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
)

// memSink collects trajectories in delivery order.
type memSink struct {
	mu sync.Mutex
	ts []*retrain.Trajectory
}

func (s *memSink) Write(t *retrain.Trajectory) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ts = append(s.ts, t)
	return nil
}

func (s *memSink) byID() map[string]*retrain.Trajectory {
	m := map[string]*retrain.Trajectory{}
	for _, t := range s.ts {
		m[t.ID] = t
	}
	return m
}

// countingFactory makes scriptEnvs and counts them.
type countingFactory struct {
	made   atomic.Int32
	closed atomic.Int32
	newEnv func() *scriptEnv
}

func (f *countingFactory) NewEnv() (retrain.Environment, error) {
	f.made.Add(1)
	e := &scriptEnv{}
	if f.newEnv != nil {
		e = f.newEnv()
	}
	return &closeCounter{scriptEnv: e, closed: &f.closed}, nil
}

func (f *countingFactory) Close() error { return nil }

type closeCounter struct {
	*scriptEnv
	closed *atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

// answerModel answers every task right after one thinking turn, reading
// the answer from the prompt "What is X?" of tasks made by numTasks.
func answerModel() model.Model {
	return modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		if len(req.Messages) == 1 {
			return model.Completion{Text: "thinking", Usage: model.Usage{PromptTokens: 5, CompletionTokens: 2}}, nil
		}
		ans := strings.TrimSuffix(strings.TrimPrefix(req.Messages[0].Content, "What is "), "?")
		return model.Completion{Text: "answer " + ans, Usage: model.Usage{PromptTokens: 7, CompletionTokens: 3}}, nil
	})
}

func numTasks(n int) []retrain.Task {
	ts := make([]retrain.Task, n)
	for i := range ts {
		ts[i] = retrain.Task{ID: fmt.Sprintf("q%d", i), Prompt: fmt.Sprintf("What is %d?", i), Answer: fmt.Sprint(i)}
	}
	return ts
}

func TestRunnerGroupsAndSummary(t *testing.T) {
	sink := &memSink{}
	f := &countingFactory{}
	r := NewRunner(f, answerModel(), &RunnerOptions{N: 4, Concurrency: 3, Sink: sink, Seed: retrain.Seed(100),
		Episode: Options{EnvName: "script", Sampling: model.Sampling{Seed: retrain.Seed(1000)}}})
	sum, err := r.Run(context.Background(), numTasks(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.ts) != 20 {
		t.Fatalf("%d trajectories, want 20", len(sink.ts))
	}
	got := sink.byID()
	for i := range 5 {
		for s := range 4 {
			tr := got[fmt.Sprintf("q%d#%d", i, s)]
			if tr == nil {
				t.Fatalf("missing q%d#%d", i, s)
			}
			if tr.Sample != s || *tr.Seed != int64(100+i) || tr.Sampling["seed"] != int64(1000+i*4+s) || tr.Attempts != 1 {
				t.Errorf("%s: sample %d seed %d sampling seed %v attempts %d", tr.ID, tr.Sample, *tr.Seed, tr.Sampling["seed"], tr.Attempts)
			}
		}
	}
	want := Summary{Episodes: 20, Succeeded: 20, Failures: map[retrain.ErrorCause]int{}, StopReasons: map[retrain.StopReason]int{retrain.StopTerminated: 20},
		MeanStepReward: 0.9, MeanTurns: 2, PromptTokens: 20 * 12, CompletionTokens: 20 * 5}
	if diff := cmp.Diff(want, sum, cmpSummary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if sum.EpisodesPerSecond <= 0 || sum.Wall <= 0 {
		t.Errorf("rate %v, wall %v", sum.EpisodesPerSecond, sum.Wall)
	}
	// At most one environment per worker, reused, all closed.
	if m := f.made.Load(); m < 1 || m > 3 || f.closed.Load() != m {
		t.Errorf("made %d environments, closed %d; want 1 to 3, all closed", m, f.closed.Load())
	}
}

var cmpSummary = cmp.Options{
	cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }),
	cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".Wall" || n == ".EpisodesPerSecond"
	}, cmp.Ignore()),
}

func TestRunnerConcurrencyBound(t *testing.T) {
	const conc = 4
	var inflight, peak atomic.Int32
	gate := make(chan struct{})
	var once sync.Once
	m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n == conc {
			once.Do(func() { close(gate) })
		}
		select { // the first calls wait until conc are in flight at once
		case <-gate:
		case <-ctx.Done():
			return model.Completion{}, ctx.Err()
		}
		return model.Completion{Text: "answer x"}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum, err := NewRunner(&countingFactory{}, m, &RunnerOptions{N: 3, Concurrency: conc}).Run(ctx, numTasks(10))
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() != conc || sum.Episodes != 30 {
		t.Errorf("peak %d in flight (want %d), %d episodes", peak.Load(), conc, sum.Episodes)
	}
}

// flakyModel fails the first failures calls for each task whose prompt
// contains bad, then answers.
func flakyModel(bad string, failures int) model.Model {
	var mu sync.Mutex
	calls := map[string]int{}
	return modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		p := req.Messages[0].Content
		mu.Lock()
		calls[p]++
		n := calls[p]
		mu.Unlock()
		if strings.Contains(p, bad) && n <= failures {
			return model.Completion{}, errServerDown
		}
		return answerModel().Generate(ctx, req)
	})
}

func TestRunnerRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		retries  int
		attempts int
		failed   bool
	}{
		{name: "retry then success", failures: 2, retries: 3, attempts: 3},
		{name: "retries exhausted", failures: 100, retries: 2, attempts: 3, failed: true},
		{name: "no retries", failures: 1, retries: 0, attempts: 1, failed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &memSink{}
			r := NewRunner(&countingFactory{}, flakyModel("What is 1?", tt.failures), &RunnerOptions{
				Retries: tt.retries, RetryBackoff: time.Millisecond, Concurrency: 2, Sink: sink})
			sum, err := r.Run(context.Background(), numTasks(3))
			if err != nil {
				t.Fatal(err)
			}
			got := sink.byID()
			if len(got) != 3 {
				t.Fatalf("%d trajectories, want 3: the run must go on", len(got))
			}
			bad := got["q1#0"]
			if bad.Attempts != tt.attempts || bad.Failed() != tt.failed {
				t.Errorf("q1: attempts %d failed %v (%s); want %d, %v", bad.Attempts, bad.Failed(), bad.Error, tt.attempts, tt.failed)
			}
			if tt.failed && (bad.ErrorCause != retrain.CauseModel || !strings.Contains(bad.Error, "server down")) {
				t.Errorf("q1: cause %q error %q", bad.ErrorCause, bad.Error)
			}
			if got["q0#0"].Failed() || got["q2#0"].Failed() {
				t.Error("healthy tasks failed")
			}
			wantFailed := 0
			if tt.failed {
				wantFailed = 1
			}
			if sum.Failed != wantFailed || sum.Failures[retrain.CauseModel] != wantFailed || sum.Retries != tt.attempts-1 {
				t.Errorf("summary failed %d by cause %v retries %d", sum.Failed, sum.Failures, sum.Retries)
			}
		})
	}
}

// Environment errors are not retried by default, and the broken
// environment is replaced.
func TestRunnerEnvironmentErrorNotRetried(t *testing.T) {
	var n atomic.Int32
	f := &countingFactory{newEnv: func() *scriptEnv {
		if n.Add(1) == 1 {
			return &scriptEnv{stepErr: errors.New("sandbox died")}
		}
		return &scriptEnv{}
	}}
	sink := &memSink{}
	sum, err := NewRunner(f, answerModel(), &RunnerOptions{Concurrency: 1, Retries: 5, Sink: sink}).Run(context.Background(), numTasks(3))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failures[retrain.CauseEnvironment] != 1 || sum.Succeeded != 2 || sum.Retries != 0 {
		t.Errorf("summary %+v", sum)
	}
	if f.made.Load() != 2 || f.closed.Load() != 2 {
		t.Errorf("made %d environments, closed %d; want 2, 2", f.made.Load(), f.closed.Load())
	}
}

type setupFailEnv struct{ scriptEnv }

func (e *setupFailEnv) Setup(ctx context.Context) error { return errors.New("no sandbox") }

func TestRunnerSetupFailure(t *testing.T) {
	f := env.FactoryFunc(func() (retrain.Environment, error) { return &setupFailEnv{}, nil })
	sink := &memSink{}
	sum, err := NewRunner(f, answerModel(), &RunnerOptions{N: 2, Sink: sink}).Run(context.Background(), numTasks(2))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failures[retrain.CauseEnvironment] != 4 || len(sink.ts) != 4 || !strings.Contains(sink.ts[0].Error, "setup: no sandbox") {
		t.Errorf("summary %+v, first error %q", sum, sink.ts[0].Error)
	}
}

type panicFactory struct{}

func (panicFactory) NewEnv() (retrain.Environment, error) { panic("factory exploded") }
func (panicFactory) Close() error                         { return nil }

func TestRunnerRecoversPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    env.Factory
		want string
	}{
		{"in step", env.FactoryFunc(func() (retrain.Environment, error) { return &scriptEnv{panicStep: true}, nil }), "scripted panic"},
		{"in factory", panicFactory{}, "factory exploded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			sum, err := NewRunner(tc.f, answerModel(), &RunnerOptions{Sink: sink, Concurrency: 2}).Run(context.Background(), numTasks(3))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failures[retrain.CausePanic] != 3 || len(sink.ts) != 3 {
				t.Fatalf("summary %+v", sum)
			}
			if e := sink.ts[0].Error; !strings.Contains(e, tc.want) || !strings.Contains(e, "goroutine") {
				t.Errorf("error lacks the panic or its stack: %q", e)
			}
		})
	}
}

func TestRunnerAdvantagesDeliversWholeGroups(t *testing.T) {
	sink := &memSink{}
	var hooked atomic.Int32
	r := NewRunner(&countingFactory{}, answerModel(), &RunnerOptions{N: 3, Concurrency: 4, Sink: sink,
		Advantages: func(g []*retrain.Trajectory) {
			hooked.Add(1)
			for i, t := range g {
				if t.Sample != i || t.Task.ID != g[0].Task.ID {
					panic("group out of order")
				}
				a := float64(i)
				t.Rewards = &retrain.Rewards{Advantage: &a}
			}
		}})
	if _, err := r.Run(context.Background(), numTasks(4)); err != nil {
		t.Fatal(err)
	}
	if hooked.Load() != 4 || len(sink.ts) != 12 {
		t.Fatalf("hook called %d times, %d delivered", hooked.Load(), len(sink.ts))
	}
	for i := 0; i < 12; i += 3 { // delivered group by group, each with its advantages
		for j := range 3 {
			tr := sink.ts[i+j]
			if tr.Task.ID != sink.ts[i].Task.ID || tr.Rewards == nil || *tr.Rewards.Advantage != float64(j) {
				t.Errorf("position %d: %s, rewards %v", i+j, tr.ID, tr.Rewards)
			}
		}
	}
}

func TestRunnerSkipsDone(t *testing.T) {
	sink := &memSink{}
	done := map[Key]bool{{"q0", 0}: true, {"q0", 1}: true, {"q2", 1}: true}
	sum, err := NewRunner(&countingFactory{}, answerModel(), &RunnerOptions{N: 2, Done: done, Sink: sink}).Run(context.Background(), numTasks(3))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range sink.byID() {
		ids = append(ids, id)
	}
	if diff := cmp.Diff([]string{"q1#0", "q1#1", "q2#0"}, ids, cmpSorted); diff != "" || sum.Skipped != 3 {
		t.Errorf("ran (-want +got):\n%s skipped %d", diff, sum.Skipped)
	}
}

var cmpSorted = cmp.Transformer("sort", func(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

type scorerFunc func(ctx context.Context, t *retrain.Trajectory) error

func (f scorerFunc) Score(ctx context.Context, t *retrain.Trajectory) error { return f(ctx, t) }

func TestRunnerScorerAndProgress(t *testing.T) {
	sink := &memSink{}
	var progress []Progress
	r := NewRunner(&countingFactory{}, flakyModel("What is 1?", 100), &RunnerOptions{Sink: sink, Concurrency: 2,
		Scorer: scorerFunc(func(ctx context.Context, t *retrain.Trajectory) error {
			t.Rewards = &retrain.Rewards{Total: t.StepReward * 10}
			return nil
		}),
		Progress: func(p Progress) { progress = append(progress, p) },
	})
	if _, err := r.Run(context.Background(), numTasks(4)); err != nil {
		t.Fatal(err)
	}
	for _, tr := range sink.ts {
		if tr.Failed() != (tr.Rewards == nil) {
			t.Errorf("%s: failed %v, rewards %v: only successes are scored", tr.ID, tr.Failed(), tr.Rewards)
		}
	}
	if len(progress) != 4 {
		t.Fatalf("%d progress reports, want 4", len(progress))
	}
	last := progress[3]
	if last.Done != 4 || last.Total != 4 || last.Failed != 1 || last.MeanStepReward < 0.89 || last.Last == nil {
		t.Errorf("last progress %+v", last)
	}
	for i, p := range progress {
		if p.Done != i+1 {
			t.Errorf("report %d says done %d", i, p.Done)
		}
	}
}

func TestRunnerStopsOnSinkOrScorerError(t *testing.T) {
	boom := errors.New("disk full")
	for _, o := range []RunnerOptions{
		{Sink: sinkFunc(func(*retrain.Trajectory) error { return boom })},
		{Scorer: scorerFunc(func(context.Context, *retrain.Trajectory) error { return boom })},
	} {
		o.Concurrency = 2
		sum, err := NewRunner(&countingFactory{}, answerModel(), &o).Run(context.Background(), numTasks(50))
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
		if sum.Episodes >= 50 {
			t.Errorf("the run went on after the error: %d episodes", sum.Episodes)
		}
	}
}

type sinkFunc func(*retrain.Trajectory) error

func (f sinkFunc) Write(t *retrain.Trajectory) error { return f(t) }

func TestRunnerCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	m := modelFunc(func(c context.Context, req model.Request) (model.Completion, error) {
		if calls.Add(1) == 5 {
			cancel()
		}
		if c.Err() != nil {
			return model.Completion{}, c.Err()
		}
		return answerModel().Generate(c, req)
	})
	sink := &memSink{}
	sum, err := NewRunner(&countingFactory{}, m, &RunnerOptions{Concurrency: 1, Sink: sink}).Run(ctx, numTasks(10))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want canceled", err)
	}
	for _, tr := range sink.ts {
		if tr.Failed() {
			t.Errorf("%s delivered as failed (%s): episodes cut by the run's cancellation are not delivered", tr.ID, tr.ErrorCause)
		}
	}
	if sum.Episodes != 2 || sum.Canceled != 8 {
		t.Errorf("episodes %d canceled %d; want 2, 8", sum.Episodes, sum.Canceled)
	}
}

// BenchmarkRunner measures the runner's own overhead per episode, with a
// model and environment that do nothing.
func BenchmarkRunner(b *testing.B) {
	tasks := numTasks(b.N)
	m := textModel("answer 1")
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := NewRunner(&countingFactory{}, m, &RunnerOptions{Concurrency: 8}).Run(context.Background(), tasks); err != nil {
		b.Fatal(err)
	}
}

// slowSink yields between writes, so that groups finishing together would
// interleave unless the runner writes each group as one.
type slowSink struct{ memSink }

func (s *slowSink) Write(t *retrain.Trajectory) error {
	time.Sleep(200 * time.Microsecond)
	return s.memSink.Write(t)
}

func TestRunnerGroupsDoNotInterleave(t *testing.T) {
	sink := &slowSink{}
	const n, tasks = 4, 24
	r := NewRunner(&countingFactory{}, answerModel(), &RunnerOptions{N: n, Concurrency: 16, Sink: sink,
		Advantages: func([]*retrain.Trajectory) {}})
	if _, err := r.Run(context.Background(), numTasks(tasks)); err != nil {
		t.Fatal(err)
	}
	if len(sink.ts) != n*tasks {
		t.Fatalf("%d delivered, want %d", len(sink.ts), n*tasks)
	}
	for i, tr := range sink.ts {
		if i%n != 0 && tr.Task.ID != sink.ts[i-1].Task.ID {
			t.Fatalf("position %d (%s) splits the group of %s", i, tr.ID, sink.ts[i-1].Task.ID)
		}
	}
}

// permanentErr is a model error that says retrying will not help.
type permanentErr struct{}

func (permanentErr) Error() string   { return "HTTP 400: bad request" }
func (permanentErr) Retryable() bool { return false }

// A model error that says it is permanent (a 400) is not retried; the
// episode is recorded as failed after one attempt.
func TestRunnerPermanentModelErrorNotRetried(t *testing.T) {
	var calls atomic.Int32
	m := modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		calls.Add(1)
		return model.Completion{}, fmt.Errorf("openai: %w", permanentErr{})
	})
	sink := &memSink{}
	sum, err := NewRunner(&countingFactory{}, m, &RunnerOptions{Retries: 3, RetryBackoff: time.Millisecond, Sink: sink}).
		Run(context.Background(), numTasks(1))
	if err != nil {
		t.Fatal(err)
	}
	tr := sink.byID()["q0#0"]
	if calls.Load() != 1 || tr == nil || tr.Attempts != 1 || tr.ErrorCause != retrain.CauseModel || sum.Retries != 0 {
		t.Errorf("model called %d times, trajectory %+v, retries %d; want one attempt, failed with cause model", calls.Load(), tr, sum.Retries)
	}
}

// A group size past MaxGroupSize is refused at once: the run neither
// counts nor starts 9e18 episodes.
func TestRunnerRefusesHugeN(t *testing.T) {
	r := NewRunner(env.FactoryFunc(func() (retrain.Environment, error) { return &scriptEnv{}, nil }), textModel("answer 4"),
		&RunnerOptions{N: 9_000_000_000_000_000_000})
	sum, err := r.Run(t.Context(), []retrain.Task{{ID: "a", Prompt: "2+2", Answer: "4"}})
	if err == nil || !strings.Contains(err.Error(), "limit") || sum.Episodes != 0 {
		t.Fatalf("Run = %+v, %v; want the limit's error", sum, err)
	}
}

// groupScorerFunc adapts a function to GroupScorer.
type groupScorerFunc func(ctx context.Context, g []*retrain.Trajectory) error

func (f groupScorerFunc) ScoreGroup(ctx context.Context, g []*retrain.Trajectory) error {
	return f(ctx, g)
}

func TestRunnerGroupScorer(t *testing.T) {
	sink := &memSink{}
	var groups, alone atomic.Int32
	r := NewRunner(&countingFactory{}, answerModel(), &RunnerOptions{N: 3, Concurrency: 4, Sink: sink,
		Scorer: scorerFunc(func(context.Context, *retrain.Trajectory) error { alone.Add(1); return nil }),
		GroupScorer: groupScorerFunc(func(ctx context.Context, g []*retrain.Trajectory) error {
			groups.Add(1)
			if len(g) != 3 || ctx == nil {
				return fmt.Errorf("group of %d", len(g))
			}
			for i, tr := range g {
				tr.Rewards = &retrain.Rewards{Total: float64(i)}
			}
			return nil
		})})
	if _, err := r.Run(context.Background(), numTasks(2)); err != nil {
		t.Fatal(err)
	}
	if groups.Load() != 2 || alone.Load() != 0 || len(sink.ts) != 6 {
		t.Fatalf("group scorer called %d times, scorer %d times, %d delivered", groups.Load(), alone.Load(), len(sink.ts))
	}
	for i, tr := range sink.ts {
		if tr.Rewards == nil || tr.Rewards.Total != float64(i%3) {
			t.Errorf("position %d: rewards %v", i, tr.Rewards)
		}
	}

	// Its error stops the run.
	r = NewRunner(&countingFactory{}, answerModel(), &RunnerOptions{N: 2, Sink: &memSink{},
		GroupScorer: groupScorerFunc(func(context.Context, []*retrain.Trajectory) error { return errors.New("judge exploded") })})
	if _, err := r.Run(context.Background(), numTasks(2)); err == nil || !strings.Contains(err.Error(), "judge exploded") {
		t.Errorf("err = %v, want the group scorer's", err)
	}
}
