package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
)

// MaxRolloutConcurrency bounds a rollout request's concurrency.
const MaxRolloutConcurrency = 1024

// RolloutRequest is the body of POST /v1/rollouts.
type RolloutRequest struct {
	// Env is the environment's name (default: the server's default).
	Env string `json:"env"`
	// EnvConfig configures the environment; empty means the server's
	// configuration of it.
	EnvConfig json.RawMessage `json:"env_config,omitempty"`
	// Tasks are the tasks to run; or give Dataset.
	Tasks []retrain.Task `json:"tasks,omitempty"`
	// Dataset is a JSONL file of tasks, relative to the server's data
	// directory (retrain serve --data-dir).
	Dataset string `json:"dataset,omitempty"`
	// PromptField, AnswerField and IDField name the dataset's fields
	// (see rollout.DatasetOptions); Limit keeps the first Limit tasks.
	PromptField string `json:"prompt_field,omitempty"`
	AnswerField string `json:"answer_field,omitempty"`
	IDField     string `json:"id_field,omitempty"`
	Limit       int    `json:"limit,omitempty"`
	// N is the number of samples per task (the group size; default 1).
	N int `json:"n,omitempty"`
	// Concurrency bounds the episodes running at once (default
	// rollout.DefaultConcurrency, at most MaxRolloutConcurrency).
	Concurrency int `json:"concurrency,omitempty"`
	// Model is the OpenAI-compatible endpoint that plays the episodes:
	// base_url (required, an http(s) URL), model, api_key, token_ids.
	Model model.Endpoint `json:"model"`
	// Sampling holds the sampling settings of every request.
	Sampling model.Sampling `json:"sampling"`
	// MaxTurns, MaxEpisodeTokens, Timeout, Seed and Retries are as in
	// "retrain rollout".
	MaxTurns         int          `json:"max_turns,omitempty"`
	MaxEpisodeTokens int          `json:"max_episode_tokens,omitempty"`
	Timeout          env.Duration `json:"timeout,omitempty"`
	Seed             *int64       `json:"seed,omitempty"`
	Retries          int          `json:"retries,omitempty"`
	// Reward, when set, scores each trajectory (and computes group
	// advantages when it names an estimator).
	Reward *reward.Config `json:"reward,omitempty"`
}

// RolloutLineType says what a [RolloutLine] holds: one of the Line constants.
type RolloutLineType string

// Rollout line types.
const (
	// LineTrajectory: a finished trajectory, in Trajectory.
	LineTrajectory RolloutLineType = "trajectory"
	// LineSummary: the run's summary, in Summary; the last line of a run that finished.
	LineSummary RolloutLineType = "summary"
	// LineError: the error that ended the run, in Error; the last line then.
	LineError RolloutLineType = "error"
)

// RolloutLine is one line of the NDJSON reply of POST /v1/rollouts: a
// finished trajectory, the final summary, or an error that ended the run.
type RolloutLine struct {
	Type       RolloutLineType     `json:"type"`
	Trajectory *retrain.Trajectory `json:"trajectory,omitempty"`
	Summary    *RolloutSummary     `json:"summary,omitempty"`
	Error      string              `json:"error,omitempty"`
}

// RolloutSummary describes a finished rollout request.
type RolloutSummary struct {
	Episodes          int                        `json:"episodes"`
	Succeeded         int                        `json:"succeeded"`
	Failed            int                        `json:"failed"`
	Failures          map[retrain.ErrorCause]int `json:"failures,omitempty"`
	StopReasons       map[retrain.StopReason]int `json:"stop_reasons,omitempty"`
	Canceled          int                        `json:"canceled,omitempty"`
	Retries           int                        `json:"retries,omitempty"`
	MeanStepReward    float64                    `json:"mean_step_reward"`
	MeanReward        *float64                   `json:"mean_reward,omitempty"`
	MeanTurns         float64                    `json:"mean_turns"`
	PromptTokens      int                        `json:"prompt_tokens"`
	CompletionTokens  int                        `json:"completion_tokens"`
	TemplateDrift     int                        `json:"template_drift,omitempty"`
	WallSeconds       float64                    `json:"wall_seconds"`
	EpisodesPerSecond float64                    `json:"episodes_per_second"`
}

// rolloutError writes a 4xx/5xx reply before the stream starts.
func rolloutError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"detail": fmt.Sprintf(format, args...)})
}

// handleRollouts serves POST /v1/rollouts: it runs the requested episodes
// and streams each trajectory as an NDJSON line as it finishes (whole
// groups at once when advantages are computed), then a summary line.
func (s *Server) handleRollouts(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req RolloutRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		rolloutError(w, http.StatusBadRequest, "invalid rollout request: %v; see RolloutRequest in server/rollouts.go for the fields", err)
		return
	}
	if req.Env == "" {
		req.Env = s.opts.DefaultEnv
	}
	if !s.serves(req.Env) {
		rolloutError(w, http.StatusNotFound, "unknown environment %q; served: %s", req.Env, strings.Join(s.served(), ", "))
		return
	}
	switch {
	case req.N < 0, req.Concurrency < 0, req.MaxTurns < 0, req.MaxEpisodeTokens < 0, req.Retries < 0, req.Limit < 0:
		rolloutError(w, http.StatusBadRequest, "n, concurrency, max_turns, max_episode_tokens, retries and limit must not be negative")
		return
	case req.Concurrency > MaxRolloutConcurrency:
		rolloutError(w, http.StatusBadRequest, "concurrency %d is above the limit of %d", req.Concurrency, MaxRolloutConcurrency)
		return
	case req.Model.BaseURL == "":
		rolloutError(w, http.StatusBadRequest, "model.base_url is required: the base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
		return
	}
	tasks, status, err := s.rolloutTasks(&req)
	if err != nil {
		rolloutError(w, status, "%v", err)
		return
	}
	var calc *reward.Calculator
	if req.Reward != nil {
		if calc, err = reward.NewCalculator(req.Reward, nil); err != nil {
			rolloutError(w, http.StatusBadRequest, "reward: %v", err)
			return
		}
	}
	cfg := req.EnvConfig
	if len(cfg) == 0 {
		cfg = s.opts.EnvConfig[req.Env]
	}
	factory, err := s.reg.New(req.Env, cfg)
	if err != nil {
		rolloutError(w, http.StatusBadRequest, "%v", err)
		return
	}
	defer factory.Close()
	concurrency := req.Concurrency
	if concurrency == 0 {
		concurrency = rollout.DefaultConcurrency
	}
	switch { // the local model and the fake are the CLI's, not a client's
	case req.Model.Kind() != "openai":
		rolloutError(w, http.StatusBadRequest, "model: base_url %q is not an http(s) URL; give the base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1", req.Model.BaseURL)
		return
	case req.Model.Weights != "":
		rolloutError(w, http.StatusBadRequest, "model: weights are not accepted here; serve them with \"retrain serve-model --weights\" and give its base_url")
		return
	}
	opened, err := endpoint.Open(r.Context(), req.Model, &endpoint.Options{MaxInFlight: concurrency, ModelHint: "name one in model.model"})
	if errors.Is(err, endpoint.ErrInvalid) {
		rolloutError(w, http.StatusBadRequest, "model: %v", err)
		return
	}
	if err != nil {
		rolloutError(w, http.StatusBadGateway, "list the models of %s: %v", req.Model.BaseURL, err)
		return
	}
	defer opened.Close()
	client, modelName := opened.Model, opened.Name

	select {
	case s.rollouts <- struct{}{}:
		defer func() { <-s.rollouts }()
	default:
		w.Header().Set("Retry-After", "5")
		rolloutError(w, http.StatusServiceUnavailable, "%d rollout requests are running, the server's limit; retry later", s.opts.MaxRollouts)
		return
	}
	s.metrics.rollouts.Add(1)
	s.metrics.rolloutsActive.Add(1)
	defer s.metrics.rolloutsActive.Add(-1)

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	sink := &ndjsonSink{w: w, rc: http.NewResponseController(w)}
	sink.rc.Flush()

	opts := &rollout.RunnerOptions{
		N:           req.N,
		Concurrency: concurrency,
		Episode: rollout.Options{
			Sampling:  req.Sampling,
			MaxTurns:  req.MaxTurns,
			MaxTokens: req.MaxEpisodeTokens,
			Timeout:   time.Duration(req.Timeout),
			EnvName:   req.Env,
			ModelName: modelName,
		},
		Seed:    req.Seed,
		Retries: req.Retries,
		Sink:    sink,
	}
	if calc != nil {
		opts.Scorer = calc
		if req.Reward.Advantage != "" {
			opts.Advantages = calc.Advantages
		}
	}
	sum, runErr := rollout.NewRunner(factory, client, opts).Run(r.Context(), tasks)
	s.metrics.rolloutEpisodes.Add(int64(sink.lines()))
	if runErr != nil {
		sink.write(&RolloutLine{Type: LineError, Error: runErr.Error()})
	}
	out := summarize(sum, sink.meanReward())
	sink.write(&RolloutLine{Type: LineSummary, Summary: &out})
}

// rolloutTasks returns the request's tasks, read from its dataset when it
// names one; on error it gives the HTTP status too.
func (s *Server) rolloutTasks(req *RolloutRequest) ([]retrain.Task, int, error) {
	switch {
	case len(req.Tasks) > 0 && req.Dataset != "":
		return nil, http.StatusBadRequest, errors.New("give tasks or dataset, not both")
	case len(req.Tasks) > 0:
		tasks := req.Tasks
		if req.Limit > 0 && req.Limit < len(tasks) {
			tasks = tasks[:req.Limit]
		}
		for i := range tasks {
			if tasks[i].ID == "" {
				tasks[i].ID = fmt.Sprint(i + 1)
			}
		}
		return tasks, 0, nil
	case req.Dataset == "":
		return nil, http.StatusBadRequest, errors.New("no tasks: give \"tasks\" (a list of {\"prompt\", \"answer\"}) or \"dataset\" (a JSONL file under the server's --data-dir)")
	case s.opts.DataDir == "":
		return nil, http.StatusForbidden, errors.New("this server reads no dataset files: start retrain serve with --data-dir DIR to allow datasets under DIR, or send the tasks in the request")
	}
	f, err := os.OpenInRoot(s.opts.DataDir, req.Dataset)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, http.StatusNotFound, fmt.Errorf("dataset %s does not exist under the server's data directory", req.Dataset)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("dataset %s: %v (paths must stay inside the server's data directory)", req.Dataset, err)
	}
	defer f.Close()
	tasks, err := rollout.ReadTasks(f, &rollout.DatasetOptions{
		PromptField: req.PromptField, AnswerField: req.AnswerField, IDField: req.IDField, Limit: req.Limit,
	})
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("dataset %s: %v", req.Dataset, err)
	}
	if len(tasks) == 0 {
		return nil, http.StatusBadRequest, fmt.Errorf("dataset %s has no tasks", req.Dataset)
	}
	return tasks, 0, nil
}

func summarize(s rollout.Summary, meanReward *float64) RolloutSummary {
	return RolloutSummary{
		Episodes: s.Episodes, Succeeded: s.Succeeded, Failed: s.Failed,
		Failures: s.Failures, StopReasons: s.StopReasons, Canceled: s.Canceled, Retries: s.Retries,
		MeanStepReward: s.MeanStepReward, MeanReward: meanReward, MeanTurns: s.MeanTurns,
		PromptTokens: s.PromptTokens, CompletionTokens: s.CompletionTokens, TemplateDrift: s.TemplateDrift,
		WallSeconds: s.Wall.Seconds(), EpisodesPerSecond: s.EpisodesPerSecond,
	}
}

// ndjsonSink streams trajectories as NDJSON lines, flushing each. It is a
// rollout.Sink, safe for concurrent use.
type ndjsonSink struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu        sync.Mutex
	n         int
	rewardSum float64
	rewarded  int
	err       error
}

func (s *ndjsonSink) Write(t *retrain.Trajectory) error {
	err := s.write(&RolloutLine{Type: LineTrajectory, Trajectory: t})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.n++
		if t.Rewards != nil && !t.Failed() {
			s.rewardSum += t.Rewards.Total
			s.rewarded++
		}
	}
	return err
}

func (s *ndjsonSink) write(l *RolloutLine) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return fmt.Errorf("encode rollout line: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		s.err = fmt.Errorf("stream to the client: %w", err)
		return s.err
	}
	s.rc.Flush()
	return nil
}

func (s *ndjsonSink) lines() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *ndjsonSink) meanReward() *float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rewarded == 0 {
		return nil
	}
	m := s.rewardSum / float64(s.rewarded)
	return &m
}
