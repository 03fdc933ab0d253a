package rollout

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/reward"
)

// Job describes one rollout run as data: the environment and its
// configuration, the model endpoint, the sampling settings, the tasks, the
// group size, the limits and the rewards. "retrain rollout" and "retrain
// eval" build one from their flags, POST /v1/rollouts decodes one from its
// body, and a remote worker can receive one over the wire; all of them
// validate it with [Job.Validate] and run it with [Prepare] and
// [Prepared.Run], so they cannot drift apart.
//
// Zero values mean defaults: one sample per task, [DefaultConcurrency]
// episodes at once, the built-in local model, the environment's own limits.
//
//	job := rollout.Job{Env: "calculator", Generate: 20, N: 4, Model: model.Endpoint{BaseURL: "fake"}}
//	p, err := rollout.Prepare(ctx, &job, nil)
//	if err != nil { ... }
//	defer p.Close()
//	sum, err := p.Run(ctx, &rollout.RunOptions{Sink: w})
type Job struct {
	// Env is the environment's registered name.
	Env string `json:"env,omitempty" doc:"environment name (see \"retrain envs\")"`
	// EnvConfig is the environment's JSON configuration; empty means its
	// defaults.
	EnvConfig json.RawMessage `json:"env_config,omitempty" doc:"the environment's configuration, a JSON object"`

	// Tasks are the tasks to run, inline. A Job has Tasks, a Dataset, or
	// Generate, exactly one of them.
	Tasks []retrain.Task `json:"tasks,omitempty" doc:"the tasks, inline: a list of {\"id\", \"prompt\", \"answer\"}"`
	// Dataset is a JSONL file of tasks (see [LoadTasks]); PromptField,
	// AnswerField and IDField name its fields.
	Dataset     string `json:"dataset,omitempty" doc:"JSONL file of tasks (GSM8K's layout works as is)"`
	PromptField string `json:"prompt_field,omitempty" doc:"the dataset's prompt field (default \"prompt\", else \"question\")"`
	AnswerField string `json:"answer_field,omitempty" doc:"the dataset's answer field (default \"answer\")"`
	IDField     string `json:"id_field,omitempty" doc:"the dataset's task id field (default \"id\", else the line number)"`
	// Generate is the number of generated arithmetic tasks (see
	// [ArithmeticTasks]) to run when there are no Tasks and no Dataset;
	// they are generated from Seed (1 when unset). An environment that
	// needs no task ([env.TaskFree]: a game, a Gymnasium environment) gets
	// that many empty tasks instead (see [EmptyTasks]).
	Generate int `json:"generate,omitempty" doc:"how many arithmetic tasks to generate when there are no tasks and no dataset"`
	// Limit keeps only the first Limit tasks; zero means all.
	Limit int `json:"limit,omitempty" doc:"use only the first n tasks (0: all)"`

	// N is the number of samples per task (the group size); zero means 1.
	N int `json:"n,omitempty" doc:"samples per task (the group size)"`
	// Concurrency bounds the episodes running at once; zero means
	// [DefaultConcurrency].
	Concurrency int `json:"concurrency,omitempty" doc:"episodes running at once"`

	// Model is the model that plays the episodes.
	Model model.Endpoint `json:"model" doc:"the model endpoint"`
	// Sampling holds the sampling settings of every request.
	Sampling model.Sampling `json:"sampling" doc:"sampling settings: temperature, top_p, max_tokens, stop, seed"`

	// MaxTurns bounds the assistant turns of an episode; zero means the
	// environment's own step limit ([env.StepLimiter]), else
	// [DefaultMaxTurns].
	MaxTurns int `json:"max_turns,omitempty" doc:"assistant turns per episode"`
	// MaxEpisodeTokens is a budget of completion tokens over a whole
	// episode; zero means none.
	MaxEpisodeTokens int `json:"max_episode_tokens,omitempty" doc:"completion tokens over a whole episode (0: none)"`
	// Timeout is the time limit of one episode attempt; zero means none.
	Timeout env.Duration `json:"timeout,omitempty" doc:"time limit of one episode, e.g. \"2m\" (0: none)"`
	// RequestTimeout bounds each attempt of a model request; zero means
	// openai.DefaultTimeout (10 minutes). A timed-out attempt is retried.
	RequestTimeout env.Duration `json:"request_timeout,omitempty" doc:"time limit of one model request attempt, e.g. \"90s\" (0: 10m); a timed-out attempt is retried"`
	// MaxReplyBytes bounds the size of one model reply; zero means
	// openai.DefaultMaxReplyBytes (32 MiB).
	MaxReplyBytes int `json:"max_reply_bytes,omitempty" doc:"largest model reply accepted, in bytes (0: 32 MiB)"`
	// Seed seeds the environments and the generated tasks (see
	// [RunnerOptions.Seed]).
	Seed *int64 `json:"seed,omitempty" doc:"seed of the environments and the generated tasks"`
	// Retries is how many more times an episode whose model calls failed is
	// tried.
	Retries int `json:"retries,omitempty" doc:"extra attempts of an episode whose model calls failed"`

	// Reward, when set, scores each trajectory, and computes group
	// advantages when it names an estimator. Nil means the environment's
	// default rewards (env.Spec.Rewards; the calculator environment's are
	// correct and format), or none when it brings none. A Reward given
	// replaces the defaults whole; an empty one ({}) scores the
	// environment's step rewards only.
	Reward *reward.Config `json:"reward,omitempty" doc:"reward configuration: step and rollout components, distribution, advantage; omitted: the environment's default rewards"`
}

// JobError is the error of [Job.Validate]: the key of the job that is wrong
// (a JSON key path such as "sampling.top_p") and what is wrong with it.
// Front ends name the key their own way (a flag, a request field).
type JobError struct {
	// Key is the job's JSON key, dotted for nested keys.
	Key string
	// Problem says what is wrong and what is allowed.
	Problem string
}

func (e *JobError) Error() string { return e.Key + " " + e.Problem }

// Validate checks everything about the job that can be checked without
// opening anything: ranges of numbers (NaN and infinities included), the
// model endpoint, and that the job names its tasks one way. The error is a
// [*JobError].
func (j *Job) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &JobError{Key: key, Problem: fmt.Sprintf(format, args...)}
	}
	for _, c := range []struct {
		key string
		v   int
	}{
		{"n", j.N}, {"concurrency", j.Concurrency}, {"generate", j.Generate}, {"limit", j.Limit},
		{"max_turns", j.MaxTurns}, {"max_episode_tokens", j.MaxEpisodeTokens}, {"retries", j.Retries},
		{"sampling.max_tokens", j.Sampling.MaxTokens}, {"max_reply_bytes", j.MaxReplyBytes},
	} {
		if c.v < 0 {
			return bad(c.key, "is %d; it must not be negative", c.v)
		}
	}
	if j.N > MaxGroupSize {
		return bad("n", "is %d; it must be at most %d", j.N, MaxGroupSize)
	}
	if j.Timeout < 0 {
		return bad("timeout", "is %v; it must not be negative", time.Duration(j.Timeout))
	}
	if j.RequestTimeout < 0 {
		return bad("request_timeout", "is %v; it must not be negative", time.Duration(j.RequestTimeout))
	}
	if j.MaxReplyBytes > openai.MaxReplyBytesLimit {
		return bad("max_reply_bytes", "is %d; it must be at most %d (%d MiB)", j.MaxReplyBytes, openai.MaxReplyBytesLimit, openai.MaxReplyBytesLimit>>20)
	}
	if t := j.Sampling.Temperature; t != nil && (*t < 0 || math.IsNaN(*t) || math.IsInf(*t, 0)) {
		return bad("sampling.temperature", "is %g; it must be a number, not negative", *t)
	}
	if p := j.Sampling.TopP; p != nil && !(*p > 0 && *p <= 1) {
		return bad("sampling.top_p", "is %g; it must be in (0, 1]", *p)
	}
	if err := j.Model.Validate(); err != nil {
		key := "model.base_url"
		if j.Model.Weights != "" && j.Model.Kind() != model.EndpointLocal {
			key = "model.weights"
		}
		return bad(key, "%v", err)
	}
	sources := 0
	for _, given := range []bool{len(j.Tasks) > 0, j.Dataset != "", j.Generate > 0} {
		if given {
			sources++
		}
	}
	switch {
	case sources == 0:
		return bad("tasks", "missing: no tasks given; give \"tasks\" (a list of {\"prompt\", \"answer\"}), \"dataset\" (a JSONL file) or \"generate\" (a number of arithmetic tasks)")
	case sources > 1:
		return bad("tasks", "given more than one way: give \"tasks\", \"dataset\" or \"generate\", only one of them")
	}
	for i, t := range j.Tasks {
		if strings.TrimSpace(t.Prompt) == "" {
			return bad(fmt.Sprintf("tasks[%d].prompt", i), "is empty: every task needs a prompt")
		}
	}
	return nil
}

// PrepareOptions hold what a front end decides about how a [Job] is opened;
// none of it is part of the job's description. The zero value uses the
// default environment registry and opens dataset paths as given.
type PrepareOptions struct {
	// Envs is the registry the environment is looked up in; nil means
	// [env.Default].
	Envs *env.Registry
	// OpenDataset opens the job's Dataset; nil opens the path as given.
	// A server passes one that keeps paths inside its data directory. An
	// error wrapping fs.ErrNotExist means there is no such dataset.
	OpenDataset func(path string) (io.ReadCloser, error)
	// OnTasks, when set, is called once the tasks are loaded, before the
	// model is opened; generated says they are generated arithmetic tasks
	// (Job.Generate, for an environment that needs tasks).
	OnTasks func(tasks []retrain.Task, generated bool)
	// Model holds the options of opening the model endpoint that are not
	// part of the job (see endpoint.Options: Notice receives the one-line
	// notice of which model is used); its MaxInFlight defaults to the job's
	// concurrency.
	Model endpoint.Options
}

// The kinds of [PrepareError], so that a front end can answer each its own
// way (a server with a status code).
const (
	// PrepareInvalid: the job, its environment config, its dataset or its
	// rewards are wrong; the caller must change the job.
	PrepareInvalid = "invalid"
	// PrepareNotFound: the dataset does not exist.
	PrepareNotFound = "not_found"
	// PrepareModel: the model endpoint could not be opened or asked for its
	// models (a server that is down). An endpoint the job's author must
	// fix (endpoint.ErrInvalid: several models served and none named, an
	// unknown model) is PrepareInvalid.
	PrepareModel = "model"
)

// PrepareError is the error of [Prepare]: what failed, in words, and its kind.
type PrepareError struct {
	// Kind is [PrepareInvalid], [PrepareNotFound] or [PrepareModel].
	Kind string
	// Err is what went wrong.
	Err error
}

func (e *PrepareError) Error() string { return e.Err.Error() }
func (e *PrepareError) Unwrap() error { return e.Err }

// Prepared is a [Job] whose environment, tasks, model and rewards are open
// and checked, ready to [Prepared.Run]. Close releases them.
type Prepared struct {
	job       Job
	factory   env.Factory
	model     *endpoint.Opened
	tasks     []retrain.Task
	rewards   *reward.Calculator
	modelName string
}

// Prepare validates the job and opens what it names: the environment's
// factory, the tasks, the reward calculator (of the job's rewards, else the
// environment's default rewards) and the model (a server is
// asked for its model's name when the job names none, which also checks that
// it is up). The error is a [*JobError] or a [*PrepareError].
func Prepare(ctx context.Context, job *Job, opts *PrepareOptions) (_ *Prepared, err error) {
	var o PrepareOptions
	if opts != nil {
		o = *opts
	}
	if o.Envs == nil {
		o.Envs = env.Default
	}
	if err := job.Validate(); err != nil {
		return nil, err
	}
	p := &Prepared{job: *job}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.factory, err = o.Envs.New(job.Env, job.EnvConfig); err != nil {
		return nil, &PrepareError{Kind: PrepareInvalid, Err: err}
	}
	if p.job.Reward == nil {
		if p.job.Reward, err = o.Envs.Rewards(job.Env); err != nil {
			return nil, &PrepareError{Kind: PrepareInvalid, Err: err}
		}
	}
	if p.job.Reward != nil {
		if p.rewards, err = reward.NewCalculator(p.job.Reward, nil); err != nil {
			return nil, &PrepareError{Kind: PrepareInvalid, Err: err}
		}
	}
	tf, _ := p.factory.(env.TaskFree)
	taskFree := tf != nil && tf.TaskFree()
	if p.tasks, err = job.loadTasks(&o, taskFree); err != nil {
		return nil, err
	}
	if o.OnTasks != nil {
		o.OnTasks(p.tasks, len(job.Tasks) == 0 && job.Dataset == "" && !taskFree)
	}
	mo := o.Model
	if mo.MaxInFlight == 0 {
		mo.MaxInFlight = job.concurrency()
	}
	if mo.RequestTimeout == 0 {
		mo.RequestTimeout = time.Duration(job.RequestTimeout)
	}
	if mo.MaxReplyBytes == 0 {
		mo.MaxReplyBytes = job.MaxReplyBytes
	}
	if p.model, err = endpoint.Open(ctx, job.Model, &mo); err != nil {
		kind := PrepareModel
		if errors.Is(err, endpoint.ErrInvalid) {
			kind = PrepareInvalid
		}
		return nil, &PrepareError{Kind: kind, Err: err}
	}
	p.modelName = p.model.Name
	return p, nil
}

// loadTasks returns the job's tasks: inline (ids filled in), read from its
// dataset, or generated: empty ones when the environment needs none.
func (j *Job) loadTasks(o *PrepareOptions, taskFree bool) ([]retrain.Task, error) {
	dopts := &DatasetOptions{PromptField: j.PromptField, AnswerField: j.AnswerField, IDField: j.IDField, Limit: j.Limit}
	switch {
	case len(j.Tasks) > 0:
		tasks := j.Tasks
		if j.Limit > 0 && j.Limit < len(tasks) {
			tasks = tasks[:j.Limit]
		}
		tasks = append([]retrain.Task(nil), tasks...)
		for i := range tasks {
			if tasks[i].ID == "" {
				tasks[i].ID = fmt.Sprint(i + 1)
			}
		}
		return tasks, nil
	case j.Dataset != "":
		open := o.OpenDataset
		if open == nil {
			open = openDatasetFile
		}
		f, err := open(j.Dataset)
		if err != nil {
			kind := PrepareInvalid
			if errors.Is(err, os.ErrNotExist) {
				kind = PrepareNotFound
			}
			return nil, &PrepareError{Kind: kind, Err: err}
		}
		defer f.Close()
		tasks, err := ReadTasks(f, dopts)
		if err == nil && len(tasks) == 0 {
			err = errors.New("it has no tasks")
		}
		if err != nil {
			return nil, &PrepareError{Kind: PrepareInvalid, Err: fmt.Errorf("dataset %s: %w", j.Dataset, err)}
		}
		return tasks, nil
	}
	n := j.Generate
	if j.Limit > 0 {
		n = min(n, j.Limit)
	}
	if taskFree {
		return EmptyTasks(n), nil
	}
	seed := int64(1)
	if j.Seed != nil {
		seed = *j.Seed
	}
	return ArithmeticTasks(n, seed), nil
}

// EmptyTasks returns n tasks with ids "episode-1" to "episode-n" and
// nothing else: the tasks of environments that need none ([env.TaskFree]).
func EmptyTasks(n int) []retrain.Task {
	tasks := make([]retrain.Task, n)
	for i := range tasks {
		tasks[i].ID = fmt.Sprintf("episode-%d", i+1)
	}
	return tasks
}

func (j *Job) concurrency() int {
	if j.Concurrency > 0 {
		return j.Concurrency
	}
	return DefaultConcurrency
}

// ModelName is the name of the model that plays the episodes, as served.
func (p *Prepared) ModelName() string { return p.modelName }

// Tasks are the job's tasks, as loaded.
func (p *Prepared) Tasks() []retrain.Task { return p.tasks }

// Rewards is the job's reward calculator; nil when the job has no rewards.
func (p *Prepared) Rewards() *reward.Calculator { return p.rewards }

// RewardConfig is the reward configuration the run scores with: the job's
// Reward, or the environment's default rewards when the job has none (see
// [Job].Reward); nil when neither is set. It must not be modified.
func (p *Prepared) RewardConfig() *reward.Config { return p.job.Reward }

// RunOptions hold what a front end adds to a run that is not part of the
// job: where trajectories go, progress, and what to skip.
type RunOptions struct {
	// Sink receives each finished trajectory (see [RunnerOptions.Sink]).
	Sink Sink
	// Progress, when set, is called after each finished episode (see
	// [RunnerOptions.Progress]).
	Progress func(Progress)
	// Done holds the episodes to skip, for resuming (see [Completed]).
	Done map[Key]bool
	// Remote, when set, plays the episodes elsewhere (see
	// [RunnerOptions].Remote); Window then bounds the episodes out at once
	// (zero: [DefaultWindow]). The job's retries are the remote side's.
	Remote func(ctx context.Context, ep Episode) (*retrain.Trajectory, error)
	Window int
}

// DefaultWindow is the default [RunOptions].Window: episodes out at once
// on remote workers.
const DefaultWindow = 1024

// Run runs the job's episodes: N samples of every task, scored and given
// group advantages when the job has rewards. It may be called once.
func (p *Prepared) Run(ctx context.Context, opts *RunOptions) (Summary, error) {
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	ro := p.runnerOptions(&o)
	if o.Remote != nil {
		ro.Remote = o.Remote
		ro.Concurrency = cmp.Or(o.Window, DefaultWindow)
		ro.Retries = 0
	}
	return NewRunner(p.factory, p.model.Model, ro).Run(ctx, p.tasks)
}

// Player returns a player of single episodes of the job (see [Player]),
// unscored: the worker side of a distributed run.
func (p *Prepared) Player() *Player {
	return NewRunner(p.factory, p.model.Model, p.runnerOptions(&RunOptions{})).Player()
}

// runnerOptions are the runner's options of the job with o.
func (p *Prepared) runnerOptions(o *RunOptions) *RunnerOptions {
	j := &p.job
	ro := &RunnerOptions{
		N:           j.N,
		Concurrency: j.concurrency(),
		Episode: Options{
			Sampling:      j.Sampling,
			MaxTurns:      j.MaxTurns,
			MaxTokens:     j.MaxEpisodeTokens,
			Timeout:       time.Duration(j.Timeout),
			EnvName:       j.Env,
			ModelName:     p.modelName,
			PolicyVersion: p.model.PolicyVersion,
			LogprobsMode:  p.model.LogprobsMode,
		},
		Seed:     j.Seed,
		Retries:  j.Retries,
		Done:     o.Done,
		Sink:     o.Sink,
		Progress: o.Progress,
	}
	if p.rewards != nil {
		ro.Scorer = p.rewards
		if j.N > 1 && p.rewards.GroupLevel() {
			ro.GroupScorer = p.rewards
		}
		if j.Reward.Advantage != "" {
			ro.Advantages = p.rewards.Advantages
		}
	}
	return ro
}

// Close releases the environment factory and the model. It is safe to call
// more than once.
func (p *Prepared) Close() error {
	var errs []error
	if p.factory != nil {
		errs = append(errs, p.factory.Close())
		p.factory = nil
	}
	if p.rewards != nil {
		errs = append(errs, p.rewards.Close())
	}
	if p.model != nil {
		p.model.Close()
		p.model = nil
	}
	return errors.Join(errs...)
}
