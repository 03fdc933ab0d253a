package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// readBody reads a request body of at most the server's message limit.
// An empty body reads as nil.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxMessageBytes))
	if err != nil {
		s.metrics.errorf(wire.CodeInvalidJSON)
		writeJSON(w, http.StatusRequestEntityTooLarge, wire.HTTPError{Detail: fmt.Sprintf("request body: %v (the limit is %d bytes)", err, s.opts.MaxMessageBytes)})
		return nil, false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, true
	}
	if !json.Valid(b) {
		s.metrics.errorf(wire.CodeInvalidJSON)
		writeJSON(w, http.StatusBadRequest, wire.HTTPError{Detail: "the request body is not valid JSON", Code: wire.CodeInvalidJSON})
		return nil, false
	}
	return b, true
}

// requestID returns the request's id: the X-Request-Id header, else the
// body's request_id, else a generated one; client reports whether the
// client gave it.
func (s *Server) requestID(r *http.Request, body string) (id string, client bool) {
	if id := r.Header.Get(wire.HeaderRequestID); id != "" {
		return id, true
	}
	if body != "" {
		return body, true
	}
	return s.metrics.nextRequestID(), false
}

// httpSession returns the session an HTTP request names (the X-Session-Id
// header or ?session_id=), else the environment's default HTTP session,
// made on first use: OpenEnv's HTTP clients send no session and expect
// /reset and /step to reach the same environment.
func (s *Server) httpSession(w http.ResponseWriter, r *http.Request, name string) (*session, bool) {
	id := r.Header.Get(wire.HeaderSessionID)
	if id == "" {
		id = r.URL.Query().Get(wire.QuerySessionID)
	}
	if id != "" {
		return s.lookupSession(w, id, name)
	}
	sess, err := s.httpDefault.get(name, s.sessions.get, func() (*session, error) {
		return s.newSession(r.Context(), name, nil)
	})
	if err != nil {
		rep, _ := sessionError(err, s.opts.MaxSessions, s.sessions.len())
		s.metrics.errorf(rep.err.Code)
		rep.write(w, "", "")
		return nil, false
	}
	return sess, true
}

// lookupSession finds session id of environment name, or writes 404.
func (s *Server) lookupSession(w http.ResponseWriter, id, name string) (*session, bool) {
	sess := s.sessions.get(id)
	if sess == nil || sess.envName != name {
		s.metrics.errorf(wire.CodeSessionNotFound)
		errorReply(http.StatusNotFound, wire.CodeSessionNotFound,
			"session %s of environment %s does not exist or has expired (idle sessions are closed after %s); create a new one with POST /sessions",
			id, name, s.opts.IdleTimeout).write(w, "", id)
		return nil, false
	}
	return sess, true
}

// sessionHandler serves a request in one session.
type sessionHandler func(w http.ResponseWriter, r *http.Request, sess *session)

// inHTTPSession serves h in the session an HTTP request names, else in the
// environment's default HTTP session (see httpSession): the root routes
// /reset, /step and /state.
func (s *Server) inHTTPSession(h sessionHandler) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, name string) {
		if sess, ok := s.httpSession(w, r, name); ok {
			h(w, r, sess)
		}
	}
}

// inPathSession serves h in the session of the path's {id}: the routes
// under /sessions/{id}.
func (s *Server) inPathSession(h sessionHandler) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, name string) {
		if sess, ok := s.lookupSession(w, r.PathValue("id"), name); ok {
			h(w, r, sess)
		}
	}
}

// httpReset serves OpenEnv's reset in sess (POST /reset and
// /sessions/{id}/reset; body: seed, episode_id, task ...).
func (s *Server) httpReset(w http.ResponseWriter, r *http.Request, sess *session) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var meta struct {
		RequestID string  `json:"request_id"`
		TimeoutS  float64 `json:"timeout_s"`
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		if rerr := s.timeoutDecodeError(err); rerr != nil {
			s.metrics.errorf(wire.CodeValidationError)
			rangeReply(rerr).write(w, meta.RequestID, sess.id)
			return
		}
	}
	id, client := s.requestID(r, meta.RequestID)
	req := request{typ: wire.TypeReset, data: body, timeout: meta.TimeoutS}
	if client {
		req.requestID = id
	}
	s.do(r.Context(), sess, req).write(w, id, sess.id)
}

// httpStep serves OpenEnv's step in sess (POST /step and
// /sessions/{id}/step; body: {"action": {...}, "timeout_s": ...,
// "request_id": ...}).
func (s *Server) httpStep(w http.ResponseWriter, r *http.Request, sess *session) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var sr wire.StepRequest
	if body != nil {
		if err := json.Unmarshal(body, &sr); err != nil {
			s.metrics.errorf(wire.CodeValidationError)
			if rerr := s.timeoutDecodeError(err); rerr != nil {
				rangeReply(rerr).write(w, sr.RequestID, sess.id)
				return
			}
			writeJSON(w, http.StatusUnprocessableEntity, wire.HTTPError{Detail: "the step body must be {\"action\": {...}}: " + err.Error(), Code: wire.CodeValidationError})
			return
		}
	}
	id, client := s.requestID(r, sr.RequestID)
	if sr.Action == nil {
		s.metrics.errorf(wire.CodeValidationError)
		errorReply(http.StatusUnprocessableEntity, wire.CodeValidationError, "the step body has no \"action\"; send {\"action\": {\"raw\": \"MODEL OUTPUT\"}}").write(w, id, sess.id)
		return
	}
	req := request{typ: wire.TypeStep, data: sr.Action, timeout: sr.TimeoutS}
	if client {
		req.requestID = id
	}
	s.do(r.Context(), sess, req).write(w, id, sess.id)
}

// httpState serves the state of sess (GET /state and
// /sessions/{id}/state).
func (s *Server) httpState(w http.ResponseWriter, r *http.Request, sess *session) {
	id, _ := s.requestID(r, "")
	s.do(r.Context(), sess, request{typ: wire.TypeState}).write(w, id, sess.id)
}

// handleCreateSession serves POST /sessions: body {"config": {...}}
// (optional) gives the session its own environment configuration.
func (s *Server) handleCreateSession(w http.ResponseWriter, r *http.Request, name string) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req struct {
		Config json.RawMessage `json:"config"`
	}
	if body != nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.metrics.errorf(wire.CodeValidationError)
			writeJSON(w, http.StatusUnprocessableEntity, wire.HTTPError{Detail: "the body must be {} or {\"config\": {...}}: " + err.Error(), Code: wire.CodeValidationError})
			return
		}
	}
	if rep := s.clientConfigReply(name, req.Config); rep != nil {
		s.metrics.errorf(rep.err.Code)
		rep.write(w, "", "")
		return
	}
	sess, err := s.newSession(r.Context(), name, req.Config)
	if err != nil {
		rep, _ := sessionError(err, s.opts.MaxSessions, s.sessions.len())
		if rep.err.Code == wire.CodeFactoryError && len(req.Config) > 0 {
			rep.status = http.StatusUnprocessableEntity
		}
		s.metrics.errorf(rep.err.Code)
		rep.write(w, "", "")
		return
	}
	w.Header().Set(wire.HeaderSessionID, sess.id)
	writeJSON(w, http.StatusCreated, map[string]string{"session_id": sess.id, "env": name})
}

// deleteSession ends sess (DELETE /sessions/{id}).
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, sess *session) {
	if conn := s.sessions.conn(sess); conn != nil {
		s.kickConn(conn, websocket.StatusNormalClosure, "session closed")
	}
	s.endSession(sess)
	w.WriteHeader(http.StatusNoContent)
}

// handleSchema serves GET /schema: the JSON Schemas of retrain's actions,
// observations and session state, the environment's config keys described
// from its config type, and its default rewards (those POST /v1/rollouts
// scores with when the request names none).
func (s *Server) handleSchema(w http.ResponseWriter, r *http.Request, name string) {
	schema := wire.Schema{Action: actionSchema, Observation: observationSchema(), State: stateSchema}
	for _, info := range s.reg.Describe() {
		if info.Name != name {
			continue
		}
		schema.Config = info.Keys
		if info.Rewards != nil {
			b, err := json.Marshal(info.Rewards)
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "marshal the default rewards: " + err.Error()})
				return
			}
			schema.Rewards = b
		}
	}
	writeJSON(w, http.StatusOK, schema)
}

// handleMetadata serves GET /metadata.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request, name string) {
	md := wire.Metadata{Name: name}
	for _, info := range s.reg.Describe() {
		if info.Name == name {
			md.Description = info.Description
		}
	}
	doc := "retrain serve: actions are {\"raw\": MODEL OUTPUT} or retrain Actions; see GET /schema"
	md.ReadmeContent = &doc
	writeJSON(w, http.StatusOK, md)
}

// handleHealth serves GET /health: OpenEnv's {"status": "healthy"}, with
// the session counts.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status":       "healthy",
		"sessions":     s.sessions.len(),
		"max_sessions": s.opts.MaxSessions,
	})
}

// handleEnvs serves GET /envs: the served environments.
func (s *Server) handleEnvs(w http.ResponseWriter, r *http.Request) {
	type envInfo struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Default     bool   `json:"default,omitempty"`
		Path        string `json:"path"`
	}
	served := s.served()
	out := []envInfo{}
	for _, info := range s.reg.Describe() {
		for _, n := range served {
			if n == info.Name {
				out = append(out, envInfo{Name: n, Description: info.Description, Default: n == s.opts.DefaultEnv, Path: "/envs/" + n})
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleMetrics serves GET /metrics in Prometheus' text format.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	s.metrics.write(&b, s.sessions.len(), s.opts.MaxSessions)
	io.WriteString(w, b.String())
}
