package gym

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// ProtocolVersion is the version of the JSON-lines protocol (PROTOCOL.md)
// this package speaks.
const ProtocolVersion = 1

// request is one protocol request line.
type request struct {
	ID     int64  `json:"id"`
	Method string `json:"method"`
	Params any    `json:"params,omitempty"`
}

// reply is one protocol reply line.
type reply struct {
	ID     *int64          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *wireError      `json:"error"`
}

type wireError struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
}

// Errors of the subprocess, matched with errors.Is.
var (
	// ErrTimeout: a request was not answered within its timeout; the
	// process was killed.
	ErrTimeout = errors.New("gym: the Python environment did not answer in time")
	// ErrExited: the process exited (crashed, or was killed).
	ErrExited = errors.New("gym: the Python process exited")
	// ErrProtocol: the process wrote something on stdout that is not a
	// protocol reply; it was killed.
	ErrProtocol = errors.New("gym: the Python process broke the protocol")
)

// PythonError is an exception raised by the Python environment (or the
// shim) while handling a request. The process is still running.
type PythonError struct {
	// Method is the request that failed: make, reset, step, …
	Method string
	// Type is the exception's class name, e.g. "ValueError".
	Type string
	// Message is the exception's message.
	Message string
	// Traceback is Python's formatted traceback.
	Traceback string
}

func (e *PythonError) Error() string {
	msg := fmt.Sprintf("gym: %s raised %s: %s", e.Method, e.Type, e.Message)
	if tb := lastLines(e.Traceback, 12); tb != "" {
		msg += "\n" + tb
	}
	return msg
}

// number is a float that the shim may write as "NaN", "Infinity" or
// "-Infinity" (JSON has no such numbers).
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN":
			*n = number(math.NaN())
		case "Infinity", "inf":
			*n = number(math.Inf(1))
		case "-Infinity", "-inf":
			*n = number(math.Inf(-1))
		default:
			return fmt.Errorf("gym: %q is not a number", s)
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = number(f)
	return nil
}

// bounds is a Box's low or high bounds: one number for all elements, or
// one per element.
type bounds []float64

func (bs *bounds) UnmarshalJSON(b []byte) error {
	var list []number
	if err := json.Unmarshal(b, &list); err != nil {
		var one number
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		list = []number{one}
	}
	out := make(bounds, len(list))
	for i, v := range list {
		out[i] = float64(v)
	}
	*bs = out
	return nil
}

// at is the bound of element i.
func (bs bounds) at(i int) float64 {
	switch {
	case len(bs) == 0:
		return math.NaN()
	case len(bs) == 1:
		return bs[0]
	case i < len(bs):
		return bs[i]
	}
	return math.NaN()
}

// EnvInfo is what the process says about its environment once made.
type EnvInfo struct {
	// Protocol is the shim's protocol version.
	Protocol int `json:"protocol"`
	// Env is the environment as named in the configuration.
	Env string `json:"env"`
	// RenderMode is the environment's render mode ("ansi" when it renders
	// as text), or empty.
	RenderMode string `json:"render_mode"`
	// MaxEpisodeSteps is the step limit of the TimeLimit wrapper that
	// gymnasium.make put around the environment (its registered
	// max_episode_steps, e.g. 100 for FrozenLake-v1, 200 for Taxi-v3), or
	// 0 when it has none.
	MaxEpisodeSteps int `json:"max_episode_steps"`
	// Python is the interpreter's version.
	Python string `json:"python"`
	// ActionSpace and ObservationSpace describe the spaces.
	ActionSpace      Space `json:"action_space"`
	ObservationSpace Space `json:"observation_space"`
}

// Result is what reset and step return.
type Result struct {
	// Observation is the observation, as JSON (numpy arrays as lists).
	Observation json.RawMessage
	// Reward, Terminated and Truncated are step's; zero after reset.
	Reward     float64
	Terminated bool
	Truncated  bool
	// Info is the info dict.
	Info map[string]any
	// Render is the text render after the call, when the environment
	// renders as ansi; RenderError says why render failed, if it did.
	Render      *string
	RenderError string
}

// UnmarshalJSON decodes a reset or step result.
func (r *Result) UnmarshalJSON(b []byte) error {
	var w struct {
		Observation json.RawMessage `json:"observation"`
		Reward      number          `json:"reward"`
		Terminated  bool            `json:"terminated"`
		Truncated   bool            `json:"truncated"`
		Info        map[string]any  `json:"info"`
		Render      *string         `json:"render"`
		RenderError string          `json:"render_error"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Result{
		Observation: w.Observation, Reward: float64(w.Reward), Terminated: w.Terminated,
		Truncated: w.Truncated, Info: w.Info, Render: w.Render, RenderError: w.RenderError,
	}
	if r.Info == nil {
		r.Info = map[string]any{}
	}
	return nil
}

// lastLines returns the last n lines of s, trimmed.
func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n ")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
