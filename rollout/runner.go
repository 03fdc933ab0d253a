package rollout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/report"
)

// Scorer scores a finished, successful trajectory in place (fills
// t.Rewards); a reward calculator implements it. It is called from many
// goroutines at once. An error stops the run.
type Scorer interface {
	Score(ctx context.Context, t *retrain.Trajectory) error
}

// GroupScorer scores the finished trajectories of one task together: for
// rewards that compare a group's samples with each other (a judge that sees
// them all in one call). A reward calculator implements it. It is called
// from many goroutines at once, each time with another group. An error stops
// the run.
type GroupScorer interface {
	// ScoreGroup fills t.Rewards of each successful trajectory of group (in
	// sample order; failed ones, Error set, are skipped).
	ScoreGroup(ctx context.Context, group []*retrain.Trajectory) error
}

// Progress is reported after each finished episode, once it is delivered
// (scored, and with a group hook once its whole group is).
type Progress struct {
	// Done counts the episodes finished so far (failed ones included) out of Total.
	Done, Total int
	// Failed counts the failed episodes among Done.
	Failed int
	// MeanStepReward is the mean step reward of the successful episodes so far.
	MeanStepReward float64
	// Scored counts the episodes scored so far (RunnerOptions.Scorer), and
	// MeanReward is the mean of their total rewards (Rewards.Total).
	Scored     int
	MeanReward float64
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Last is the episode that just finished. It must not be modified.
	Last *retrain.Trajectory
}

// MaxGroupSize bounds [RunnerOptions.N] (and a [Job]'s n): far above any
// real group, low enough that counting episodes cannot overflow.
const MaxGroupSize = 1 << 20

// Defaults of [RunnerOptions].
const (
	DefaultConcurrency  = 16
	DefaultRetryBackoff = time.Second
	maxRetryBackoff     = 30 * time.Second
)

// RunnerOptions configure a [Runner]. The zero value runs one sample per
// task, [DefaultConcurrency] at a time, without retries, discarding the
// trajectories (set Sink).
type RunnerOptions struct {
	// N is the number of samples per task (the group size); zero means 1.
	N int
	// Concurrency bounds the episodes running at once; zero means
	// [DefaultConcurrency].
	Concurrency int
	// Episode is the template of each episode's options: Sampling, Dialect,
	// MaxTurns, MaxTokens, Timeout (per attempt), EnvName, ModelName. Its
	// Task, Sample and Seed are set per episode.
	Episode Options
	// Seed, when set, seeds the environments: every sample of the task at
	// index i is reset with Seed+i, so a group sees the same world. When
	// Episode.Sampling.Seed is set, sample s of task i sends it plus i*N+s,
	// so the samples of a group differ and a rerun repeats them.
	Seed *int64
	// Retries is how many more times an episode that failed with one of
	// RetryCauses is tried, after a backoff that doubles from RetryBackoff
	// (zero means [DefaultRetryBackoff]) up to 30s, with jitter.
	Retries      int
	RetryBackoff time.Duration
	// RetryCauses are the error causes worth retrying; nil means
	// {[retrain.CauseModel]} (a server that is down or overloaded). Environment
	// errors, timeouts and panics are not retried unless listed. A model
	// error that says it is permanent ([model.Retryable] false: a 400, an
	// unknown model) is never retried.
	RetryCauses []retrain.ErrorCause
	// Done holds the episodes to skip (see [Completed], for resuming).
	Done map[Key]bool
	// Sink receives each finished trajectory, failed ones included (their
	// Error set); nil discards them. Episodes cut short because the run
	// itself was canceled are not delivered.
	Sink Sink
	// Scorer, when set, scores each successful trajectory before delivery.
	Scorer Scorer
	// GroupScorer, when set, scores each task's trajectories together once
	// the whole group is done, before Advantages, instead of Scorer scoring
	// each as it finishes; groups are then delivered whole, as with
	// Advantages. When a run is resumed, the group holds only the samples
	// run again.
	GroupScorer GroupScorer
	// Advantages, when set, is called once per task with all its finished
	// trajectories of this run (failed ones included: skip them), in sample
	// order, once the whole group is done; the group is delivered to Sink
	// after it returns, so a file holds whole groups only. Without it each
	// trajectory is delivered as soon as it finishes. When a run is resumed,
	// the group holds only the samples run again.
	Advantages func(group []*retrain.Trajectory)
	// Progress, when set, is called after each finished episode once it is
	// delivered (with GroupScorer or Advantages set, when its group is
	// complete: a group's episodes are reported together), one call at a
	// time; it must return quickly. Its Last is then final: no hook writes
	// it any more.
	Progress func(Progress)
	// Remote, when set, plays each episode elsewhere (a distributed worker,
	// see package rollout/dist) instead of with the runner's environments
	// and model: it returns the episode's finished trajectory, nil when ctx
	// was canceled, or an error that stops the run. Scoring, groups,
	// advantages, the sink and the summary stay with the runner. Retries
	// are then the remote side's.
	Remote func(ctx context.Context, ep Episode) (*retrain.Trajectory, error)
}

// Episode is one episode of a run as data: the task, the sample index and
// the seeds it is played with (those the runner derives from
// [RunnerOptions].Seed and the sampling seed). A [Player] plays it.
type Episode struct {
	// Task is the episode's task.
	Task retrain.Task `json:"task"`
	// Index is the task's index in the run; Sample the sample's in its group.
	Index  int `json:"index"`
	Sample int `json:"sample"`
	// Seed seeds the environment's Reset; SamplingSeed the model's sampling.
	Seed         *int64 `json:"seed,omitempty"`
	SamplingSeed *int64 `json:"sampling_seed,omitempty"`
}

// Runner runs many episodes: N samples of every task, Concurrency at a
// time. Each worker goroutine makes one environment with the factory, calls
// Setup once and reuses it for episode after episode (each Reset starts a
// fresh episode), and Closes it at the end; an environment whose episode
// failed with an environment error or a panic is closed and replaced by a
// new one. A failed episode is recorded, never stops the others; a panic is
// recovered into a failed trajectory with its stack.
type Runner struct {
	f env.Factory
	m model.Model
	o RunnerOptions
}

// NewRunner returns a runner of environments made by f, played by m. The
// runner does not close f.
func NewRunner(f env.Factory, m model.Model, opts *RunnerOptions) *Runner {
	r := &Runner{f: f, m: m}
	if opts != nil {
		r.o = *opts
	}
	if r.o.N <= 0 {
		r.o.N = 1
	}
	if r.o.Concurrency <= 0 {
		r.o.Concurrency = DefaultConcurrency
	}
	if r.o.RetryBackoff <= 0 {
		r.o.RetryBackoff = DefaultRetryBackoff
	}
	if r.o.RetryCauses == nil {
		r.o.RetryCauses = []retrain.ErrorCause{retrain.CauseModel}
	}
	return r
}

// Summary describes a finished run.
type Summary struct {
	// Episodes counts the finished episodes: Succeeded + Failed. (When a
	// run with an Advantages hook is canceled, the finished episodes of
	// unfinished groups are counted but not delivered.)
	Episodes, Succeeded, Failed int
	// Failures counts the failed episodes by error cause
	// ([retrain.CauseUnknown] for one without a cause).
	Failures map[retrain.ErrorCause]int
	// StopReasons counts all finished episodes by stop reason.
	StopReasons map[retrain.StopReason]int
	// Skipped counts the episodes skipped as already done (resume).
	Skipped int
	// Canceled counts the episodes not finished, or finished in a group
	// the run stopped before completing (and so neither written nor
	// counted above), because the run stopped.
	Canceled int
	// Retries counts the extra attempts made.
	Retries int
	// MeanStepReward and MeanTurns average over the successful episodes.
	MeanStepReward, MeanTurns float64
	// PromptTokens and CompletionTokens sum over all finished episodes.
	PromptTokens, CompletionTokens int
	// TemplateDrift counts the episodes whose prompt token ids drifted.
	TemplateDrift int
	// Wall is the run's wall-clock time; EpisodesPerSecond is Episodes/Wall.
	Wall              time.Duration
	EpisodesPerSecond float64
}

// String formats s as a few readable lines.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "episodes: %d (%d succeeded, %d failed", s.Episodes, s.Succeeded, s.Failed)
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped as done", s.Skipped)
	}
	if s.Canceled > 0 {
		fmt.Fprintf(&b, ", %d canceled", s.Canceled)
	}
	fmt.Fprintf(&b, ") in %s, %.2f episodes/s\n", s.Wall.Round(time.Millisecond), s.EpisodesPerSecond)
	if s.Failed > 0 {
		fmt.Fprintf(&b, "failures: %s\n", report.FormatCounts(s.Failures))
	}
	if len(s.StopReasons) > 0 {
		fmt.Fprintf(&b, "stop reasons: %s\n", report.FormatCounts(s.StopReasons))
	}
	fmt.Fprintf(&b, "mean step reward: %.4g, mean turns: %.3g\n", s.MeanStepReward, s.MeanTurns)
	fmt.Fprintf(&b, "tokens: %d prompt, %d completion", s.PromptTokens, s.CompletionTokens)
	if s.Retries > 0 {
		fmt.Fprintf(&b, "\nretries: %d", s.Retries)
	}
	if s.TemplateDrift > 0 {
		fmt.Fprintf(&b, "\ntemplate drift: %d episodes (prompt token ids did not extend the previous turn's; see template_drift)", s.TemplateDrift)
	}
	return b.String()
}

// Run plays every pending episode of tasks and returns the summary. It
// returns an error only when the run itself stopped: ctx was canceled, or
// the Sink or Scorer failed; the summary then counts what finished.
func (r *Runner) Run(ctx context.Context, tasks []retrain.Task) (Summary, error) {
	if r.o.N > MaxGroupSize {
		return Summary{}, fmt.Errorf("rollout: %d samples per task is more than the limit of %d", r.o.N, MaxGroupSize)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	st := &runState{
		r: r, tasks: tasks, cancel: cancel, start: time.Now(),
		left: make([]int32, len(tasks)),
		sum:  Summary{Failures: map[retrain.ErrorCause]int{}, StopReasons: map[retrain.StopReason]int{}},
	}
	for i, t := range tasks {
		if len(r.o.Done) == 0 { // no loop over the samples: N may be large
			st.left[i] = int32(r.o.N)
			st.total += r.o.N
			continue
		}
		for s := range r.o.N {
			if r.o.Done[Key{t.ID, s}] {
				st.sum.Skipped++
			} else {
				st.left[i]++
				st.total++
			}
		}
	}
	if r.o.Advantages != nil || r.o.GroupScorer != nil {
		st.groups = map[int][]*retrain.Trajectory{}
	}
	var wg sync.WaitGroup
	for range min(r.o.Concurrency, st.total) {
		wg.Go(func() { st.worker(ctx) })
	}
	wg.Wait()

	st.sum.Canceled = st.total - st.sum.Episodes
	st.sum.Wall = time.Since(st.start)
	if secs := st.sum.Wall.Seconds(); secs > 0 {
		st.sum.EpisodesPerSecond = float64(st.sum.Episodes) / secs
	}
	if st.sum.Succeeded > 0 {
		st.sum.MeanStepReward = st.rewardSum / float64(st.sum.Succeeded)
		st.sum.MeanTurns = float64(st.turnSum) / float64(st.sum.Succeeded)
	}
	if err := context.Cause(ctx); err != nil {
		return st.sum, err
	}
	return st.sum, nil
}

// job is one episode to play.
type job struct {
	task, sample int
}

// runState is one Run's shared state; mu guards everything below it.
type runState struct {
	r      *Runner
	tasks  []retrain.Task
	cancel context.CancelCauseFunc
	start  time.Time
	total  int

	mu         sync.Mutex
	next       int                           // cursor over task*N+sample
	left       []int32                       // episodes of each task not yet finished
	groups     map[int][]*retrain.Trajectory // finished episodes of unfinished groups (Advantages only)
	groupWrite sync.Mutex                    // held while a whole group is written
	sum        Summary
	rewardSum  float64
	turnSum    int
	scored     int     // successful episodes with rewards
	totalSum   float64 // the sum of their total rewards
}

// take returns the next episode to play.
func (st *runState) take() (job, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := st.r.o.N
	for ; st.next < len(st.tasks)*n; st.next++ {
		j := job{st.next / n, st.next % n}
		if !st.r.o.Done[Key{st.tasks[j.task].ID, j.sample}] {
			st.next++
			return j, true
		}
	}
	return job{}, false
}

// stop ends the run with err.
func (st *runState) stop(err error) { st.cancel(err) }

func (st *runState) worker(ctx context.Context) {
	var e retrain.Environment
	defer func() {
		if e != nil {
			e.Close()
		}
	}()
	for ctx.Err() == nil {
		j, ok := st.take()
		if !ok {
			return
		}
		var t *retrain.Trajectory
		if st.r.o.Remote != nil {
			o := st.episodeOptions(j)
			var err error
			t, err = st.r.o.Remote(ctx, Episode{Task: o.Task, Index: j.task, Sample: j.sample, Seed: o.Seed, SamplingSeed: o.Sampling.Seed})
			if err != nil {
				st.stop(err)
				return
			}
		} else {
			t = st.play(ctx, &e, st.episodeOptions(j))
		}
		if t == nil {
			return // the run was canceled
		}
		if t.ErrorCause == "" && st.r.o.Scorer != nil && st.r.o.GroupScorer == nil {
			if err := st.score(ctx, t); err != nil {
				st.stop(err)
				return
			}
		}
		st.finish(ctx, j, t)
	}
}

// play runs one episode with its retries; nil means the run was canceled.
func (st *runState) play(ctx context.Context, e *retrain.Environment, eo Options) *retrain.Trajectory {
	o := st.r.o
	for attempt := 1; ; attempt++ {
		t, err := st.attempt(ctx, e, eo)
		t.Attempts = attempt
		if ctx.Err() != nil {
			return nil
		}
		if t.ErrorCause == "" {
			return t
		}
		if t.ErrorCause == retrain.CauseEnvironment || t.ErrorCause == retrain.CausePanic {
			if *e != nil {
				(*e).Close()
				*e = nil
			}
		}
		if attempt > o.Retries || !slices.Contains(o.RetryCauses, t.ErrorCause) || !model.Retryable(err) {
			return t // a permanent model error (a 400, an unknown model) would fail again
		}
		d := o.RetryBackoff << min(attempt-1, 16)
		d = min(d, maxRetryBackoff)
		d = d/2 + rand.N(d/2+1) // jitter: [d/2, d]
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		st.mu.Lock()
		st.sum.Retries++
		st.mu.Unlock()
	}
}

// Player plays single episodes ([Episode]) with a runner's environments,
// model, options and retries, one environment per episode at a time, kept
// and reused between episodes: the worker side of a distributed run (see
// [RunnerOptions].Remote). Its Play may be called from many goroutines.
// Close closes its environments.
type Player struct {
	st   *runState
	mu   sync.Mutex
	idle []retrain.Environment
}

// Player returns a player of the runner's episodes.
func (r *Runner) Player() *Player {
	return &Player{st: &runState{r: r, cancel: func(error) {}, sum: Summary{Failures: map[retrain.ErrorCause]int{}}}}
}

// Play plays ep (with the runner's retries) and returns its trajectory,
// unscored; nil when ctx was canceled.
func (p *Player) Play(ctx context.Context, ep Episode) *retrain.Trajectory {
	o := p.st.r.o.Episode
	o.Task, o.Sample, o.Seed = ep.Task, ep.Sample, ep.Seed
	o.Sampling.Seed = ep.SamplingSeed
	var e retrain.Environment
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		e, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	t := p.st.play(ctx, &e, o)
	if e != nil {
		p.mu.Lock()
		p.idle = append(p.idle, e)
		p.mu.Unlock()
	}
	return t
}

// Close closes the player's idle environments.
func (p *Player) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, e := range p.idle {
		errs = append(errs, e.Close())
	}
	p.idle = nil
	return errors.Join(errs...)
}

// episodeOptions returns the options of job j.
func (st *runState) episodeOptions(j job) Options {
	o := st.r.o.Episode
	o.Task = st.tasks[j.task]
	o.Sample = j.sample
	if s := st.r.o.Seed; s != nil {
		o.Seed = retrain.Seed(*s + int64(j.task))
	}
	if s := o.Sampling.Seed; s != nil {
		o.Sampling.Seed = retrain.Seed(*s + int64(j.task*st.r.o.N+j.sample))
	}
	return o
}

// attempt plays job j once, making and setting up the worker's environment
// if it has none. It never returns a nil trajectory, and recovers panics; err
// is the episode's error, if it failed.
func (st *runState) attempt(ctx context.Context, e *retrain.Environment, o Options) (t *retrain.Trajectory, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			t = newTrajectory(&o)
			finish(t, nil)
			recordFailure(t, &EpisodeError{Cause: retrain.CausePanic, Err: fmt.Errorf("panic: %v", p)})
			t.Error = fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	if *e == nil {
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if o.Timeout > 0 {
			sctx, cancel = context.WithTimeout(ctx, o.Timeout)
		}
		err := st.setup(sctx, e)
		cancel()
		if err != nil {
			t = newTrajectory(&o)
			finish(t, nil)
			recordFailure(t, &EpisodeError{Cause: classify(sctx, retrain.CauseEnvironment), Err: err})
			return t, err
		}
	}
	return Run(ctx, *e, st.r.m, &o) // the error is also recorded in t
}

// setup makes and sets up a new environment into *e.
func (st *runState) setup(ctx context.Context, e *retrain.Environment) error {
	ne, err := st.r.f.NewEnv()
	if err != nil {
		return fmt.Errorf("new environment: %w", err)
	}
	*e = ne // set before Setup so that a panic in Setup still closes it
	if err := ne.Setup(ctx); err != nil {
		ne.Close()
		*e = nil
		return fmt.Errorf("setup: %w", err)
	}
	return nil
}

// score runs the scorer on t, turning a panic into an error.
func (st *runState) score(ctx context.Context, t *retrain.Trajectory) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rollout: scorer panicked on %s: %v\n%s", t.ID, p, debug.Stack())
		}
	}()
	if err := st.r.o.Scorer.Score(ctx, t); err != nil {
		return fmt.Errorf("rollout: score %s: %w", t.ID, err)
	}
	return nil
}

// finish records t and delivers it, or its whole group when the group hook
// is set and t completes it.
func (st *runState) finish(ctx context.Context, j job, t *retrain.Trajectory) {
	deliver := []*retrain.Trajectory{t}
	st.mu.Lock()
	st.left[j.task]--
	if st.groups != nil {
		g := append(st.groups[j.task], t)
		if st.left[j.task] > 0 {
			st.groups[j.task] = g
			deliver = nil
		} else {
			delete(st.groups, j.task)
			deliver = g
		}
	}
	st.mu.Unlock()

	if st.groups != nil && len(deliver) > 0 {
		slices.SortFunc(deliver, func(a, b *retrain.Trajectory) int { return cmp.Compare(a.Sample, b.Sample) })
		if err := st.groupHook(ctx, deliver); err != nil {
			st.stop(err)
			return
		}
	}
	if sink := st.r.o.Sink; sink != nil && !st.write(sink, deliver) {
		return
	}

	// Counted once delivered: with the group hook set, a trajectory's
	// rewards are final (and no longer written by another goroutine's hook)
	// only once its group is complete.
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, t := range deliver {
		st.count(t)
	}
}

// count adds t, delivered, to the summary and reports the progress. The
// caller holds st.mu.
func (st *runState) count(t *retrain.Trajectory) {
	s := &st.sum
	s.Episodes++
	s.StopReasons[t.StopReason]++
	s.PromptTokens += t.PromptTokens
	s.CompletionTokens += t.CompletionTokens
	if t.TemplateDrift {
		s.TemplateDrift++
	}
	if t.ErrorCause != "" || t.Error != "" {
		s.Failed++
		s.Failures[cmp.Or(t.ErrorCause, retrain.CauseUnknown)]++
	} else {
		s.Succeeded++
		st.rewardSum += t.StepReward
		st.turnSum += len(t.Turns)
		if t.Rewards != nil {
			st.scored++
			st.totalSum += t.Rewards.Total
		}
	}
	if f := st.r.o.Progress; f != nil {
		p := Progress{Done: s.Episodes, Total: st.total, Failed: s.Failed, Elapsed: time.Since(st.start), Last: t}
		if s.Succeeded > 0 {
			p.MeanStepReward = st.rewardSum / float64(s.Succeeded)
		}
		if st.scored > 0 {
			p.Scored, p.MeanReward = st.scored, st.totalSum/float64(st.scored)
		}
		f(p)
	}
}

// write hands ts to sink, reporting whether all went. A group's lines are
// written together: with the group hook set, groups finishing at the same
// moment do not interleave in the output.
func (st *runState) write(sink Sink, ts []*retrain.Trajectory) bool {
	if st.groups != nil {
		st.groupWrite.Lock()
		defer st.groupWrite.Unlock()
	}
	for _, t := range ts {
		if err := sink.Write(t); err != nil {
			st.stop(err)
			return false
		}
	}
	return true
}

// groupHook calls the group scorer and the Advantages hook, turning a
// panic into an error.
func (st *runState) groupHook(ctx context.Context, g []*retrain.Trajectory) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rollout: advantages hook panicked on task %s: %v\n%s", g[0].Task.ID, p, debug.Stack())
		}
	}()
	if gs := st.r.o.GroupScorer; gs != nil {
		if err := gs.ScoreGroup(ctx, g); err != nil {
			return fmt.Errorf("rollout: score the group of task %s: %w", g[0].Task.ID, err)
		}
	}
	if st.r.o.Advantages != nil {
		st.r.o.Advantages(g)
	}
	return nil
}
