package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// reply is the answer to one session request, encoded as a WebSocket frame
// or an HTTP reply.
type reply struct {
	typ    string // wire.TypeObservation, wire.TypeState or wire.TypeError
	result *wire.Result
	state  map[string]any
	err    *wire.ErrorData
	status int // the HTTP status of an error
}

func errorReply(status int, code, format string, args ...any) *reply {
	return &reply{typ: wire.TypeError, status: status, err: &wire.ErrorData{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// frame encodes r as a WebSocket frame answering requestID.
func (r *reply) frame(requestID, sessionID string) ([]byte, error) {
	var data any
	switch r.typ {
	case wire.TypeObservation:
		data = r.result
	case wire.TypeState:
		data = r.state
	default:
		data = r.err
	}
	d, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire.Frame{Type: r.typ, Data: d, RequestID: requestID, SessionID: sessionID})
}

// write sends r as an HTTP reply answering requestID.
func (r *reply) write(w http.ResponseWriter, requestID, sessionID string) {
	w.Header().Set(wire.HeaderRequestID, requestID)
	if sessionID != "" {
		w.Header().Set(wire.HeaderSessionID, sessionID)
	}
	switch r.typ {
	case wire.TypeObservation:
		res := *r.result
		res.RequestID, res.SessionID = requestID, sessionID
		writeJSON(w, http.StatusOK, res)
	case wire.TypeState:
		writeJSON(w, http.StatusOK, r.state)
	default:
		writeJSON(w, r.status, wire.HTTPError{Detail: r.err.Message, Code: r.err.Code, RequestID: requestID, SessionID: sessionID})
	}
}

// request is one operation on a session.
type request struct {
	typ       string          // reset, step or state
	data      json.RawMessage // reset options or the action
	requestID string          // the client's id, or "" (then no replay)
	timeout   float64         // seconds; 0 means the server's
}

// do runs req on sess. A reset or step whose client request id equals the
// last one's is not run again: the last reply is returned (a client that
// lost its connection mid-request sends it again after resuming).
func (s *Server) do(ctx context.Context, sess *session, req request) *reply {
	sess.busy.Add(1)
	defer sess.busy.Add(-1)
	sess.touch()
	defer sess.touch()
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.closed {
		s.metrics.errorf(wire.CodeSessionNotFound)
		return errorReply(http.StatusNotFound, wire.CodeSessionNotFound, "session %s has expired or was closed; start a new one", sess.id)
	}
	if req.typ == wire.TypeState {
		return &reply{typ: wire.TypeState, state: sess.stateLocked()}
	}
	if req.requestID != "" && req.requestID == sess.lastReqID && sess.lastReply != nil {
		s.metrics.replays.Add(1)
		return sess.lastReply
	}
	if err := s.checkTimeout(req.timeout); err != nil {
		s.metrics.errorf(wire.CodeValidationError)
		return rangeReply(err)
	}
	timeout := s.opts.StepTimeout
	if req.timeout > 0 {
		timeout = min(timeout, time.Duration(req.timeout*float64(time.Second)))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var r *reply
	switch req.typ {
	case wire.TypeReset:
		r = s.reset(ctx, sess, req.data)
	case wire.TypeStep:
		r = s.step(ctx, sess, req.data)
	default:
		s.metrics.errorf(wire.CodeUnknownType)
		return errorReply(http.StatusBadRequest, wire.CodeUnknownType, "unknown message type %q; use reset, step, state or close", req.typ)
	}
	if r.typ == wire.TypeError {
		s.metrics.errorf(r.err.Code)
	}
	if req.requestID != "" {
		sess.lastReqID, sess.lastReply = req.requestID, r
	}
	return r
}

// resetData is the data of a reset: OpenEnv's seed and episode_id, and the
// task, given whole or as prompt and answer. Other keys are ignored, as
// OpenEnv ignores the keyword arguments an environment does not take.
type resetData struct {
	Seed      *int64        `json:"seed"`
	EpisodeID string        `json:"episode_id"`
	Task      *retrain.Task `json:"task"`
	Prompt    *string       `json:"prompt"`
	Answer    string        `json:"answer"`
	TaskID    string        `json:"task_id"`
}

func (s *Server) reset(ctx context.Context, sess *session, data json.RawMessage) *reply {
	var d resetData
	if t := bytes.TrimSpace(data); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(t, &d); err != nil {
			return errorReply(http.StatusUnprocessableEntity, wire.CodeValidationError,
				"invalid reset data: %v; send an object like {\"seed\": 1, \"task\": {\"prompt\": \"2+2?\", \"answer\": \"4\"}}", err)
		}
	}
	opts := retrain.ResetOptions{Seed: d.Seed}
	switch {
	case d.Task != nil:
		opts.Task = *d.Task
	case d.Prompt != nil:
		opts.Task = retrain.Task{ID: d.TaskID, Prompt: *d.Prompt, Answer: d.Answer}
	}
	if sess.env == nil { // released when the last episode was truncated
		e, err := openEnv(ctx, sess.factory, sess.envName)
		if err != nil {
			return envError(ctx, "reset", err)
		}
		sess.env = e
		if de, ok := e.(env.DialectEnv); ok {
			sess.dialect = de.Dialect()
		}
	}
	obs, info, err := sess.env.Reset(ctx, opts)
	s.metrics.resets.Add(1)
	if err != nil {
		return envError(ctx, "reset", err)
	}
	sess.episodeID = d.EpisodeID
	if sess.episodeID == "" {
		sess.episodeID = newID()[:16]
	}
	sess.steps, sess.resetDone, sess.done, sess.reward = 0, true, false, 0
	o, err := json.Marshal(obs)
	if err != nil {
		return errorReply(http.StatusInternalServerError, wire.CodeExecutionError, "encode observation: %v", err)
	}
	if int64(len(o)) > s.opts.MaxSessionBytes {
		return s.truncate(sess, len(o), retrain.Step{Info: info})
	}
	f := false
	return &reply{typ: wire.TypeObservation, result: &wire.Result{
		Observation: o,
		Done:        false,
		Metadata:    withEpisode(info, sess.episodeID),
		Terminated:  &f,
		Truncated:   &f,
	}}
}

func (s *Server) step(ctx context.Context, sess *session, data json.RawMessage) *reply {
	if n := int64(len(data)); n > s.opts.MaxActionBytes {
		return errorReply(http.StatusRequestEntityTooLarge, wire.CodeValidationError,
			"the action is %d bytes, over the server's limit of %d bytes per action (retrain serve --max-action-bytes)", n, s.opts.MaxActionBytes)
	}
	if sess.env == nil {
		return errorReply(http.StatusConflict, wire.CodeExecutionError,
			"step: the last episode was truncated at the server's conversation limit and its environment released: send a reset first")
	}
	action, msg := decodeAction(data, sess)
	if msg != "" {
		return errorReply(http.StatusUnprocessableEntity, wire.CodeValidationError, "%s", msg)
	}
	began := time.Now()
	st, err := sess.env.Step(ctx, action)
	s.metrics.observeStep(sess.envName, time.Since(began))
	if err != nil {
		return envError(ctx, "step", err)
	}
	sess.steps++
	sess.reward += st.Reward
	sess.done = st.Done()
	o, err := json.Marshal(st.Observation)
	if err != nil {
		return errorReply(http.StatusInternalServerError, wire.CodeExecutionError, "encode observation: %v", err)
	}
	if int64(len(o)) > s.opts.MaxSessionBytes {
		return s.truncate(sess, len(o), st)
	}
	reward, term, trunc := st.Reward, st.Terminated, st.Truncated
	return &reply{typ: wire.TypeObservation, result: &wire.Result{
		Observation: o,
		Reward:      &reward,
		Done:        st.Done(),
		Metadata:    withEpisode(st.Info, sess.episodeID),
		Terminated:  &term,
		Truncated:   &trunc,
	}}
}

// InfoTruncatedReason is the info key of a reply whose episode the server
// truncated, saying why (the conversation grew past
// Options.MaxSessionBytes).
const InfoTruncatedReason = "truncated_reason"

// truncate ends the episode of sess, whose last observation (size bytes,
// from the reset or the step st) is over the session's conversation limit:
// the reply says so, in place of the observation, and the environment is
// closed, releasing the conversation; the next reset opens a new one.
func (s *Server) truncate(sess *session, size int, st retrain.Step) *reply {
	reason := fmt.Sprintf("the conversation reached %d bytes, over the server's limit of %d bytes per session (retrain serve --max-session-bytes): the episode is truncated and its environment released; send a reset to start a new one",
		size, s.opts.MaxSessionBytes)
	s.metrics.errorf("SESSION_TRUNCATED")
	if err := sess.env.Close(); err != nil {
		s.log.Warn("close truncated session's environment", "session", sess.id, "err", err)
	}
	sess.env, sess.resetDone, sess.done = nil, false, true
	o, _ := json.Marshal(retrain.Observation{Kind: retrain.ObsEnvironmentState, Content: reason})
	info := withEpisode(st.Info, sess.episodeID)
	info[InfoTruncatedReason] = reason
	reward, term, trunc := st.Reward, st.Terminated, true
	return &reply{typ: wire.TypeObservation, result: &wire.Result{
		Observation: o,
		Reward:      &reward,
		Done:        true,
		Metadata:    info,
		Terminated:  &term,
		Truncated:   &trunc,
	}}
}

// withEpisode returns info with the episode id added (a copy).
func withEpisode(info retrain.Info, episodeID string) map[string]any {
	m := make(map[string]any, len(info)+1)
	for k, v := range info {
		m[k] = v
	}
	if _, ok := m["episode_id"]; !ok {
		m["episode_id"] = episodeID
	}
	return m
}

// envError turns an environment's Go error into an error reply.
func envError(ctx context.Context, op string, err error) *reply {
	switch {
	case errors.Is(err, retrain.ErrNotReset):
		return errorReply(http.StatusConflict, wire.CodeExecutionError, "%s: %v: send a reset first", op, err)
	case errors.Is(err, retrain.ErrEpisodeDone):
		return errorReply(http.StatusConflict, wire.CodeExecutionError, "%s: %v", op, err)
	case errors.Is(err, retrain.ErrClosed):
		return errorReply(http.StatusGone, wire.CodeSessionError, "%s: %v", op, err)
	case ctx.Err() == context.DeadlineExceeded:
		return errorReply(http.StatusGatewayTimeout, wire.CodeExecutionError, "%s timed out: %v", op, err)
	}
	return errorReply(http.StatusInternalServerError, wire.CodeExecutionError, "%s: %v", op, err)
}

// stateLocked is the session's state (OpenEnv's State: episode_id and
// step_count, and more). sess.mu must be held.
func (sess *session) stateLocked() map[string]any {
	st := map[string]any{
		"episode_id":   nilIfEmpty(sess.episodeID),
		"step_count":   sess.steps,
		"session_id":   sess.id,
		"env":          sess.envName,
		"done":         sess.done,
		"total_reward": sess.reward,
	}
	if r, ok := sess.env.(retrain.Renderer); ok && sess.resetDone {
		if text, err := r.Render(); err == nil {
			st["render"] = text
		}
	}
	return st
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// actionData is a step's action: retrain's Action, or a raw model output
// ({"raw": "..."}) that the environment's dialect parses. metadata is
// OpenEnv's Action field, accepted and ignored.
type actionData struct {
	Kind      retrain.ActionKind `json:"kind"`
	Text      string             `json:"text"`
	ToolCalls []retrain.ToolCall `json:"tool_calls"`
	Reasoning string             `json:"reasoning"`
	Raw       *string            `json:"raw"`
	Tokens    *retrain.Tokens    `json:"tokens"`
	Metadata  map[string]any     `json:"metadata"`
}

const actionForms = `an action is {"raw": "MODEL OUTPUT"} (parsed with the environment's dialect), ` +
	`{"kind": "text", "text": "..."} or {"kind": "tool_call", "tool_calls": [{"name": "...", "arguments": {...}}]}`

// decodeAction turns a step's data into an Action, or returns what is wrong
// with it.
func decodeAction(data json.RawMessage, sess *session) (retrain.Action, string) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' {
		return retrain.Action{}, "the action must be a JSON object; " + actionForms
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	var d actionData
	if err := dec.Decode(&d); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "unknown field"); i >= 0 {
			msg = msg[i:]
		}
		return retrain.Action{}, "invalid action: " + msg + "; " + actionForms
	}
	if d.Raw != nil && d.Kind == "" {
		var a retrain.Action
		if sess.dialect != nil {
			a = sess.dialect.Parse(*d.Raw, nil)
		} else {
			a = retrain.Action{Kind: retrain.ActionText, Text: *d.Raw, Raw: *d.Raw}
		}
		a.Tokens = d.Tokens
		return a, ""
	}
	a := retrain.Action{Kind: d.Kind, Text: d.Text, ToolCalls: d.ToolCalls, Reasoning: d.Reasoning, Tokens: d.Tokens}
	if d.Raw != nil {
		a.Raw = *d.Raw
	}
	switch d.Kind {
	case retrain.ActionText:
		if d.Raw == nil {
			a.Raw = d.Text
		}
	case retrain.ActionToolCall:
		if len(d.ToolCalls) == 0 {
			return retrain.Action{}, `invalid action: kind "tool_call" needs a non-empty "tool_calls" list`
		}
		for i := range a.ToolCalls {
			c := &a.ToolCalls[i]
			if c.Name == "" {
				return retrain.Action{}, fmt.Sprintf("invalid action: tool_calls[%d] has no name", i)
			}
			if c.ID == "" {
				c.ID = fmt.Sprintf("call_%d", i)
			}
			if len(bytes.TrimSpace(c.Arguments)) == 0 || string(bytes.TrimSpace(c.Arguments)) == "null" {
				c.Arguments = json.RawMessage(`{}`)
			} else if bytes.TrimSpace(c.Arguments)[0] != '{' {
				return retrain.Action{}, fmt.Sprintf("invalid action: tool_calls[%d].arguments must be a JSON object", i)
			}
		}
	case "":
		return retrain.Action{}, "invalid action: neither \"raw\" nor \"kind\" is set; " + actionForms
	default:
		return retrain.Action{}, fmt.Sprintf("invalid action: unknown kind %q; use \"text\" or \"tool_call\"", d.Kind)
	}
	return a, ""
}
