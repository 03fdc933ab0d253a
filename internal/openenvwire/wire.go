// Package openenvwire holds the wire format of OpenEnv's environment
// protocol (meta-pytorch/OpenEnv) as both retrain's OpenEnv bridge (the
// client) and retrain serve (the server) speak it, with retrain's
// additive extensions: request ids echoed on every reply, session ids for
// resuming a session after a dropped connection, and the terminated and
// truncated flags beside OpenEnv's done. server/PROTOCOL.md describes it.
//
//	f := openenvwire.Frame{Type: openenvwire.TypeStep, Data: json.RawMessage(`{"raw": "4"}`), RequestID: "r1"}
//	b, _ := json.Marshal(f) // {"type":"step","data":{"raw": "4"},"request_id":"r1"}
package openenvwire

import (
	"encoding/json"

	"github.com/retrain-rl/retrain/config"
)

// Frame types of the WebSocket session (/ws). The client sends reset, step,
// state and close; the server answers observation, state or error.
const (
	TypeReset       = "reset"
	TypeStep        = "step"
	TypeState       = "state"
	TypeClose       = "close"
	TypeObservation = "observation"
	TypeError       = "error"
)

// Error codes of error frames (OpenEnv's WSErrorCode), plus
// CodeSessionNotFound, CodeUnauthorized and CodeForbidden, retrain's.
const (
	CodeInvalidJSON     = "INVALID_JSON"
	CodeUnknownType     = "UNKNOWN_TYPE"
	CodeValidationError = "VALIDATION_ERROR"
	CodeExecutionError  = "EXECUTION_ERROR"
	CodeCapacityReached = "CAPACITY_REACHED"
	CodeFactoryError    = "FACTORY_ERROR"
	CodeSessionError    = "SESSION_ERROR"
	// CodeSessionNotFound answers a resume (or an HTTP session call) naming
	// a session that does not exist or has expired.
	CodeSessionNotFound = "SESSION_NOT_FOUND"
	// CodeUnauthorized answers a request without the server's bearer token.
	CodeUnauthorized = "UNAUTHORIZED"
	// CodeForbidden answers a client that set what only the operator may:
	// an operator-only config key, a model endpoint not allowed.
	CodeForbidden = "FORBIDDEN"
)

// Headers and query parameters of retrain's extensions.
const (
	// HeaderSessionID carries the session id on the WebSocket upgrade
	// response and on HTTP session replies; HTTP requests may send it to
	// name their session.
	HeaderSessionID = "X-Session-Id"
	// HeaderRequestID carries a request id on HTTP requests and replies.
	HeaderRequestID = "X-Request-Id"
	// QuerySessionID is the query parameter of /ws that resumes a session.
	QuerySessionID = "session_id"
)

// Frame is one WebSocket message, in either direction. OpenEnv's frames
// have only Type and Data; RequestID, SessionID and TimeoutS are retrain's
// additions, ignored by OpenEnv's own clients and servers.
type Frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
	// RequestID is the client's id for a request; the reply carries it back.
	RequestID string `json:"request_id,omitempty"`
	// SessionID is the server's session id, on replies.
	SessionID string `json:"session_id,omitempty"`
	// TimeoutS bounds a step or reset on the server, in seconds.
	TimeoutS float64 `json:"timeout_s,omitempty"`
}

// Result is the data of an observation frame, and the body of the HTTP
// /reset and /step replies: OpenEnv's serialized observation (its reward,
// done and metadata promoted beside it).
type Result struct {
	// Observation is the environment's observation object.
	Observation json.RawMessage `json:"observation"`
	// Reward is the step reward; null after a reset.
	Reward *float64 `json:"reward"`
	// Done is true when the episode is over.
	Done bool `json:"done"`
	// Metadata is the step's or reset's info.
	Metadata map[string]any `json:"metadata,omitempty"`
	// Terminated and Truncated refine Done (retrain serve only).
	Terminated *bool `json:"terminated,omitempty"`
	Truncated  *bool `json:"truncated,omitempty"`
	// RequestID and SessionID are set on HTTP replies (retrain serve only).
	RequestID string `json:"request_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
}

// ErrorData is the data of an error frame: OpenEnv's {message, code}, with
// the session counts of a capacity error.
type ErrorData struct {
	Message        string `json:"message"`
	Code           string `json:"code"`
	ActiveSessions *int   `json:"active_sessions,omitempty"`
	MaxSessions    *int   `json:"max_sessions,omitempty"`
	// Errors are the validation errors of a VALIDATION_ERROR, if any.
	Errors any `json:"errors,omitempty"`
}

// HTTPError is the body of an HTTP error reply. FastAPI (and so OpenEnv)
// writes {"detail": ...}; retrain serve adds the code and ids.
type HTTPError struct {
	Detail    any    `json:"detail"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
}

// StepRequest is the body of HTTP POST /step.
type StepRequest struct {
	Action    json.RawMessage `json:"action"`
	TimeoutS  float64         `json:"timeout_s,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
}

// Schema is the reply of GET /schema: the JSON Schemas of actions,
// observations and state, and (retrain serve's additions) the environment's
// config keys, with their docs, defaults and who may set them, and its
// default reward configuration (a reward.Config, the rewards POST
// /v1/rollouts scores with when the request names none).
type Schema struct {
	Action      json.RawMessage `json:"action"`
	Observation json.RawMessage `json:"observation"`
	State       json.RawMessage `json:"state"`
	Config      []config.Key    `json:"config,omitempty"`
	Rewards     json.RawMessage `json:"rewards,omitempty"`
}

// Metadata is the reply of GET /metadata (OpenEnv's EnvironmentMetadata).
type Metadata struct {
	Name             string  `json:"name"`
	Description      string  `json:"description"`
	ReadmeContent    *string `json:"readme_content"`
	Version          *string `json:"version"`
	Author           *string `json:"author"`
	DocumentationURL *string `json:"documentation_url"`
}

// Health is the reply of GET /health.
type Health struct {
	Status string `json:"status"`
}
