package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
	"github.com/retrain-rl/retrain/rollout"
)

// Every number a client sends is checked here, against one table per
// request kind, and an out-of-range value is answered 400 with the allowed
// range: a number that drives work (turns, samples, tokens, time) has an
// upper bound as well as a lower one.

// rangeError is a number a client sent outside its allowed range.
type rangeError struct {
	key     string // the request's key, dotted for nested keys
	value   string // the value as sent (formatted)
	allowed string // the allowed range, e.g. "[0, 300]"
	hint    string // how to change it, or ""
}

func (e *rangeError) Error() string {
	msg := fmt.Sprintf("%s is %s; the allowed range is %s", e.key, e.value, e.allowed)
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	return msg
}

// intRange is the allowed closed range [min, max] of an integer key.
type intRange struct {
	key      string
	v        int64
	min, max int64
	hint     string
}

// floatRange is the allowed range of a float key: [min, max], or (min, max]
// when openMin; NaN and infinities are never allowed.
type floatRange struct {
	key      string
	v        float64
	min, max float64
	openMin  bool
	hint     string
}

// checkRanges returns the first number outside its range, as a
// *rangeError, or nil.
func checkRanges(ints []intRange, floats []floatRange) error {
	for _, c := range ints {
		if c.v < c.min || c.v > c.max {
			return &rangeError{key: c.key, value: strconv.FormatInt(c.v, 10), allowed: fmt.Sprintf("[%d, %d]", c.min, c.max), hint: c.hint}
		}
	}
	for _, c := range floats {
		below := c.v < c.min || (c.openMin && c.v == c.min)
		if math.IsNaN(c.v) || math.IsInf(c.v, 0) || below || c.v > c.max {
			open := "["
			if c.openMin {
				open = "("
			}
			return &rangeError{key: c.key, value: strconv.FormatFloat(c.v, 'g', -1, 64),
				allowed: fmt.Sprintf("%s%g, %g]", open, c.min, c.max), hint: c.hint}
		}
	}
	return nil
}

// minTimeout is the shortest timeout_s a client may ask for: a shorter one
// could not even reach the environment.
const minTimeout = time.Millisecond

// checkTimeout checks a request's timeout_s (seconds; 0 means the server's
// step timeout): from 1 ms up to the server's step timeout.
func (s *Server) checkTimeout(seconds float64) error {
	if seconds == 0 {
		return nil
	}
	return checkRanges(nil, []floatRange{{key: "timeout_s", v: seconds, min: minTimeout.Seconds(), max: s.opts.StepTimeout.Seconds(),
		hint: "0 or absent means the server's step timeout, the longest allowed (retrain serve --step-timeout)"}})
}

// timeoutDecodeError turns the error of decoding a request whose timeout_s
// is not a float64 (1e400 overflows) into the range error, or returns nil
// when err is about something else.
func (s *Server) timeoutDecodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "timeout_s" {
		return &rangeError{key: "timeout_s", value: te.Value, allowed: fmt.Sprintf("[%g, %g]", minTimeout.Seconds(), s.opts.StepTimeout.Seconds()),
			hint: "seconds, a number; 0 or absent means the server's step timeout"}
	}
	return nil
}

// Upper bounds of the numbers of a /v1/rollouts job, besides the episodes
// (Options.MaxEpisodesPerRequest) and the concurrency
// (MaxRolloutConcurrency).
const (
	// MaxRolloutTurns bounds a job's max_turns.
	MaxRolloutTurns = 1024
	// MaxRolloutTokens bounds a job's sampling.max_tokens.
	MaxRolloutTokens = 1 << 20
	// MaxRolloutEpisodeTokens bounds a job's max_episode_tokens.
	MaxRolloutEpisodeTokens = 1 << 24
	// MaxRolloutRetries bounds a job's retries.
	MaxRolloutRetries = 10
	// MaxRolloutTimeout bounds a job's timeout (of one episode).
	MaxRolloutTimeout = 24 * time.Hour
	// MaxTemperature bounds a job's sampling.temperature, as OpenAI does.
	MaxTemperature = 2
)

// checkJob checks the numbers of a /v1/rollouts job against the server's
// bounds (rollout.Job.Validate checks the rest), and that its episodes,
// tasks × n, are within Options.MaxEpisodesPerRequest when the tasks are
// known before the job is prepared (inline or generated; a dataset's are
// checked once loaded, with checkEpisodes).
func (s *Server) checkJob(j *rollout.Job) error {
	ints := s.jobInts(j)
	var floats []floatRange
	if t := j.Sampling.Temperature; t != nil {
		floats = append(floats, floatRange{key: "sampling.temperature", v: *t, min: 0, max: MaxTemperature})
	}
	if p := j.Sampling.TopP; p != nil {
		floats = append(floats, floatRange{key: "sampling.top_p", v: *p, min: 0, max: 1, openMin: true})
	}
	if err := checkRanges(ints, floats); err != nil {
		return err
	}
	tasks := len(j.Tasks)
	if j.Generate > 0 {
		tasks = j.Generate
	}
	if j.Dataset != "" {
		return nil
	}
	return s.checkEpisodes(tasks, j.Limit, j.N)
}

// jobDecodeError turns the error of decoding a job whose integer does not
// fit (1e30, 1.5) into the range error of its key, or returns nil when err
// is about something else.
func (s *Server) jobDecodeError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || !strings.HasPrefix(te.Value, "number") {
		return nil
	}
	for _, c := range s.jobInts(&rollout.Job{}) {
		if c.key == te.Field {
			return &rangeError{key: c.key, value: te.Value, allowed: fmt.Sprintf("integers in [%d, %d]", c.min, c.max), hint: c.hint}
		}
	}
	return nil
}

// jobInts are the integers of a job with their allowed ranges.
func (s *Server) jobInts(j *rollout.Job) []intRange {
	maxEp := int64(s.opts.MaxEpisodesPerRequest)
	return []intRange{
		{key: "n", v: int64(j.N), min: 0, max: maxEp, hint: "samples per task; tasks × n may not exceed the server's --max-episodes-per-request"},
		{key: "generate", v: int64(j.Generate), min: 0, max: maxEp, hint: "the server's --max-episodes-per-request"},
		{key: "limit", v: int64(j.Limit), min: 0, max: math.MaxInt32},
		{key: "concurrency", v: int64(j.Concurrency), min: 0, max: MaxRolloutConcurrency},
		{key: "max_turns", v: int64(j.MaxTurns), min: 0, max: MaxRolloutTurns},
		{key: "max_episode_tokens", v: int64(j.MaxEpisodeTokens), min: 0, max: MaxRolloutEpisodeTokens},
		{key: "retries", v: int64(j.Retries), min: 0, max: MaxRolloutRetries},
		{key: "sampling.max_tokens", v: int64(j.Sampling.MaxTokens), min: 0, max: MaxRolloutTokens},
		{key: "timeout", v: int64(time.Duration(j.Timeout) / time.Second), min: 0, max: int64(MaxRolloutTimeout / time.Second), hint: "seconds"},
	}
}

// checkEpisodes checks that tasks (cut to limit when positive) × n (0
// means 1) is within Options.MaxEpisodesPerRequest, without overflow.
func (s *Server) checkEpisodes(tasks, limit, n int) error {
	if limit > 0 && tasks > limit {
		tasks = limit
	}
	n = max(n, 1)
	maxEp := s.opts.MaxEpisodesPerRequest
	if tasks > 0 && n > maxEp/tasks {
		return &rangeError{key: "tasks × n", value: fmt.Sprintf("%d × %d", tasks, n), allowed: fmt.Sprintf("[1, %d] episodes", maxEp),
			hint: "split the job into several requests, or start retrain serve with a larger --max-episodes-per-request"}
	}
	return nil
}

// rangeReply is the error reply of a session request's out-of-range number.
func rangeReply(err error) *reply {
	return errorReply(http.StatusBadRequest, wire.CodeValidationError, "%v", err)
}
