package openenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
)

// DefaultInvalidActionPenalty is the step reward of an invalid action when
// Options.InvalidActionPenalty is nil.
const DefaultInvalidActionPenalty = -0.1

// Options configure the bridge. Nil or zero values mean defaults.
type Options struct {
	// URL is the server's base URL (http, https, ws or wss).
	URL string
	// Header and Token are sent with every request; Token as a bearer token.
	Header http.Header
	Token  string
	// Transport is TransportAuto (default), TransportWebSocket or TransportHTTP.
	Transport string
	// ActionField, when set, makes the model's text the value of this field
	// of the action ({FIELD: TEXT}); "none" means the model writes the whole
	// action object. Empty means: the action schema's only required
	// property when it is a string; with no required property, "raw" when
	// the schema has it (retrain serve), else its only string property;
	// otherwise the model writes the whole object.
	ActionField string
	// ObservationField names the observation's field shown to the model
	// (dotted for nested fields); empty means the first non-empty string
	// among text, prompt, content and message, else the observation as
	// indented JSON. Observations that are retrain observations (retrain
	// serve) are taken whole, their conversation included.
	ObservationField string
	// AnswerTag is the tag whose last occurrence holds the model's answer;
	// "none" takes the whole output. Nil means "answer", or "none" for a
	// "raw" action field.
	AnswerTag *string
	// SystemPrompt is the system message of each episode. Empty means one
	// that shows the action schema when the model writes the action object,
	// else none.
	SystemPrompt string
	// Timeout, ConnectTimeout and MaxReconnects are as in ClientOptions.
	Timeout, ConnectTimeout time.Duration
	MaxReconnects           int
	// InvalidActionPenalty is the step reward of an invalid action: output
	// that does not map to an action matching the schema, or one the server
	// rejects as invalid. Nil means DefaultInvalidActionPenalty.
	InvalidActionPenalty *float64
	// ResetParams are added to every reset's parameters.
	ResetParams map[string]any
	// SendTask sends the task as the reset parameter "task"; nil means true.
	SendTask *bool
	// HTTPClient sends the requests; nil means one of the factory's own.
	HTTPClient *http.Client
}

// NewFactory returns a factory of environments bridged from the OpenEnv
// server at opts.URL. Its environments share one client and the action
// schema, fetched by the first Setup. It does no I/O.
func NewFactory(opts *Options) (env.Factory, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	c, err := NewClient(o.URL, &ClientOptions{
		Header: o.Header, Token: o.Token, Transport: o.Transport,
		Timeout: o.Timeout, ConnectTimeout: o.ConnectTimeout, MaxReconnects: o.MaxReconnects,
		HTTPClient: o.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	f := &factory{opts: o, client: c, penalty: DefaultInvalidActionPenalty}
	if o.InvalidActionPenalty != nil {
		f.penalty = *o.InvalidActionPenalty
	}
	return f, nil
}

// factory makes bridged environments sharing a client and the action
// mapping derived from the server's schema.
type factory struct {
	opts    Options
	client  *Client
	penalty float64

	mu     sync.Mutex
	mapper *actionMapper // set by the first successful Setup
	closed bool
}

func (f *factory) NewEnv() (retrain.Environment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, fmt.Errorf("openenv: NewEnv: %w", retrain.ErrClosed)
	}
	return &Env{f: f}, nil
}

func (f *factory) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.client.CloseIdleConnections()
	return nil
}

// actions returns the action mapping, fetching the schema on first use.
func (f *factory) actions(ctx context.Context) (*actionMapper, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mapper != nil {
		return f.mapper, nil
	}
	var schema json.RawMessage
	s, err := f.client.Schema(ctx)
	switch {
	case err == nil:
		schema = s.Action
	case isStatus(err, http.StatusNotFound):
		// A server without /schema: check that it is up at all.
		if herr := f.client.Health(ctx); herr != nil {
			return nil, fmt.Errorf("openenv: %s has no /schema and its /health failed: %w", f.client.URL(), herr)
		}
	default:
		return nil, fmt.Errorf("openenv: cannot reach %s: %w", f.client.URL(), err)
	}
	m, err := newActionMapper(schema, f.opts.ActionField, f.opts.AnswerTag)
	if err != nil {
		return nil, err
	}
	f.mapper = m
	return m, nil
}

func isStatus(err error, status int) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Status == status
}

// Env is one episode stream of an OpenEnv server: a session opened by the
// first Reset. It is not safe for concurrent use.
type Env struct {
	f       *factory
	mapper  *actionMapper
	sess    *Session
	conv    []retrain.Message
	reset   bool
	done    bool
	closed  bool
	unknown error // set when a step was interrupted and its outcome is unknown
}

var _ retrain.Environment = (*Env)(nil)

// Setup fetches the server's action schema (once per factory).
func (e *Env) Setup(ctx context.Context) error {
	if e.closed {
		return fmt.Errorf("openenv: Setup: %w", retrain.ErrClosed)
	}
	m, err := e.f.actions(ctx)
	if err != nil {
		return err
	}
	e.mapper = m
	return nil
}

// Reset opens a session on the first call and resets it with the task: the
// parameters are seed, episode_id (the task id), task (unless
// Options.SendTask is false) and Options.ResetParams.
func (e *Env) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed {
		return retrain.Observation{}, nil, fmt.Errorf("openenv: Reset: %w", retrain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("openenv: Reset: %w", err)
	}
	if e.mapper == nil {
		if err := e.Setup(ctx); err != nil {
			return retrain.Observation{}, nil, err
		}
	}
	if e.sess == nil {
		s, err := e.f.client.Connect(ctx)
		if err != nil {
			return retrain.Observation{}, nil, err
		}
		e.sess = s
	}
	params := map[string]any{}
	for k, v := range e.f.opts.ResetParams {
		params[k] = v
	}
	if opts.Seed != nil {
		params["seed"] = *opts.Seed
	}
	if opts.Task.ID != "" {
		params["episode_id"] = opts.Task.ID
	}
	if e.f.opts.SendTask == nil || *e.f.opts.SendTask {
		if t := opts.Task; t.ID != "" || t.Prompt != "" || t.Answer != "" || len(t.Metadata) > 0 {
			params["task"] = t
		}
	}
	res, err := e.sess.Reset(ctx, params)
	if err != nil {
		e.dropAfter(err)
		e.reset = false
		return retrain.Observation{}, nil, err
	}
	e.unknown = nil
	obs, conv := e.observe(res, true, nil)
	e.conv, e.reset, e.done = conv, true, res.Done
	info := retrain.Info{}
	for k, v := range res.Metadata {
		info[k] = v
	}
	if e.sess.ID() != "" {
		info["session_id"] = e.sess.ID()
	}
	return obs, info, nil
}

// dropAfter forgets a session whose connection is gone for good, so that
// the next Reset opens a new one.
func (e *Env) dropAfter(err error) {
	if errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrCapacity) || errors.Is(err, ErrSessionNotFound) {
		e.sess.Close()
		e.sess = nil
	}
}

// Step maps the model's action to the server's action object and sends it.
// An action that does not map, or that the server rejects as invalid
// (VALIDATION_ERROR, HTTP 422), is answered with corrective feedback and
// the invalid-action penalty without ending the episode.
func (e *Env) Step(ctx context.Context, a retrain.Action) (retrain.Step, error) {
	if err := env.CheckStep(ctx, "openenv", e.closed, e.reset, e.done); err != nil {
		return retrain.Step{}, err
	}
	if e.unknown != nil {
		return retrain.Step{}, e.unknown
	}
	action, problem := e.mapper.mapAction(a)
	if problem != "" {
		return e.invalid(a, problem), nil
	}
	res, err := e.sess.Step(ctx, action)
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) && (se.Code == "VALIDATION_ERROR" || se.Status == http.StatusUnprocessableEntity) {
			return e.invalid(a, "the environment rejected the action: "+se.Message), nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrConnectionLost) {
			e.unknown = fmt.Errorf("openenv: a step was interrupted (%v) and its outcome is unknown; Reset to start a new episode", err)
			if e.sess.ID() == "" { // a session that cannot be resumed is gone with its connection
				e.sess.Close()
				e.sess = nil
				return retrain.Step{}, err
			}
		}
		e.dropAfter(err)
		return retrain.Step{}, err
	}
	obs, conv := e.observe(res, false, &a)
	e.conv = conv
	done := res.Done
	st := retrain.Step{Observation: obs, Info: retrain.Info{}}
	if res.Reward != nil {
		st.Reward = *res.Reward
	}
	switch {
	case res.Terminated != nil || res.Truncated != nil:
		st.Terminated = res.Terminated != nil && *res.Terminated
		st.Truncated = res.Truncated != nil && *res.Truncated
		if done && !st.Terminated && !st.Truncated {
			st.Terminated = true
		}
	default:
		st.Terminated = done
	}
	e.done = st.Done()
	for k, v := range res.Metadata {
		st.Info[k] = v
	}
	st.Info["action"] = action
	return st, nil
}

// invalid answers an action that could not be sent.
func (e *Env) invalid(a retrain.Action, problem string) retrain.Step {
	feedback := problem + "\n\n" + e.mapper.instructions()
	conv := slices.Clip(e.conv)
	conv = append(conv,
		retrain.Message{Role: retrain.RoleAssistant, Content: rawOf(a)},
		retrain.Message{Role: retrain.RoleUser, Content: feedback})
	e.conv = conv
	return retrain.Step{
		Observation: retrain.Observation{
			Kind:           retrain.ObsEnvironmentState,
			Content:        feedback,
			Messages:       slices.Clone(conv),
			RequiresAction: true,
		},
		Reward: e.f.penalty,
		Info:   retrain.Info{"invalid_action": problem},
	}
}

// Render shows the conversation so far.
func (e *Env) Render() (string, error) {
	if !e.reset {
		return "", fmt.Errorf("openenv: Render: %w", retrain.ErrNotReset)
	}
	return env.RenderMessages(e.conv), nil
}

// Close ends the session on the server. It is safe to call more than once.
func (e *Env) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if e.sess != nil {
		err := e.sess.Close()
		e.sess = nil
		return err
	}
	return nil
}
