package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/rollout"
)

// MaxRolloutConcurrency bounds a rollout request's concurrency.
const MaxRolloutConcurrency = 1024

// RolloutRequest is the body of POST /v1/rollouts: a rollout job, run
// the same way as "retrain rollout" runs it. Its dataset is a JSONL file
// relative to the server's data directory (retrain serve --data-dir); an
// empty env_config means the server's configuration of the environment.
type RolloutRequest = rollout.Job

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

	// SuccessRate is the share of the episodes (failed ones included) whose
	// correctness component (reward.Config.Correctness: "correct" of the
	// calculator's default rewards) scored 1; absent when the rewards have
	// no such component.
	SuccessRate *float64 `json:"success_rate,omitempty"`
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
		if rerr := s.jobDecodeError(err); rerr != nil {
			rolloutError(w, http.StatusBadRequest, "%v", rerr)
			return
		}
		rolloutError(w, http.StatusBadRequest, "invalid rollout request: %v; see rollout.Job for the fields", err)
		return
	}
	if req.Env == "" {
		req.Env = s.opts.DefaultEnv
	}
	if !s.serves(req.Env) {
		rolloutError(w, http.StatusNotFound, "unknown environment %q; served: %s", req.Env, strings.Join(s.served(), ", "))
		return
	}
	if err := s.checkJob(&req); err != nil {
		rolloutError(w, http.StatusBadRequest, "%v", err)
		return
	}
	switch {
	case req.Model.BaseURL == "":
		rolloutError(w, http.StatusBadRequest, "model.base_url is required: \"local\" (the built-in model), \"fake\", or the base URL of an OpenAI-compatible server the operator allowed (retrain serve --model-url)")
		return
	case req.Dataset != "" && s.opts.DataDir == "":
		rolloutError(w, http.StatusForbidden, "this server reads no dataset files: start retrain serve with --data-dir DIR to allow datasets under DIR, or send the tasks in the request")
		return
	}
	if rep := s.clientConfigReply(req.Env, req.EnvConfig); rep != nil {
		rolloutError(w, rep.status, "env_config: %s", rep.err.Message)
		return
	}
	if err := s.modelAllowed(req.Model); err != nil {
		rolloutError(w, http.StatusForbidden, "%v", err)
		return
	}
	if err := rewardParamsAllowed(req.Reward); err != nil {
		rolloutError(w, http.StatusForbidden, "%v", err)
		return
	}
	if len(req.EnvConfig) == 0 {
		req.EnvConfig = s.opts.EnvConfig[req.Env]
	}
	prepared, err := rollout.Prepare(r.Context(), &req, &rollout.PrepareOptions{
		Envs:        s.reg,
		OpenDataset: s.openDataset,
		Model:       endpoint.Options{ModelHint: "name one in model.model"},
	})
	if err != nil {
		rolloutError(w, prepareStatus(err), "%v", err)
		return
	}
	defer prepared.Close()
	if err := s.checkEpisodes(len(prepared.Tasks()), req.Limit, req.N); err != nil {
		rolloutError(w, http.StatusBadRequest, "%v", err)
		return
	}

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
	if cfg := prepared.RewardConfig(); cfg != nil {
		sink.correct = cfg.Correctness()
	}
	sink.rc.Flush()

	sum, runErr := prepared.Run(r.Context(), &rollout.RunOptions{Sink: sink})
	s.metrics.rolloutEpisodes.Add(int64(sink.lines()))
	if runErr != nil {
		sink.write(&RolloutLine{Type: LineError, Error: runErr.Error()})
	}
	out := summarize(sum, sink.meanReward())
	out.SuccessRate = sink.successRate()
	sink.write(&RolloutLine{Type: LineSummary, Summary: &out})
}

// openDataset opens a request's dataset inside the server's data directory.
func (s *Server) openDataset(name string) (io.ReadCloser, error) {
	f, err := os.OpenInRoot(s.opts.DataDir, name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("dataset %s does not exist under the server's data directory: %w", name, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %v (paths must stay inside the server's data directory)", name, err)
	}
	return f, nil
}

// prepareStatus is the HTTP status of an error of rollout.Prepare.
func prepareStatus(err error) int {
	var pe *rollout.PrepareError
	if errors.As(err, &pe) {
		switch pe.Kind {
		case rollout.PrepareNotFound:
			return http.StatusNotFound
		case rollout.PrepareModel:
			return http.StatusBadGateway
		}
	}
	return http.StatusBadRequest
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

	correct string // the correctness component; "" for none

	mu        sync.Mutex
	n         int
	rewardSum float64
	rewarded  int
	succeeded int // episodes whose correctness component scored 1
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
			if v, ok := t.Rewards.Rollout[s.correct]; ok && s.correct != "" && v >= 1 {
				s.succeeded++
			}
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

// successRate is the share of the lines written whose correctness
// component scored 1; nil without a correctness component or lines.
func (s *ndjsonSink) successRate() *float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.correct == "" || s.n == 0 {
		return nil
	}
	r := float64(s.succeeded) / float64(s.n)
	return &r
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
