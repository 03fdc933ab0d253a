package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
)

// DefaultMaxTurns is the turn limit when [Options.MaxTurns] is zero.
const DefaultMaxTurns = 16

// Options configure one episode. The zero value works: an unseeded episode
// on an empty task, up to [DefaultMaxTurns] turns, no token budget, no deadline.
type Options struct {
	// Task is what the episode is about; it is passed to Reset.
	Task retrain.Task
	// Sample is this episode's index within its task's group.
	Sample int
	// Seed is passed to Reset; nil means unseeded.
	Seed *int64
	// Sampling holds the sampling settings sent with every model request.
	Sampling model.Sampling
	// Dialect parses completions into actions. Nil means the environment's
	// own (when it has a Dialect() method, like env.DialectEnv), else plain
	// text: each completion becomes a text action (or a tool_call action when
	// the model returned native tool calls).
	Dialect dialect.Dialect
	// MaxTurns limits the assistant turns; zero means the environment's
	// own step limit when it declares one ([env.StepLimiter]), else
	// [DefaultMaxTurns].
	MaxTurns int
	// MaxTokens is the episode's budget of completion tokens over all turns;
	// zero means none. Each request's max_tokens is capped to what is left.
	MaxTokens int
	// Timeout bounds the whole episode; zero means only ctx's deadline.
	Timeout time.Duration
	// EnvName and ModelName are recorded in the trajectory.
	EnvName, ModelName string
	// PolicyVersion and LogprobsMode are recorded on every turn (see
	// retrain.Turn); empty means unknown, and the field is left out.
	PolicyVersion, LogprobsMode string
}

// Roller is an optional ability of an Environment: running a whole episode
// itself (the seed lets an environment override rollout). [Run] calls it
// with its defaults applied and the deadline set, then fills in the
// trajectory's identity fields (ID, Task, Sample, Env, Model, Seed,
// Dialect) where the environment left them empty.
type Roller interface {
	Rollout(ctx context.Context, m model.Model, opts *Options) (*retrain.Trajectory, error)
}

// dialectEnv is the optional ability of an environment to name its dialect
// (env.DialectEnv has this method).
type dialectEnv interface {
	Dialect() dialect.Dialect
}

// EpisodeError is the error Run returns for a failed episode: the cause
// and the underlying error.
type EpisodeError struct {
	Cause retrain.ErrorCause
	Err   error
}

func (e *EpisodeError) Error() string { return "rollout: " + string(e.Cause) + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *EpisodeError) Unwrap() error { return e.Err }

// Run plays one episode of e with m (the seed's Environment.rollout): Reset
// with the task, then generate, parse, Step, until the environment
// terminates or truncates the episode or a limit is reached. e must have been
// Setup; Run does not Close it.
//
// Run always returns a trajectory. When the episode fails (the model or the
// environment returned an error, the deadline passed, ctx was canceled, or
// something panicked), the trajectory records the error, its cause and the
// turns finished so far, and the error, an *[EpisodeError], is returned too.
//
// Each turn's prompt token ids are compared with the previous turn's prompt
// and completion ids: when the chat template re-renders history differently
// from what was generated, the turn's PrefixMatch is false and the
// trajectory's TemplateDrift is set. When they match, the earlier turn's
// prompt and completion ids are kept as views of the later prompt's (the
// same values, held once), so the token id slices of a trajectory may share
// memory: treat them as read-only.
func Run(ctx context.Context, e retrain.Environment, m model.Model, opts *Options) (t *retrain.Trajectory, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxTurns <= 0 {
		o.MaxTurns = DefaultMaxTurns
		if sl, ok := e.(env.StepLimiter); ok && sl.StepLimit() > 0 {
			o.MaxTurns = sl.StepLimit()
		}
	}
	if o.Dialect == nil {
		if de, ok := e.(dialectEnv); ok {
			o.Dialect = de.Dialect()
		}
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	start := time.Now()
	if r, ok := e.(Roller); ok {
		t, err = r.Rollout(ctx, m, &o)
		if t == nil {
			t = newTrajectory(&o)
		}
		fillIdentity(t, &o)
		finish(t, t.Messages)
		if t.Timings.Total == 0 {
			t.Timings.Total = time.Since(start).Seconds()
		}
		if err != nil {
			var ee *EpisodeError
			if !errors.As(err, &ee) {
				ee = &EpisodeError{Cause: classify(ctx, retrain.CauseEnvironment), Err: err}
				err = ee
			}
			if t.Error == "" {
				recordFailure(t, ee)
			}
		}
		return t, err
	}

	ep := &episode{o: &o, e: e, m: m, t: newTrajectory(&o)}
	defer func() {
		ep.t.Timings.Total = time.Since(start).Seconds()
		if p := recover(); p != nil {
			ee := &EpisodeError{Cause: retrain.CausePanic, Err: fmt.Errorf("panic: %v", p)}
			recordFailure(ep.t, ee)
			ep.t.Error = fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
			finish(ep.t, ep.conv)
			t, err = ep.t, ee
		}
	}()
	runErr := ep.run(ctx)
	finish(ep.t, ep.conv)
	if runErr != nil {
		recordFailure(ep.t, runErr)
		return ep.t, runErr
	}
	return ep.t, nil
}

// finish sets t's conversation, and empty lists where there are none, so
// that the JSON has arrays rather than nulls.
func finish(t *retrain.Trajectory, conv []retrain.Message) {
	t.Messages = conv
	if t.Messages == nil {
		t.Messages = []retrain.Message{}
	}
	if t.Turns == nil {
		t.Turns = []retrain.Turn{}
	}
}

// newTrajectory returns a trajectory with o's identity fields.
func newTrajectory(o *Options) *retrain.Trajectory {
	t := &retrain.Trajectory{}
	fillIdentity(t, o)
	t.Sampling = samplingMap(o.Sampling)
	return t
}

// fillIdentity sets t's identity fields from o where they are empty: the
// dialect is the one that parses the model's output (o.Dialect, which Run
// has set to the environment's own when o did not name one).
func fillIdentity(t *retrain.Trajectory, o *Options) {
	if t.ID == "" {
		t.ID = EpisodeID(o.Task.ID, o.Sample)
	}
	if t.Task.ID == "" && t.Task.Prompt == "" {
		t.Task = o.Task
	}
	if t.Sample == 0 {
		t.Sample = o.Sample
	}
	if t.Env == "" {
		t.Env = o.EnvName
	}
	if t.Model == "" {
		t.Model = o.ModelName
	}
	if t.Seed == nil {
		t.Seed = o.Seed
	}
	if t.Dialect == "" && o.Dialect != nil {
		t.Dialect = o.Dialect.Name()
	}
}

// EpisodeID is the trajectory ID of sample of task: "<task id>#<sample>".
func EpisodeID(taskID string, sample int) string { return fmt.Sprintf("%s#%d", taskID, sample) }

// recordFailure marks t failed with ee.
func recordFailure(t *retrain.Trajectory, ee *EpisodeError) {
	t.Error = ee.Err.Error()
	t.ErrorCause = ee.Cause
	if ee.Cause == retrain.CauseTimeout {
		t.StopReason = retrain.StopDeadline
	} else {
		t.StopReason = retrain.StopError
	}
}

// classify names the cause of a failure: the context's state decides
// timeout and canceled; otherwise it is fallback.
func classify(ctx context.Context, fallback retrain.ErrorCause) retrain.ErrorCause {
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return retrain.CauseTimeout
	case context.Canceled:
		return retrain.CauseCanceled
	}
	return fallback
}

// episode is the state of one Run.
type episode struct {
	o    *Options
	e    retrain.Environment
	m    model.Model
	t    *retrain.Trajectory
	conv []retrain.Message
}

func (ep *episode) fail(ctx context.Context, cause retrain.ErrorCause, format string, args ...any) *EpisodeError {
	return &EpisodeError{Cause: classify(ctx, cause), Err: fmt.Errorf(format, args...)}
}

func (ep *episode) run(ctx context.Context) *EpisodeError {
	o, t := ep.o, ep.t
	if err := ctx.Err(); err != nil {
		return ep.fail(ctx, retrain.CauseCanceled, "before reset: %w", err)
	}
	began := time.Now()
	obs, info, err := ep.e.Reset(ctx, retrain.ResetOptions{Seed: o.Seed, Task: o.Task})
	t.Timings.Env += time.Since(began).Seconds()
	if err != nil {
		return ep.fail(ctx, retrain.CauseEnvironment, "reset: %w", err)
	}
	t.ResetInfo = info
	t.InitialObservation = stripMessages(obs)
	if len(obs.Messages) > 0 {
		ep.conv = obs.Messages
	} else {
		if obs.Content == "" {
			return ep.fail(ctx, retrain.CauseEnvironment, "reset returned an observation with neither messages nor content: the environment must give the model something to answer")
		}
		if d := o.Dialect; d != nil {
			if sys := d.SystemPrompt(obs.Tools); sys != "" {
				ep.conv = append(ep.conv, retrain.Message{Role: retrain.RoleSystem, Content: sys})
			}
		}
		ep.conv = append(ep.conv, retrain.Message{Role: retrain.RoleUser, Content: obs.Content})
	}
	native := o.Dialect != nil && o.Dialect.Name() == "native"
	sampling := o.Sampling
	if sampling.Seed == nil {
		// Drawn once per episode and recorded on every turn, so that the
		// episode can be reproduced (see docs/design.md).
		seed := rand.Int64()
		sampling.Seed = &seed
	}
	for {
		if len(t.Turns) >= o.MaxTurns {
			t.StopReason = retrain.StopMaxTurns
			break
		}
		if o.MaxTokens > 0 && t.CompletionTokens >= o.MaxTokens {
			t.StopReason = retrain.StopMaxTokens
			break
		}
		if err := ctx.Err(); err != nil {
			return ep.fail(ctx, retrain.CauseCanceled, "after %d turns: %w", len(t.Turns), err)
		}
		req := model.Request{Messages: ep.conv, Sampling: sampling}
		if native {
			req.Tools = obs.Tools
		}
		if o.MaxTokens > 0 {
			if left := o.MaxTokens - t.CompletionTokens; req.Sampling.MaxTokens == 0 || req.Sampling.MaxTokens > left {
				req.Sampling.MaxTokens = left
			}
		}
		began := time.Now()
		c, err := ep.m.Generate(ctx, req)
		modelSecs := time.Since(began).Seconds()
		t.Timings.Model += modelSecs
		if err != nil {
			return ep.fail(ctx, retrain.CauseModel, "turn %d: generate: %w", len(t.Turns)+1, err)
		}
		turn := retrain.Turn{
			PromptMessages: len(ep.conv),
			Action:         ep.parse(c),
			PromptTokenIDs: c.PromptTokenIDs,
			FinishReason:   retrain.FinishReason(c.FinishReason),
			Sampling: &retrain.TurnSampling{Temperature: req.Sampling.Temperature, TopP: req.Sampling.TopP,
				MaxTokens: req.Sampling.MaxTokens, Seed: req.Sampling.Seed},
			PolicyVersion: o.PolicyVersion,
			LogprobsMode:  o.LogprobsMode,
			ModelSeconds:  modelSecs,
			InvalidUTF8:   invalidUTF8(c),
		}
		if n := len(t.Turns); n > 0 {
			prev := &t.Turns[n-1]
			turn.PrefixMatch = prefixMatch(prev.PromptTokenIDs, completionIDs(prev.Action.Tokens), c.PromptTokenIDs)
			if turn.PrefixMatch != nil && !*turn.PrefixMatch {
				t.TemplateDrift = true
			}
			if turn.PrefixMatch != nil && *turn.PrefixMatch {
				sharePrefixes(t.Turns, c.PromptTokenIDs)
			}
		}
		t.PromptTokens += orCount(c.Usage.PromptTokens, len(c.PromptTokenIDs))
		t.CompletionTokens += orCount(c.Usage.CompletionTokens, c.Tokens.Len())

		began = time.Now()
		step, err := ep.e.Step(ctx, turn.Action)
		turn.EnvSeconds = time.Since(began).Seconds()
		t.Timings.Env += turn.EnvSeconds
		if err != nil {
			t.Turns = append(t.Turns, turn)
			return ep.fail(ctx, retrain.CauseEnvironment, "turn %d: step: %w", len(t.Turns), err)
		}
		turn.Reward = step.Reward
		turn.Observation = stripMessages(step.Observation)
		if sameTools(turn.Observation.Tools, t.InitialObservation.Tools) {
			turn.Observation.Tools = nil // unchanged: kept once, in InitialObservation
		}
		turn.Terminated, turn.Truncated = step.Terminated, step.Truncated
		turn.Info = step.Info
		t.Timings.Tools += seconds(step.Info["tool_seconds"])
		t.StepReward += step.Reward
		t.Turns = append(t.Turns, turn)
		ep.advance(turn.Action, step.Observation)
		obs = step.Observation
		if step.Terminated {
			t.StopReason = retrain.StopTerminated
			break
		}
		if step.Truncated {
			t.StopReason = retrain.StopTruncated
			break
		}
	}
	return nil
}

// invalidUTF8 reports whether c's bytes are not valid UTF-8, so that its
// text, once written as JSON, is lossy (see retrain.Turn.InvalidUTF8): its
// text holds invalid bytes (an in-process model), or its tokens' exact
// bytes do (a server that reported them; its text then has U+FFFD).
func invalidUTF8(c model.Completion) bool {
	if !utf8.ValidString(c.Text) {
		return true
	}
	b, ok := c.Tokens.JoinedBytes()
	return ok && !utf8.Valid(b)
}

// parse turns a completion into an action with its tokens attached.
func (ep *episode) parse(c model.Completion) retrain.Action {
	var a retrain.Action
	switch {
	case ep.o.Dialect != nil:
		a = ep.o.Dialect.Parse(c.Text, c.ToolCalls)
	case len(c.ToolCalls) > 0:
		a = retrain.Action{Kind: retrain.ActionToolCall, Text: c.Text, ToolCalls: c.ToolCalls, Raw: c.Text}
	default:
		a = retrain.Action{Kind: retrain.ActionText, Text: c.Text, Raw: c.Text}
	}
	a.Tokens = c.Tokens
	return a
}

// advance moves the conversation past one step: the observation's own
// messages when it has them, else the assistant's message and the
// observation formatted by the dialect (or plainly) appended.
func (ep *episode) advance(a retrain.Action, obs retrain.Observation) {
	if len(obs.Messages) > 0 {
		ep.conv = obs.Messages
		return
	}
	d := ep.o.Dialect
	conv := slices.Clip(ep.conv) // never append into the environment's array
	if d != nil {
		conv = append(conv, d.AssistantMessage(a))
	} else {
		conv = append(conv, retrain.Message{Role: retrain.RoleAssistant, Content: a.Raw, ToolCalls: a.ToolCalls})
	}
	switch {
	case len(obs.ToolResults) > 0 && d != nil:
		conv = append(conv, d.ToolResults(obs.ToolResults)...)
	case len(obs.ToolResults) > 0:
		for _, r := range obs.ToolResults {
			content := r.Output
			if !r.Success {
				content = r.Error
			}
			conv = append(conv, retrain.Message{Role: retrain.RoleTool, Content: content, ToolCallID: r.CallID, Name: r.Name})
		}
	case obs.Content != "" && d != nil:
		conv = append(conv, d.Feedback(obs.Content))
	case obs.Content != "":
		conv = append(conv, retrain.Message{Role: retrain.RoleUser, Content: obs.Content})
	}
	ep.conv = conv
}

// stripMessages returns obs without its conversation (kept once, in
// Trajectory.Messages).
func stripMessages(obs retrain.Observation) retrain.Observation {
	obs.Messages = nil
	return obs
}

// sameTools reports whether a and b describe the same tools.
func sameTools(a, b []retrain.ToolSpec) bool {
	return slices.EqualFunc(a, b, func(x, y retrain.ToolSpec) bool {
		return x.Name == y.Name && x.Description == y.Description && bytes.Equal(x.Parameters, y.Parameters)
	})
}

// completionIDs returns the token ids of tokens, or nil when they are not
// known for every token.
func completionIDs(tok *retrain.Tokens) []int32 {
	if tok == nil || len(tok.IDs) == 0 || len(tok.IDs) != tok.Len() {
		return nil
	}
	return tok.IDs
}

// sharePrefixes points the prompt and completion ids of the earlier turns
// into prompt, the new turn's prompt ids, which start with the last turn's
// (prefixMatch said so): the same values, held once. It goes back as long as
// each turn's prompt extended the one before, so over an episode the prompt
// ids take memory linear in its length, not quadratic. The views are capped
// so that appending to one cannot write into another.
func sharePrefixes(turns []retrain.Turn, prompt []int32) {
	for j := len(turns) - 1; j >= 0; j-- {
		tu := &turns[j]
		n, k := len(tu.PromptTokenIDs), len(tu.Action.Tokens.IDs)
		tu.PromptTokenIDs = prompt[:n:n]
		tu.Action.Tokens.IDs = prompt[n : n+k : n+k]
		if pm := tu.PrefixMatch; pm == nil || !*pm {
			return // turn j's prompt did not extend turn j-1's
		}
	}
}

// prefixMatch reports whether prompt starts with prevPrompt followed by
// prevCompletion; nil when any of them is unknown.
func prefixMatch(prevPrompt, prevCompletion, prompt []int32) *bool {
	if len(prevPrompt) == 0 || len(prevCompletion) == 0 || len(prompt) == 0 {
		return nil
	}
	n := len(prevPrompt)
	ok := len(prompt) >= n+len(prevCompletion) &&
		slices.Equal(prompt[:n], prevPrompt) &&
		slices.Equal(prompt[n:n+len(prevCompletion)], prevCompletion)
	return &ok
}

// orCount returns a if it is positive, else b: a reported count, else one
// counted from the tokens.
func orCount(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

// seconds reads a duration reported in an info map: seconds as a number, or
// a time.Duration.
func seconds(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case time.Duration:
		return v.Seconds()
	case json.Number:
		f, _ := v.Float64()
		return f
	}
	return 0
}

// samplingMap records s as sent: the settings and Extra's fields, top level.
func samplingMap(s model.Sampling) map[string]any {
	m := make(map[string]any, len(s.Extra)+5)
	for k, v := range s.Extra {
		m[k] = v
	}
	if s.Temperature != nil {
		m["temperature"] = *s.Temperature
	}
	if s.TopP != nil {
		m["top_p"] = *s.TopP
	}
	if s.MaxTokens > 0 {
		m["max_tokens"] = s.MaxTokens
	}
	if len(s.Stop) > 0 {
		m["stop"] = s.Stop
	}
	if s.Seed != nil {
		m["seed"] = *s.Seed
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
