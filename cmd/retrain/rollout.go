package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/rollout/dist"
	// The built-in environments register themselves.
)

func init() {
	rolloutCommand.run = runRollout // set here: runRollout refers to rolloutCommand
	register(rolloutCommand)
}

var rolloutCommand = &command{
	name:    "rollout",
	summary: "run episodes of an environment with a model and write the trajectories as JSONL",
	usage: "[--model URL|local|local:FILE|fake] [--env NAME] [--data FILE] [flags]\n\n" +
		"Examples:\n" +
		"  retrain rollout                                   # calculator env, generated arithmetic tasks, the built-in local model\n" +
		"  retrain rollout --model fake                      # calculator env, generated arithmetic tasks, scripted fake server\n" +
		"  retrain rollout --model http://localhost:8000/v1 --model-name Qwen/Qwen3-8B \\\n" +
		"      --env calculator --data gsm8k_test.jsonl --n 4 --concurrency 64 --token-ids --out gsm8k.jsonl\n" +
		"  retrain rollout --model fake --rewards rewards.yaml --n 4   # trajectories with rewards and group advantages\n" +
		"  retrain rollout --config run.yaml --resume        # a YAML file sets any flag (keys: flag names with _ for -;\n" +
		"                                                    # rewards: a file path or the reward configuration inline)\n" +
		"  NATS_TOKEN=... retrain rollout --nats nats://n1:4222,nats://n2:4222,nats://n3:4222 --nats-replicas 3 --nats-tls-ca ca.pem\n" +
		"                                                    # episodes on \"retrain worker\"s through a NATS cluster (docs/distributed.md)\n\n" +
		natsSecretsHelp,
}

// rolloutConfig is everything the command takes. Each field is a flag named
// like its key (its json tag) with "-" for "_"; a --config YAML file sets
// the same keys (decoded by package config) and flags given on the command
// line override it.
type rolloutConfig struct {
	Env              string         `json:"env"`
	EnvConfig        map[string]any `json:"env_config"`
	Data             string         `json:"data"`
	Tasks            int            `json:"tasks"`
	Limit            int            `json:"limit"`
	PromptField      string         `json:"prompt_field"`
	AnswerField      string         `json:"answer_field"`
	IDField          string         `json:"id_field"`
	Model            string         `json:"model"`
	ModelName        string         `json:"model_name"`
	APIKey           string         `json:"api_key"`
	TokenIDs         bool           `json:"token_ids"`
	LogprobsMode     string         `json:"logprobs_mode"`
	PolicyVersion    string         `json:"policy_version"`
	N                int            `json:"n"`
	Concurrency      int            `json:"concurrency"`
	Temperature      *float64       `json:"temperature"`
	TopP             *float64       `json:"top_p"`
	MaxTokens        int            `json:"max_tokens"`
	MaxEpisodeTokens int            `json:"max_episode_tokens"`
	Seed             *int64         `json:"seed"`
	MaxTurns         int            `json:"max_turns"`
	Timeout          time.Duration  `json:"timeout"`
	RequestTimeout   time.Duration  `json:"request_timeout"`
	MaxReplyBytes    int            `json:"max_reply_bytes"`
	Retries          int            `json:"retries"`
	Rewards          rewardsSpec    `json:"rewards"`
	Out              string         `json:"out"`
	Resume           bool           `json:"resume"`
	Overwrite        bool           `json:"overwrite"`
	Quiet            bool           `json:"quiet"`

	// Nats, when set, runs the episodes on workers through NATS JetStream
	// (see worker.go and docs/distributed.md).
	Nats       string        `json:"nats"`
	NatsListen string        `json:"nats_listen"`
	RunID      string        `json:"run_id"`
	Workers    int           `json:"workers"`
	AckWait    time.Duration `json:"ack_wait"`
	MaxDeliver int           `json:"max_deliver"`
	// The NATS connection's files and the streams' replicas (see
	// natsconn.go); secrets come from the environment.
	NatsCreds    string `json:"nats_creds"`
	NatsNKey     string `json:"nats_nkey"`
	NatsTLSCA    string `json:"nats_tls_ca"`
	NatsTLSCert  string `json:"nats_tls_cert"`
	NatsTLSKey   string `json:"nats_tls_key"`
	NatsReplicas int    `json:"nats_replicas"`
	// The embedded server's TLS files (--nats embedded; see natsconn.go).
	NatsServerCert     string `json:"nats_server_cert"`
	NatsServerKey      string `json:"nats_server_key"`
	NatsServerClientCA string `json:"nats_server_client_ca"`
}

func defaultRolloutConfig() rolloutConfig {
	return rolloutConfig{
		Env:         "calculator",
		Tasks:       20,
		N:           1,
		Concurrency: rollout.DefaultConcurrency,
		Retries:     1,
		Out:         "rollouts.jsonl",
	}
}

// fakeModel is the --model value that starts the in-process fake server.
const fakeModel = "fake"

// localModel is the --model value (and the default) that runs the built-in
// local model in-process; localModel+":FILE" runs it with the weights file
// FILE (e.g. written by "retrain train").
const localModel = "local"

// parseModelFlag turns a --model value into an endpoint: local:FILE is the
// local model with the weights FILE; anything else is the endpoint's base
// URL ("local", "fake", an http(s) URL; checked when it is opened).
func parseModelFlag(v string) (model.Endpoint, error) {
	file, ok := strings.CutPrefix(strings.TrimSpace(v), localModel+":")
	if !ok {
		return model.Endpoint{BaseURL: v}, nil
	}
	if strings.TrimSpace(file) == "" {
		return model.Endpoint{}, usageErrorf("--model %q names no weights file: write local:FILE (e.g. local:trained.bin), or local for the built-in weights", v)
	}
	return model.Endpoint{BaseURL: localModel, Weights: file}, nil
}

func runRollout(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(rolloutCommand, s.err)
	c := defaultRolloutConfig()
	configPath := defineRolloutFlags(fs, &c)
	cfg := defaultRolloutConfig()
	if _, err := parseRunArgs(fs, args, configPath, &c, &cfg); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Nats != "" && cfg.Nats != natsEmbedded { // say now, not after the tasks and the model are open
		nc, err := dist.ConnectWith(cfg.Nats, cfg.natsConn())
		if err != nil {
			return err
		}
		nc.Close()
	}
	return doRollout(ctx, &cfg, s)
}

// defineRolloutFlags defines rollout's flags on fs, bound to c, whose
// values are their defaults; eval shares them. It returns --config's value.
func defineRolloutFlags(fs *flag.FlagSet, c *rolloutConfig) *string {
	configPath := fs.String("config", "", "YAML `file` setting any of these flags (keys like max_turns); flags given here override it")
	fs.StringVar(&c.Env, "env", c.Env, "environment `name` (see \"retrain envs\")")
	fs.Var(jsonObjectFlag{&c.EnvConfig}, "env-config", "environment configuration as a JSON `object`, e.g. '{\"max_steps\": 5}'")
	fs.StringVar(&c.Data, "data", "", "JSONL `file` of tasks (GSM8K's layout works as is); omitted: generated arithmetic tasks, or empty ones for environments that need no task (games, gym)")
	fs.IntVar(&c.Tasks, "tasks", c.Tasks, "how many tasks to generate when --data is omitted")
	fs.IntVar(&c.Limit, "limit", 0, "use only the first `n` tasks (0: all)")
	fs.StringVar(&c.PromptField, "prompt-field", "", "the dataset's prompt `field` (default \"prompt\", else \"question\")")
	fs.StringVar(&c.AnswerField, "answer-field", "", "the dataset's reference answer `field` (default \"answer\")")
	fs.StringVar(&c.IDField, "id-field", "", "the dataset's task id `field` (default \"id\", else the line number)")
	fs.StringVar(&c.Model, "model", "", "base `URL` of an OpenAI-compatible server (e.g. http://localhost:8000/v1), \"local\" for the built-in local model (the default), local:FILE for it with a weights file (e.g. written by \"retrain train\"), or \"fake\" for the in-process scripted fake server")
	fs.StringVar(&c.ModelName, "model-name", "", "the served model's `name` (default: the only model the server lists)")
	fs.StringVar(&c.APIKey, "api-key", "", "API `key` sent as a bearer token (default $OPENAI_API_KEY)")
	fs.BoolVar(&c.TokenIDs, "token-ids", false, "ask for prompt and completion token ids (vLLM's return_token_ids); enables the template drift check")
	fs.StringVar(&c.LogprobsMode, "logprobs-mode", "", "what the server's log-probs are, recorded on every turn: `raw` (of the raw logits; vLLM's default, the default) or processed (after temperature and top-p)")
	fs.StringVar(&c.PolicyVersion, "policy-version", "", "the served policy's `version` (e.g. a training step), recorded on every turn (default: the model's name; the local model's name and weights hash)")
	fs.IntVar(&c.N, "n", c.N, "samples per task (the group size)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "episodes running at once")
	fs.Var(optFloatFlag{&c.Temperature}, "temperature", "sampling temperature (default: the server's)")
	fs.Var(optFloatFlag{&c.TopP}, "top-p", "nucleus sampling top_p (default: the server's)")
	fs.IntVar(&c.MaxTokens, "max-tokens", 0, "max_tokens of each model request (0: the server's default)")
	fs.IntVar(&c.MaxEpisodeTokens, "max-episode-tokens", 0, "budget of completion tokens over a whole episode (0: none)")
	fs.Var(optIntFlag{&c.Seed}, "seed", "seed of the environments, the sampling and the generated tasks")
	fs.IntVar(&c.MaxTurns, "max-turns", 0, fmt.Sprintf("assistant turns per episode (0: the environment's own step limit when it has one, e.g. a Gymnasium TimeLimit, else %d)", rollout.DefaultMaxTurns))
	fs.DurationVar(&c.Timeout, "timeout", 0, "time limit of one episode, e.g. 2m (0: none)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 0, fmt.Sprintf("time limit of one model request attempt, e.g. 90s; a timed-out attempt is retried (0: %v)", openai.DefaultTimeout))
	fs.IntVar(&c.MaxReplyBytes, "max-reply-bytes", 0, fmt.Sprintf("largest model reply accepted, in bytes (0: %d, i.e. %d MiB)", openai.DefaultMaxReplyBytes, openai.DefaultMaxReplyBytes>>20))
	fs.IntVar(&c.Retries, "retries", c.Retries, "extra attempts of an episode whose model calls failed")
	fs.Var(&c.Rewards, "rewards", "reward configuration `file` (YAML or JSON: step and rollout components, distribution, advantage); the trajectories then hold rewards, and advantages when it names an estimator")
	fs.StringVar(&c.Out, "out", c.Out, "output JSONL `file`, one trajectory per line")
	fs.BoolVar(&c.Resume, "resume", false, "continue --out: skip the episodes it holds that succeeded, rerun failed ones; with --nats, also pick up the run's streams where its coordinator stopped (the same --run-id; docs/distributed.md)")
	fs.BoolVar(&c.Overwrite, "overwrite", false, "replace an existing --out")
	fs.BoolVar(&c.Quiet, "quiet", false, "print no progress and no example episode, only the summary")
	defineDistributedFlags(fs, c)
	return configPath
}

// parseRunArgs parses the arguments of a run command (rollout, eval) whose
// flags fs binds to flagCfg, and fills cfg, which holds the defaults: the
// --config file first, then the flags given. cfg and flagCfg point to
// structs of one type. It returns the names of the flags given.
func parseRunArgs(fs *flag.FlagSet, args []string, configPath *string, flagCfg, cfg any) ([]string, error) {
	if err := parseOnlyFlags(fs, args); err != nil {
		return nil, err
	}
	if *configPath != "" {
		if err := loadRolloutConfig(*configPath, cfg); err != nil {
			return nil, err
		}
	}
	var set []string
	fs.Visit(func(f *flag.Flag) {
		copyConfigField(cfg, flagCfg, f.Name)
		set = append(set, f.Name)
	})
	return set, nil
}

// validate checks the flags that are the command's own, then the job they
// describe (rollout.Job.Validate), naming the flag of a bad job key.
func (c *rolloutConfig) validate() error {
	switch {
	case c.N < 1:
		return usageErrorf("--n is %d; it must be at least 1", c.N)
	case c.Concurrency < 1:
		return usageErrorf("--concurrency is %d; it must be at least 1", c.Concurrency)
	case c.Tasks < 1 && c.Data == "":
		return usageErrorf("--tasks is %d; it must be at least 1 (or give --data)", c.Tasks)
	case c.Out == "":
		return usageErrorf("--out is empty: name the output file")
	case c.Resume && c.Overwrite:
		return usageErrorf("--resume and --overwrite contradict each other: pick one")
	}
	if err := c.validateDistributed(); err != nil {
		return err
	}
	job, err := c.job(nil)
	if err != nil {
		return err
	}
	return jobUsageError(job.Validate())
}

// jobFlags maps the keys of a rollout.Job to the flags that set them, where
// they differ.
var jobFlags = map[string]string{
	"model.base_url":       "model",
	"generate":             "tasks",
	"sampling.temperature": "temperature",
	"sampling.top_p":       "top-p",
	"sampling.max_tokens":  "max-tokens",
	"dataset":              "data",
}

// jobUsageError turns an error of rollout.Job.Validate into a usage error
// that names the flag.
func jobUsageError(err error) error {
	var je *rollout.JobError
	if !errors.As(err, &je) {
		return err
	}
	flagName, ok := jobFlags[je.Key]
	if !ok {
		flagName = strings.ReplaceAll(je.Key, "_", "-")
	}
	return usageErrorf("--%s %s", flagName, je.Problem)
}

// job is the rollout job the flags describe, with the given rewards.
func (c *rolloutConfig) job(rewards *reward.Config) (*rollout.Job, error) {
	ep, err := parseModelFlag(c.Model)
	if err != nil {
		return nil, err
	}
	j := &rollout.Job{
		Env:         c.Env,
		Dataset:     c.Data,
		PromptField: c.PromptField,
		AnswerField: c.AnswerField,
		IDField:     c.IDField,
		Limit:       c.Limit,
		N:           c.N,
		Concurrency: c.Concurrency,
		Model: model.Endpoint{BaseURL: ep.BaseURL, Weights: ep.Weights, Model: c.ModelName, APIKey: c.APIKey, TokenIDs: c.TokenIDs,
			LogprobsMode: c.LogprobsMode, PolicyVersion: c.PolicyVersion},
		Sampling:         model.Sampling{Temperature: c.Temperature, TopP: c.TopP, MaxTokens: c.MaxTokens, Seed: c.Seed},
		MaxTurns:         c.MaxTurns,
		MaxEpisodeTokens: c.MaxEpisodeTokens,
		Timeout:          env.Duration(c.Timeout),
		RequestTimeout:   env.Duration(c.RequestTimeout),
		MaxReplyBytes:    c.MaxReplyBytes,
		Seed:             c.Seed,
		Retries:          c.Retries,
		Reward:           rewards,
	}
	if c.Data == "" {
		j.Generate = c.Tasks
	}
	if c.EnvConfig != nil {
		b, err := json.Marshal(c.EnvConfig)
		if err != nil {
			return nil, usageErrorf("env_config: %v", err)
		}
		j.EnvConfig = b
	}
	return j, nil
}

func doRollout(ctx context.Context, c *rolloutConfig, s stdio) error {
	rewards, err := newRunRewards(&c.Rewards)
	if err != nil {
		return err
	}
	job, err := c.job(rewards.config())
	if err != nil {
		return err
	}
	prepared, err := rollout.Prepare(ctx, job, &rollout.PrepareOptions{
		OnTasks: func(tasks []retrain.Task, generated bool) {
			if generated {
				fmt.Fprintf(s.err, "no --data: using %d generated arithmetic tasks (\"What is 37 * 12 + 5?\"; --tasks sets how many)\n", len(tasks))
			}
		},
		Model: endpoint.Options{Notice: s.err, Responder: fakeResponder, ModelHint: "name one with --model-name"},
	})
	if err != nil {
		return prepareUsageError(err)
	}
	defer prepared.Close()
	if rewards == nil && prepared.RewardConfig() != nil {
		rewards = summarizeRewards(prepared.RewardConfig())
		fmt.Fprintf(s.err, "no --rewards: scoring with the %s environment's default rewards (%s; \"retrain envs %s\" shows them)\n",
			c.Env, describeRewards(rewards.cfg), c.Env)
	}

	var done map[rollout.Key]bool
	if c.Resume {
		if done, err = rollout.Completed(c.Out); err != nil {
			return err
		}
	} else if st, err := os.Stat(c.Out); err == nil && st.Size() > 0 && !c.Overwrite {
		return usageErrorf("%s already exists: pass --resume to continue it, --overwrite to replace it, or choose another --out", c.Out)
	}
	w, err := rollout.OpenJSONL(c.Out, &rollout.JSONLOptions{Overwrite: !c.Resume})
	if err != nil {
		return err
	}
	defer w.Close()

	var first *retrain.Trajectory // the first to finish, for the error of a run whose episodes all failed
	shown := newEpisodePicker(prepared.Tasks())
	var display *rollout.Display
	if !c.Quiet {
		display = rollout.NewDisplay(s.err, nil)
	}
	progress := func(p rollout.Progress) {
		if first == nil {
			first = p.Last
		}
		shown.add(p.Last)
		if display != nil {
			display.Update(p)
		}
	}
	ro := &rollout.RunOptions{
		Sink:     w,
		Done:     done,
		Progress: rewards.watch(progress),
	}
	var sum rollout.Summary
	var runErr error
	if c.Nats != "" {
		sum, runErr = runDistributed(ctx, c, job, prepared, ro, s)
	} else {
		sum, runErr = prepared.Run(ctx, ro)
	}
	if display != nil {
		display.Finish()
	}
	if err := w.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if shown.best != nil && !c.Quiet {
		fmt.Fprintln(s.out, shown.caption())
		printEpisode(s.out, shown.best)
	}
	fmt.Fprintln(s.err, sum)
	rewards.printSummary(s.err)
	fmt.Fprintf(s.err, "wrote %d trajectories to %s\n", w.Lines(), c.Out)
	if errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("interrupted; run the same command with --resume to finish the %d episodes left", sum.Canceled)
	}
	if runErr != nil {
		return runErr
	}
	if sum.Succeeded == 0 && sum.Failed > 0 {
		return &allFailedError{n: sum.Failed, first: firstLine(first.Error)}
	}
	return nil
}

// prepareUsageError words an error of rollout.Prepare for the command line:
// a bad job, environment, dataset or reward is a usage error; a model that
// could not be opened keeps its own words.
func prepareUsageError(err error) error {
	var pe *rollout.PrepareError
	switch {
	case errors.As(err, &pe) && pe.Kind == rollout.PrepareModel:
		return err
	case errors.Is(err, env.ErrUnknown):
		return usageErrorf("%v (run \"retrain envs\" to list them)", err)
	case errors.As(err, &pe):
		return usageErrorf("%v", err)
	}
	return jobUsageError(err)
}

// allFailedError is doRollout's error when every episode failed.
type allFailedError struct {
	n     int
	first string
}

func (e *allFailedError) Error() string {
	return fmt.Sprintf("all %d episodes failed; the first error: %s", e.n, e.first)
}

// loadRolloutConfig decodes the YAML file at path onto c, a pointer to
// rolloutConfig or to a struct that embeds it, with config.DecodeYAML. An
// unknown key is an error naming it and its line.
func loadRolloutConfig(path string, c any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return usageErrorf("config file %s does not exist", path)
	}
	if err != nil {
		return usageErrorf("config: %v", err)
	}
	err = config.DecodeYAML(b, c)
	var ce *config.Error
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	where := path
	if ce.Line > 0 {
		where += fmt.Sprintf(" line %d", ce.Line)
	}
	switch {
	case errors.Is(err, config.ErrUnknownKey):
		in := ""
		if p := ce.Parent(); p != "" {
			in = " in " + p
		}
		known := slices.Sorted(slices.Values(ce.Allowed))
		return usageErrorf("config %s: unknown key %q%s; known keys: %s", where, ce.Name(), in, strings.Join(known, ", "))
	case ce.Key != "":
		return usageErrorf("config %s: key %q: %s", where, ce.Key, oneLine(ce.Err))
	}
	return usageErrorf("config %s: %s", where, oneLine(ce.Err))
}

// configKeys lists the keys of rolloutConfig, sorted.
func configKeys() []string { return yamlKeys(reflect.TypeFor[rolloutConfig]()) }

// yamlKeys lists the keys of a config file decoded onto the struct type t
// (those of embedded structs included), sorted.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for _, k := range config.Keys(reflect.Zero(reflect.PointerTo(t)).Interface()) {
		keys = append(keys, k.Name)
	}
	sort.Strings(keys)
	return keys
}

// configFields calls f with each key of the struct v (its json tag) and its
// field, descending into embedded structs.
func configFields(v reflect.Value, f func(key string, field reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		if t.Field(i).Anonymous {
			configFields(v.Field(i), f)
			continue
		}
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		f(key, v.Field(i))
	}
}

// copyConfigField copies the field set by flag flagName from src to dst,
// pointers to structs of one type.
func copyConfigField(dst, src any, flagName string) {
	key := strings.ReplaceAll(flagName, "-", "_")
	from := map[string]reflect.Value{}
	configFields(reflect.ValueOf(src).Elem(), func(k string, v reflect.Value) { from[k] = v })
	configFields(reflect.ValueOf(dst).Elem(), func(k string, v reflect.Value) {
		if k == key {
			v.Set(from[k])
		}
	})
}

// oneLine joins the lines of err's message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// optFloatFlag is a float flag that may be left unset.
type optFloatFlag struct{ p **float64 }

func (f optFloatFlag) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return strconv.FormatFloat(**f.p, 'g', -1, 64)
}

func (f optFloatFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	*f.p = &v
	return nil
}

// optIntFlag is an integer flag that may be left unset.
type optIntFlag struct{ p **int64 }

func (f optIntFlag) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return strconv.FormatInt(**f.p, 10)
}

func (f optIntFlag) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*f.p = &v
	return nil
}

// jsonObjectFlag is a flag holding a JSON object.
type jsonObjectFlag struct{ p *map[string]any }

func (f jsonObjectFlag) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	b, _ := json.Marshal(*f.p)
	return string(b)
}

func (f jsonObjectFlag) Set(s string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return errors.New(`not a JSON object; write e.g. '{"max_steps": 5}'`)
	}
	*f.p = m
	return nil
}

// episodePicker chooses the episode rollout prints: the first, in task
// and sample order, that called a tool, so that a newcomer sees the loop
// of model, tool and result; when none did, the first episode. It picks
// by order, not by outcome: a tool-using episode that answered wrongly is
// shown as it is. Its add is called from one goroutine at a time (the
// runner's progress calls are serialized).
type episodePicker struct {
	order          map[string]int // task id → index
	best           *retrain.Trajectory
	bestTool       bool
	episodes, tool int // episodes seen, those that called a tool
}

func newEpisodePicker(tasks []retrain.Task) *episodePicker {
	p := &episodePicker{order: make(map[string]int, len(tasks))}
	for i, t := range tasks {
		if _, ok := p.order[t.ID]; !ok {
			p.order[t.ID] = i
		}
	}
	return p
}

// add considers t.
func (p *episodePicker) add(t *retrain.Trajectory) {
	if t == nil {
		return
	}
	p.episodes++
	usedTool := calledTool(t)
	if usedTool {
		p.tool++
	}
	switch {
	case p.best == nil,
		usedTool && !p.bestTool,
		usedTool == p.bestTool && p.before(t, p.best):
		p.best, p.bestTool = t, usedTool
	}
}

// before reports whether a comes before b in task and sample order.
func (p *episodePicker) before(a, b *retrain.Trajectory) bool {
	if ia, ib := p.order[a.Task.ID], p.order[b.Task.ID]; ia != ib {
		return ia < ib
	}
	return a.Sample < b.Sample
}

// caption says which episode is shown and why.
func (p *episodePicker) caption() string {
	if !p.bestTool {
		return fmt.Sprintf("the first episode (none of the %d called a tool):", p.episodes)
	}
	return fmt.Sprintf("the first episode that called a tool (%d of %d did):", p.tool, p.episodes)
}

// calledTool reports whether a turn of t called a tool.
func calledTool(t *retrain.Trajectory) bool {
	for _, turn := range t.Turns {
		if len(turn.Action.ToolCalls) > 0 {
			return true
		}
	}
	return false
}

// describeRewards names cfg's components in a few words, e.g. "correct:
// math_equal, format: format ×0.1".
func describeRewards(cfg *reward.Config) string {
	var parts []string
	for _, comp := range slices.Concat(cfg.Step, cfg.Rollout) {
		part := cmp.Or(comp.Name, comp.Reward) + ": " + cmp.Or(comp.Reward, comp.Name)
		if comp.Weight != nil && *comp.Weight != 1 {
			part += fmt.Sprintf(" ×%g", *comp.Weight)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "the environment's step rewards only"
	}
	return strings.Join(parts, ", ")
}

// printEpisode writes one trajectory for people to read.
func printEpisode(w io.Writer, t *retrain.Trajectory) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "── episode %s · env %s · model %s ──\n", t.ID, t.Env, t.Model)
	for _, m := range t.Messages {
		text := m.Content
		if m.Role == retrain.RoleSystem {
			text = clip(text, 160)
		}
		for _, tc := range m.ToolCalls {
			text += fmt.Sprintf(" [tool call %s %s]", tc.Name, tc.Arguments)
		}
		fmt.Fprintf(&b, "[%s] %s\n", m.Role, clip(text, 600))
	}
	fmt.Fprintf(&b, "── stop: %s · turns: %d · step reward: %g", t.StopReason, len(t.Turns), t.StepReward)
	if r := t.Rewards; r != nil {
		fmt.Fprintf(&b, " · reward: %.4g", r.Total)
		if len(r.Rollout) > 0 {
			var parts []string
			for _, name := range slices.Sorted(maps.Keys(r.Rollout)) {
				parts = append(parts, fmt.Sprintf("%s %.4g", name, r.Rollout[name]))
			}
			b.WriteString(" (" + strings.Join(parts, ", ") + ")")
		}
	}
	if t.Task.Answer != "" {
		fmt.Fprintf(&b, " · reference answer: %s", t.Task.Answer)
	}
	if t.Error != "" {
		fmt.Fprintf(&b, "\nerror (%s): %s", t.ErrorCause, firstLine(t.Error))
	}
	b.WriteString(" ──\n")
	w.Write(b.Bytes())
}

// clip shortens s to about n bytes, on one line.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + " …"
	}
	return s
}

// fakeResponder is the fake model of "--model fake": it plays the
// calculator environment the obvious way (see
// openaitest.ArithmeticResponder).
var fakeResponder = openaitest.ArithmeticResponder
