package grpo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/backprop"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/train"
	"github.com/retrain-rl/retrain/trainview"
)

// The defaults of [Options]: tuned so that the built-in model goes from
// about 73% to above 97% held-out accuracy at temperature 1 in a few
// minutes on two cores (see docs/training.md).
const (
	DefaultSteps            = 40
	DefaultTasksPerStep     = 16
	DefaultSamplesPerTask   = 4
	DefaultLearningRate     = 2e-4
	DefaultClipRange        = 0.2
	DefaultMaxGradNorm      = 1.0
	DefaultMaxEpisodeTokens = 256
	DefaultMaxTurns         = 4
	DefaultUpdates          = 2
	DefaultEvalTasks        = 200
	DefaultEvalSamples      = 4
	DefaultEvalSeed         = 999
)

// EnvName is the environment trained on.
const EnvName = train.EnvName

// Options configure [Run]. The zero value of a field means its default.
type Options struct {
	// Start is the starting policy's weights (default: the built-in
	// model's). Run does not modify them.
	Start *local.Weights
	// Name is the model's name in the trajectories (default
	// local.DefaultName).
	Name string
	// Steps is the number of steps: each samples a batch of episodes and
	// updates the policy on it (default DefaultSteps).
	Steps int
	// TasksPerStep is the number of tasks sampled per step and
	// SamplesPerTask the episodes per task, the group size (defaults
	// DefaultTasksPerStep, DefaultSamplesPerTask; a group needs at least 2).
	TasksPerStep, SamplesPerTask int
	// LearningRate is AdamW's learning rate, constant (default
	// DefaultLearningRate).
	LearningRate float64
	// LRDecay decays the learning rate linearly from LearningRate at the
	// first step to a tenth of it at the last.
	LRDecay bool
	// ClipRange is PPO's ε: the importance ratio is clipped to [1-ε, 1+ε]
	// (default DefaultClipRange).
	ClipRange float64
	// KLCoef weighs the k3 estimate of the KL divergence to the starting
	// model in the loss (default 0: no penalty; the KL is still reported).
	KLCoef float64
	// MaxGradNorm clips the gradient's global norm (default
	// DefaultMaxGradNorm).
	MaxGradNorm float64
	// WeightDecay is AdamW's decoupled weight decay of the matrices
	// (default 0).
	WeightDecay float64
	// Updates is the number of optimizer steps per batch: the batch's
	// sequences are split into that many mini-batches of at least 8
	// sequences (default DefaultUpdates). Above 1, later updates are
	// off-policy and the clip matters.
	Updates int
	// MaxEpisodeTokens caps the completion tokens of an episode over all
	// its turns, and MaxTurns its turns, so a rambling episode cannot stall
	// a step: every malformed turn brings the environment's feedback into the
	// sequence, and the backward pass costs the square of its length
	// (defaults DefaultMaxEpisodeTokens, DefaultMaxTurns; a calculator task
	// takes 2 turns).
	MaxEpisodeTokens, MaxTurns int
	// Temperature is the sampling temperature of the training episodes
	// (default 1).
	Temperature float64
	// Seed seeds the tasks, the environments, the sampling and the
	// mini-batch order (the same seed and GOMAXPROCS give the same run).
	Seed int64
	// EvalTasks is the number of held-out tasks evaluated before and after
	// training (rollout.ArithmeticTasks with EvalSeed, never trained on),
	// EvalSamples the samples per task, at temperature 1 (defaults
	// DefaultEvalTasks, DefaultEvalSamples, DefaultEvalSeed; negative
	// EvalTasks: no evaluation).
	EvalTasks, EvalSamples int
	EvalSeed               int64
	// Concurrency is the number of episodes played at once and of
	// goroutines computing gradients (default GOMAXPROCS).
	Concurrency int
	// Log, when set, receives a progress line per step and a summary.
	Log io.Writer
	// Metrics, when set, receives the metrics as JSON Lines: a "step" line
	// per step and an "eval" line per evaluation (see [StepMetrics],
	// [EvalMetrics]).
	Metrics io.Writer
	// AfterStep, when set, is called after each step with its metrics and
	// the weights (which it must not keep or modify).
	AfterStep func(StepMetrics, *local.Weights)
}

// OptionError is the error of [Options.Validate]: the field that is wrong
// (its Go name, e.g. "SamplesPerTask") and what is wrong with it. Front ends
// name the field their own way (retrain train: a flag).
type OptionError struct {
	// Field is the name of the field of [Options].
	Field string
	// Problem says what the value is and what is allowed.
	Problem string
}

func (e *OptionError) Error() string { return "grpo: " + e.Field + " " + e.Problem }

// Validate checks the options' ranges as given, zeros included: [Run]
// replaces zero fields by their defaults first, so zero passes there, while
// a front end whose every value is explicit (flags with the defaults as
// their defaults) calls Validate on them directly, so that 0 is refused.
// Concurrency 0 (GOMAXPROCS) and a negative EvalTasks (no evaluation) are
// valid. The error is an [*OptionError].
func (o *Options) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &OptionError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	for _, c := range []struct {
		field string
		v     int
	}{
		{"Steps", o.Steps}, {"TasksPerStep", o.TasksPerStep}, {"Updates", o.Updates},
		{"MaxEpisodeTokens", o.MaxEpisodeTokens}, {"MaxTurns", o.MaxTurns}, {"EvalSamples", o.EvalSamples},
	} {
		if c.v < 1 {
			return bad(c.field, "is %d; it must be at least 1", c.v)
		}
	}
	positive := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) } // false for NaN too
	switch {
	case o.SamplesPerTask < 2:
		return bad("SamplesPerTask", "is %d; GRPO compares the samples of a task, so it needs at least 2", o.SamplesPerTask)
	case !positive(o.LearningRate):
		return bad("LearningRate", "is %g; it must be positive", o.LearningRate)
	case !(o.ClipRange > 0 && o.ClipRange < 1):
		return bad("ClipRange", "is %g; it must be in (0, 1), e.g. 0.2", o.ClipRange)
	case !(o.KLCoef >= 0) || math.IsInf(o.KLCoef, 0):
		return bad("KLCoef", "is %g; it must not be negative", o.KLCoef)
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0):
		return bad("WeightDecay", "is %g; it must not be negative", o.WeightDecay)
	case !positive(o.MaxGradNorm):
		return bad("MaxGradNorm", "is %g; it must be positive", o.MaxGradNorm)
	case !positive(o.Temperature):
		return bad("Temperature", "is %g; training samples, so it must be positive", o.Temperature)
	case o.EvalTasks == 0:
		return bad("EvalTasks", "is 0; give a positive number, or a negative one for no evaluation")
	case o.Concurrency < 0:
		return bad("Concurrency", "is %d; it must not be negative (0: GOMAXPROCS)", o.Concurrency)
	}
	if evalSeed := cmp.Or(o.EvalSeed, DefaultEvalSeed); o.Seed == evalSeed && o.EvalTasks > 0 {
		return bad("Seed", "is %d, the held-out evaluation's seed: pick another", o.Seed)
	}
	return nil
}

// defaults replaces the zero fields by their defaults and validates the
// result.
func (o *Options) defaults() error {
	if o.Name == "" {
		o.Name = local.DefaultName
	}
	o.Steps = cmp.Or(o.Steps, DefaultSteps)
	o.TasksPerStep = cmp.Or(o.TasksPerStep, DefaultTasksPerStep)
	o.SamplesPerTask = cmp.Or(o.SamplesPerTask, DefaultSamplesPerTask)
	o.Updates = cmp.Or(o.Updates, DefaultUpdates)
	o.MaxEpisodeTokens = cmp.Or(o.MaxEpisodeTokens, DefaultMaxEpisodeTokens)
	o.MaxTurns = cmp.Or(o.MaxTurns, DefaultMaxTurns)
	o.EvalTasks = cmp.Or(o.EvalTasks, DefaultEvalTasks)
	o.EvalSamples = cmp.Or(o.EvalSamples, DefaultEvalSamples)
	o.EvalSeed = cmp.Or(o.EvalSeed, DefaultEvalSeed)
	o.Concurrency = cmp.Or(o.Concurrency, runtime.GOMAXPROCS(0))
	o.LearningRate = cmp.Or(o.LearningRate, DefaultLearningRate)
	o.ClipRange = cmp.Or(o.ClipRange, DefaultClipRange)
	o.MaxGradNorm = cmp.Or(o.MaxGradNorm, DefaultMaxGradNorm)
	o.Temperature = cmp.Or(o.Temperature, 1)
	return o.Validate()
}

// StepMetrics are one step's numbers: a "step" line of the metrics file.
type StepMetrics struct {
	Type string `json:"type"` // "step"
	Step int    `json:"step"`
	// TimeS is the wall time since the start of training, in seconds.
	TimeS float64 `json:"time_s"`
	// Reward is the mean total reward of the step's episodes; Accuracy the
	// share answered right; ParseRate the share of turns the dialect parsed.
	Reward    float64 `json:"reward"`
	Accuracy  float64 `json:"accuracy"`
	ParseRate float64 `json:"parse_rate"`
	// KL is the mean k3 estimate of KL(policy ‖ starting model) over the
	// trained tokens (of all of them when KLCoef is set, else of a sample of
	// 8 sequences), as the step's updates saw them; KLOld that of
	// KL(rollout policy ‖ policy): how far the step's updates moved it.
	KL    float64 `json:"kl"`
	KLOld float64 `json:"kl_old"`
	// ClipFraction is the share of trained tokens whose ratio was clipped.
	ClipFraction float64 `json:"clip_fraction"`
	// Loss is the mean per-token loss over the updates.
	Loss float64 `json:"loss"`
	// TokensPerS is the episodes' tokens (prompt and completion) trained
	// per second of the step's wall time.
	TokensPerS float64 `json:"tokens_per_s"`
	// Episodes counts the step's episodes; FailedEpisodes those that failed.
	Episodes       int `json:"episodes"`
	FailedEpisodes int `json:"failed_episodes"`
	// ZeroVarianceGroups counts the groups whose episodes all had the same
	// reward: no advantage, skipped.
	ZeroVarianceGroups int `json:"zero_variance_groups"`
	// Sequences and Tokens are what was trained on; ModelTokens the tokens
	// with a loss.
	Sequences   int `json:"sequences"`
	Tokens      int `json:"tokens"`
	ModelTokens int `json:"model_tokens"`
	// BatchTokens counts the tokens all the step's successful episodes
	// generated, skipped groups included: the loss is normalised by it.
	BatchTokens int `json:"batch_tokens"`
	// LR is the learning rate; GradNorm the mean gradient norm before
	// clipping.
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm"`
	// RolloutS and TrainS split the step's wall time.
	RolloutS float64 `json:"rollout_s"`
	TrainS   float64 `json:"train_s"`
	// PolicyVersion is the policy that played the step's episodes.
	PolicyVersion string `json:"policy_version"`
}

// EvalMetrics are the results of an evaluation: an "eval" line of the
// metrics file. Step 0 is before training; the last step after.
type EvalMetrics struct {
	Type        string  `json:"type"` // "eval"
	Step        int     `json:"step"`
	Split       string  `json:"split"` // "held_out"
	Accuracy    float64 `json:"accuracy"`
	ParseErrors int     `json:"parse_errors"`
	Tasks       int     `json:"tasks"`
	N           int     `json:"n"`
	Temperature float64 `json:"temperature"`
	// Seed is the tasks' and the sampling's seed; Episodes, Correct and
	// Turns count what was played.
	Seed     int64   `json:"seed"`
	Episodes int     `json:"episodes"`
	Correct  int     `json:"correct"`
	Turns    int     `json:"turns"`
	Failed   int     `json:"failed"`
	TimeS    float64 `json:"time_s"`
	Seconds  float64 `json:"seconds"`
	Policy   string  `json:"policy_version"`
}

// Result is what Run returns.
type Result struct {
	// Weights are the trained weights (float32).
	Weights *local.Weights
	// Steps are the metrics of every step.
	Steps []StepMetrics
	// Before and After are the held-out evaluations (nil without).
	Before, After *EvalMetrics
	// Episodes and Tokens count what was played and trained on.
	Episodes, Tokens int
	// Duration is the wall time of Run, evaluations included.
	Duration time.Duration
}

// Rewards is the reward configuration of the training episodes, the
// rewards "retrain eval" uses by default: "correct", the correctness of the
// final answer (math_equal against the task's answer), plus "format", the
// share of the episode's turns the dialect parsed (so that an episode that
// recovers from a malformed turn scores below a clean one: with correctness
// alone, training taught the model to write malformed turns it then
// recovered from); nothing from the environment; group advantages by GRPO
// (population std).
func Rewards() *reward.Config {
	return &reward.Config{
		Rollout:   []reward.Component{{Name: "correct", Reward: "math_equal"}, {Name: "format", Reward: "format"}},
		EnvWeight: reward.Float(0),
		Advantage: reward.AdvGRPO,
		Std:       reward.StdPopulation,
	}
}

// Run trains the local model with GRPO on the calculator environment: each
// step plays SamplesPerTask episodes of TasksPerStep new training tasks
// (train.Tasks: generated, the held-out ones excluded) with the current
// policy through rollout.Runner, scores them with reward.Calculator (see
// [Rewards]), turns them into sequences with trainview, and takes Updates
// AdamW steps of the PPO-clip loss (token-level normalisation, optional k3
// KL penalty to the start, gradient clipping). Groups whose rewards are all
// equal carry no signal and are skipped (counted). Rollouts and training use
// the same float32 weights, so the rollout's log-probs are the trainer's.
// Cancelling ctx stops it at the next step: the weights so far are returned
// with the error.
func Run(ctx context.Context, opts *Options) (*Result, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	metrics := newMetricsWriter(o.Metrics)
	if o.Start == nil {
		w, err := local.DefaultWeights()
		if err != nil {
			return nil, fmt.Errorf("grpo: %w", err)
		}
		o.Start = w
	}
	ref := o.Start.Clone()
	w := o.Start.Clone()
	calc, err := reward.NewCalculator(Rewards(), nil)
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	factory, err := env.New(EnvName, nil)
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	defer factory.Close()

	res := &Result{Weights: w}
	evalTasks := rollout.ArithmeticTasks(max(o.EvalTasks, 0), o.EvalSeed)
	evaluate := func(step int) (*EvalMetrics, error) {
		if o.EvalTasks <= 0 {
			return nil, nil
		}
		m, err := local.FromWeights(w, &local.Options{Name: o.Name})
		if err != nil {
			return nil, err
		}
		e, err := Evaluate(ctx, factory, m, evalTasks, &EvalOptions{N: o.EvalSamples, Seed: o.EvalSeed, Concurrency: o.Concurrency})
		if err != nil {
			return nil, err
		}
		e.Step, e.TimeS = step, time.Since(start).Seconds()
		logf("eval at step %d: %v", step, e)
		return e, metrics.write(e)
	}
	logf("GRPO on %s: %d steps of %d tasks × %d samples, lr %g, clip %g, KL coef %g, %d updates per step, %d goroutines",
		EnvName, o.Steps, o.TasksPerStep, o.SamplesPerTask, o.LearningRate, o.ClipRange, o.KLCoef, o.Updates, o.Concurrency)
	if res.Before, err = evaluate(0); err != nil {
		return nil, err
	}

	t := &trainer{o: &o, w: w, ref: ref, opt: backprop.NewAdamW(w, o.WeightDecay),
		rng: rand.New(rand.NewPCG(uint64(o.Seed), 0x6772706f))}
	tasks := train.NewTasks(o.Seed)
	next := 0
	for step := 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			res.Duration = time.Since(start)
			return res, fmt.Errorf("grpo: stopped before step %d: %w", step, err)
		}
		stepStart := time.Now()
		batch := make([]retrain.Task, o.TasksPerStep)
		for i := range batch {
			batch[i] = tasks.Next()
			next++
			batch[i].ID = fmt.Sprintf("train-%d", next) // unique over the run
		}
		m, err := local.FromWeights(w.Clone(), &local.Options{Name: o.Name})
		if err != nil {
			return nil, err
		}
		trajs, err := t.play(ctx, factory, m, calc, batch, int64(step))
		if err != nil {
			res.Duration = time.Since(start)
			return res, err
		}
		lr := o.LearningRate
		if o.LRDecay && o.Steps > 1 {
			lr *= 1 - 0.9*float64(step-1)/float64(o.Steps-1)
		}
		t.lr = lr
		sm := StepMetrics{Type: "step", Step: step, LR: lr, PolicyVersion: m.PolicyVersion()}
		seqs := t.sequences(trajs, &sm)
		sm.RolloutS = time.Since(stepStart).Seconds()
		trainStart := time.Now()
		t.update(seqs, sm.BatchTokens, &sm)
		sm.TrainS = time.Since(trainStart).Seconds()
		sm.TimeS = time.Since(start).Seconds()
		sm.TokensPerS = float64(sm.Tokens) / time.Since(stepStart).Seconds()
		res.Episodes += sm.Episodes
		res.Tokens += sm.Tokens
		res.Steps = append(res.Steps, sm)
		logf("step %3d  reward %.3f  acc %5.1f%%  parse %5.1f%%  kl %.4f  clip %.3f  loss %+.4f  |g| %.2f  %3d seq (%d zero-var groups)  %5.0f tok/s  %5.1fs",
			step, sm.Reward, 100*sm.Accuracy, 100*sm.ParseRate, sm.KL, sm.ClipFraction, sm.Loss, sm.GradNorm, sm.Sequences, sm.ZeroVarianceGroups, sm.TokensPerS, sm.TimeS)
		if err := metrics.write(sm); err != nil {
			return nil, err
		}
		if o.AfterStep != nil {
			o.AfterStep(sm, w)
		}
	}
	if o.Steps > 0 {
		if res.After, err = evaluate(o.Steps); err != nil {
			return nil, err
		}
	}
	res.Duration = time.Since(start)
	logf("trained %d steps in %s: %d episodes, %d tokens", o.Steps, res.Duration.Round(100*time.Millisecond), res.Episodes, res.Tokens)
	if res.Before != nil && res.After != nil {
		logf("held-out accuracy at temperature %g (%d tasks × %d, seed %d): %.1f%% → %.1f%%; parse errors %d → %d",
			res.After.Temperature, res.After.Tasks, res.After.N, res.After.Seed, 100*res.Before.Accuracy, 100*res.After.Accuracy, res.Before.ParseErrors, res.After.ParseErrors)
	}
	return res, nil
}

// minMiniBatch is the fewest sequences a mini-batch holds (see
// Options.Updates).
const minMiniBatch = 8

// refSample is how many sequences per step are run through the starting
// model to report the KL when it is not penalised.
const refSample = 8

// trainer holds the state of a run.
type trainer struct {
	o       *Options
	w, ref  *local.Weights
	opt     *backprop.AdamW
	rng     *rand.Rand
	workers []*worker
	lr      float64 // this step's learning rate
}

// play runs the step's episodes with m and returns them, scored with group
// advantages, in task and sample order.
func (t *trainer) play(ctx context.Context, f env.Factory, m *local.Model, calc *reward.Calculator, tasks []retrain.Task, step int64) ([]*retrain.Trajectory, error) {
	o := t.o
	var mu sync.Mutex
	var out []*retrain.Trajectory
	envSeed := o.Seed*1_000_003 + step*int64(len(tasks))
	temp := o.Temperature
	r := rollout.NewRunner(f, m, &rollout.RunnerOptions{
		N:           o.SamplesPerTask,
		Concurrency: o.Concurrency,
		Seed:        &envSeed,
		Episode: rollout.Options{
			Sampling:      model.Sampling{Temperature: &temp, Seed: &envSeed},
			MaxTokens:     o.MaxEpisodeTokens,
			MaxTurns:      o.MaxTurns,
			EnvName:       EnvName,
			ModelName:     m.Name(),
			PolicyVersion: m.PolicyVersion(),
			LogprobsMode:  m.LogprobsMode(),
		},
		Scorer:     calc,
		Advantages: calc.Advantages,
		Sink: sinkFunc(func(tr *retrain.Trajectory) error {
			mu.Lock()
			out = append(out, tr)
			mu.Unlock()
			return nil
		}),
	})
	if _, err := r.Run(ctx, tasks); err != nil {
		return nil, fmt.Errorf("grpo: rollouts: %w", err)
	}
	// Episodes finish in any order; the step must not depend on it.
	index := make(map[string]int, len(tasks))
	for i, task := range tasks {
		index[task.ID] = i
	}
	slices.SortFunc(out, func(a, b *retrain.Trajectory) int {
		return cmp.Or(cmp.Compare(index[a.Task.ID], index[b.Task.ID]), cmp.Compare(a.Sample, b.Sample))
	})
	return out, nil
}

type sinkFunc func(*retrain.Trajectory) error

func (f sinkFunc) Write(t *retrain.Trajectory) error { return f(t) }

// sequences scores the step's episodes into sm and returns the training
// sequences of the groups that carry a signal.
func (t *trainer) sequences(trajs []*retrain.Trajectory, sm *StepMetrics) []trainview.Sequence {
	groups := map[string][]*retrain.Trajectory{}
	var order []string
	turns, parsed, correct := 0, 0, 0
	var rewardSum float64
	for _, tr := range trajs {
		sm.Episodes++
		if tr.Failed() {
			sm.FailedEpisodes++
			continue
		}
		sm.BatchTokens += tr.CompletionTokens
		for _, tu := range tr.Turns {
			turns++
			if tu.Action.ParseError == "" {
				parsed++
			}
		}
		if tr.Rewards != nil {
			rewardSum += tr.Rewards.Total
			if tr.Rewards.Rollout["correct"] >= 1 {
				correct++
			}
		}
		if _, ok := groups[tr.Task.ID]; !ok {
			order = append(order, tr.Task.ID)
		}
		groups[tr.Task.ID] = append(groups[tr.Task.ID], tr)
	}
	ok := sm.Episodes - sm.FailedEpisodes
	sm.Reward, sm.Accuracy, sm.ParseRate = ratio(rewardSum, ok), ratio(float64(correct), ok), ratio(float64(parsed), turns)
	var seqs []trainview.Sequence
	for _, id := range order {
		g := groups[id]
		if len(g) < 2 || zeroVariance(g) {
			sm.ZeroVarianceGroups++
			continue
		}
		for _, tr := range g {
			s, err := trainview.Sequences(tr, nil)
			if err != nil {
				continue // cannot happen with the local model; such an episode is not trained on
			}
			seqs = append(seqs, s...)
		}
	}
	return seqs
}

func ratio(a float64, b int) float64 {
	if b == 0 {
		return 0
	}
	return a / float64(b)
}

// zeroVariance reports whether the group's rewards are all equal.
func zeroVariance(g []*retrain.Trajectory) bool {
	for _, tr := range g {
		if tr.Rewards == nil || tr.Rewards.Total != g[0].Rewards.Total {
			return tr.Rewards == nil
		}
	}
	return true
}

// update takes the step's optimizer steps on seqs.
// batchTokens is the number of tokens the step's successful episodes
// generated, in all groups.
func (t *trainer) update(seqs []trainview.Sequence, batchTokens int, sm *StepMetrics) {
	sm.Sequences = len(seqs)
	for _, s := range seqs {
		sm.Tokens += len(s.InputIDs)
		sm.ModelTokens += s.ModelTokens()
	}
	if len(seqs) == 0 {
		return
	}
	// The reference log-probs (KL to the start), once per sequence: of
	// every sequence when the KL is penalised, else of a sample of
	// refSample sequences, enough to report it.
	every := 1
	if t.o.KLCoef == 0 {
		every = max(1, len(seqs)/refSample)
	}
	refs := t.parallel(seqs, func(wk *worker, s *trainview.Sequence, i int) []float64 {
		if i%every != 0 {
			return nil
		}
		return wk.logprobs(s)
	})
	order := t.rng.Perm(len(seqs))
	// A mini-batch holds at least minMiniBatch sequences: a step with
	// little signal takes one update, not several noisy ones.
	parts := max(1, min(t.o.Updates, len(seqs)/minMiniBatch))
	var all tokenStats
	var normSum float64
	for u := range parts {
		var idx []int
		for k := u; k < len(order); k += parts {
			idx = append(idx, order[k])
		}
		mb := make([]trainview.Sequence, len(idx))
		mbRefs := make([][]float64, len(idx))
		tokens := 0
		for k, i := range idx {
			mb[k], mbRefs[k] = seqs[i], refs[i]
			tokens += seqs[i].ModelTokens()
		}
		if tokens == 0 {
			continue
		}
		// Token-level normalisation over the mini-batch's share of all the
		// step's generated tokens, those of the skipped zero-variance groups
		// included (their advantage is zero, as if they were in the batch):
		// a step where few groups carry a signal moves the policy less.
		norm := 1 / max(float64(tokens), float64(batchTokens)/float64(parts))
		p := lossParams{clipLow: t.o.ClipRange, clipHigh: t.o.ClipRange, klCoef: t.o.KLCoef, norm: norm}
		st := t.gradients(mb, mbRefs, p)
		all.add(st)
		lr := t.lr
		if lr == 0 {
			lr = t.o.LearningRate
		}
		normSum += t.opt.Step(t.workers[0].g, lr, t.o.MaxGradNorm)
	}
	sm.Loss = ratio(all.loss, all.tokens)
	sm.KL = ratio(all.kl, all.klRef)
	sm.KLOld = ratio(all.klOld, all.tokens)
	sm.ClipFraction = ratio(float64(all.clipped), all.tokens)
	sm.GradNorm = normSum / float64(parts)
}

// gradients computes the loss's gradient over mb into the first worker's
// gradients, the sequences shared out among the workers.
func (t *trainer) gradients(mb []trainview.Sequence, refs [][]float64, p lossParams) tokenStats {
	stats := make([]tokenStats, len(mb))
	for _, wk := range t.workerSet() {
		for _, ts := range wk.g.Tensors() {
			clear(ts.Data)
		}
	}
	t.parallel(mb, func(wk *worker, s *trainview.Sequence, i int) []float64 {
		stats[i] = wk.backward(s, refs[i], p)
		return nil
	})
	var st tokenStats
	for _, s := range stats {
		st.add(s)
	}
	ws := t.workerSet()
	g0 := ws[0].g.Tensors()
	for _, wk := range ws[1:] {
		for i, ts := range wk.g.Tensors() {
			d := g0[i].Data
			for j, v := range ts.Data {
				d[j] += v
			}
		}
	}
	return st
}

// workerSet returns the workers, made on first use.
func (t *trainer) workerSet() []*worker {
	if t.workers == nil {
		for range max(1, t.o.Concurrency) {
			g, _ := local.NewWeights(t.w.Config)
			t.workers = append(t.workers, &worker{net: backprop.NewNet(t.w), refNet: backprop.NewNet(t.ref), g: g})
		}
	}
	return t.workers
}

// parallel calls fn on every sequence, the sequences shared out among the
// workers in a fixed way (sequence i to worker i mod workers, in order), and
// returns the results in order.
func (t *trainer) parallel(seqs []trainview.Sequence, fn func(*worker, *trainview.Sequence, int) []float64) [][]float64 {
	ws := t.workerSet()
	out := make([][]float64, len(seqs))
	var wg sync.WaitGroup
	for k, wk := range ws {
		wg.Go(func() {
			for i := k; i < len(seqs); i += len(ws) {
				out[i] = fn(wk, &seqs[i], i)
			}
		})
	}
	wg.Wait()
	return out
}

// worker is one goroutine's share of the training arithmetic: its own
// activations, scratch and gradients.
type worker struct {
	net, refNet *backprop.Net
	g           *local.Weights
	maxT        int
	a           *backprop.Activations
	s           *backprop.Scratch
	ids         []int
	coef        []float32
	logp        []float64
}

func (wk *worker) prepare(s *trainview.Sequence) {
	n := len(s.InputIDs)
	if n > wk.maxT {
		wk.maxT = (n + 255) / 256 * 256
		wk.a = wk.net.NewActivations(wk.maxT)
		wk.s = wk.net.NewScratch(wk.maxT)
		wk.coef = make([]float32, wk.maxT)
		wk.logp = make([]float64, wk.maxT)
	}
	wk.ids = wk.ids[:0]
	for _, id := range s.InputIDs {
		wk.ids = append(wk.ids, int(id))
	}
}

// logprobs returns the reference model's log-probs of s.
func (wk *worker) logprobs(s *trainview.Sequence) []float64 {
	wk.prepare(s)
	wk.refNet.Forward(wk.a, wk.ids)
	out := make([]float64, len(wk.ids))
	wk.refNet.Logprobs(wk.a, out)
	return out
}

// backward adds the gradient of s's share of the loss to wk.g.
func (wk *worker) backward(s *trainview.Sequence, ref []float64, p lossParams) tokenStats {
	wk.prepare(s)
	n := len(wk.ids)
	wk.net.Forward(wk.a, wk.ids)
	logp := wk.logp[:n]
	wk.net.Logprobs(wk.a, logp)
	coef := wk.coef[:n]
	st := coefficients(p, s.LossMask, logp, s.OldLogprobs, s.Advantages, ref, coef)
	wk.net.Backward(wk.a, coef, wk.g, wk.s, nil)
	return st
}
