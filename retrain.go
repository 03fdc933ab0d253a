// Package retrain is the environment contract for reinforcement-learning
// training of large language models: the world a model acts in.
//
// An [Environment] holds the state of one episode. A rollout resets it with a
// [Task], then repeatedly asks a model for output, turns that output into an
// [Action] (see package dialect), and calls [Environment.Step], until the
// returned [Step] is terminated or truncated.
//
// This package imports nothing else of the project; everything else builds on it.
//
//	env := single.New(nil) // any Environment
//	if err := env.Setup(ctx); err != nil { ... }
//	defer env.Close()
//	obs, _, err := env.Reset(ctx, retrain.ResetOptions{Task: retrain.Task{Prompt: "2+2?", Answer: "4"}})
//	step, err := env.Step(ctx, retrain.Action{Kind: retrain.ActionText, Text: "4"})
//	fmt.Println(step.Reward, step.Terminated)
//
// All types here have a stable JSON encoding with snake_case field names;
// trajectories are written with it.
package retrain

import (
	"context"
	"encoding/json"
	"errors"
)

// Environment is one episode's world. Implementations are not required to be
// safe for concurrent use: a runner makes one Environment per concurrent
// episode and shares expensive resources (tool sets, connections) between them
// through the constructor.
//
// The life cycle is Setup once, then Reset and Step any number of times, then
// Close. Step before the first Reset, or after an episode has terminated or
// truncated, returns an error wrapping [ErrNotReset] or [ErrEpisodeDone].
type Environment interface {
	// Setup prepares what the environment needs (tools, connections). It is
	// called once before the first Reset.
	Setup(ctx context.Context) error
	// Reset starts a new episode and returns the first observation.
	Reset(ctx context.Context, opts ResetOptions) (Observation, Info, error)
	// Step applies the model's action. A malformed action is not a Go error:
	// it is answered with corrective feedback in the observation (and usually
	// a penalty). A Go error means the environment itself failed.
	Step(ctx context.Context, action Action) (Step, error)
	// Close releases what Setup acquired. It is safe to call more than once.
	Close() error
}

// Renderer is an optional ability of an Environment: a human-readable view of
// its current state (a board, a page).
type Renderer interface {
	Render() (string, error)
}

// Errors returned (wrapped) by environments that break the life cycle.
var (
	// ErrNotReset means Step was called before Reset.
	ErrNotReset = errors.New("retrain: Step called before Reset")
	// ErrEpisodeDone means Step was called after the episode terminated or truncated.
	ErrEpisodeDone = errors.New("retrain: Step called after the episode ended; call Reset")
	// ErrClosed means the environment was used after Close.
	ErrClosed = errors.New("retrain: environment is closed")
)

// Info is free-form diagnostic data returned by Reset and Step. Values must be
// JSON-encodable.
type Info map[string]any

// Task is one dataset row: what the model is asked to do.
type Task struct {
	// ID identifies the task in a dataset; groups of rollouts share it.
	ID string `json:"id,omitempty"`
	// Prompt is the question or instruction given to the model.
	Prompt string `json:"prompt"`
	// Answer is the reference answer, when the dataset has one.
	Answer string `json:"answer,omitempty"`
	// Metadata holds any other fields of the row.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// ResetOptions carry what a new episode starts from.
type ResetOptions struct {
	// Seed makes stochastic environments reproducible; nil means unseeded.
	Seed *int64 `json:"seed,omitempty"`
	// Task is the task of this episode.
	Task Task `json:"task"`
}

// Seed returns a pointer to s, for [ResetOptions.Seed].
func Seed(s int64) *int64 { return &s }

// ActionKind says what the model did.
type ActionKind string

// Action kinds.
const (
	// ActionText is a plain text response (a final answer, or a message).
	ActionText ActionKind = "text"
	// ActionToolCall is a request to call one or more tools.
	ActionToolCall ActionKind = "tool_call"
)

// Action is what the model did in one turn (the seed's LLMAction): the parsed
// form of a completion, with the raw output and tokens kept.
type Action struct {
	// Kind is text or tool_call.
	Kind ActionKind `json:"kind"`
	// Text is the text response; for tool calls, any content beside the calls.
	Text string `json:"text,omitempty"`
	// ToolCalls are the calls requested, in order, when Kind is tool_call.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// Reasoning is the model's thinking (e.g. a <think> block), if any.
	Reasoning string `json:"reasoning,omitempty"`
	// Raw is the model's output exactly as generated. A trajectory file
	// leaves out a long one (64 KiB or more) that equals the content of the
	// assistant message it became, and Text with it when equal; package
	// rollout's readers restore both (see rollout.LongReply).
	Raw string `json:"raw"`
	// Tokens are the generated tokens when the model reported them.
	Tokens *Tokens `json:"tokens,omitempty"`
	// ParseError is set when the output could not be parsed; the environment
	// answers it with corrective feedback.
	ParseError string `json:"parse_error,omitempty"`
}

// Tokens are generated tokens as parallel arrays, the layout trainers consume.
// Text and Logprobs have one entry per token. IDs is either empty (the server
// did not report token ids) or has one entry per token; ids are int32 (every
// vocabulary fits, and it halves their memory), encoded as JSON numbers.
//
// Bytes holds each token's exact bytes, one entry per token, and is set
// only when some token's bytes are not valid UTF-8 on their own: a token
// that ends or starts inside a multi-byte character (a byte-level model, a
// byte-fallback token). Text cannot hold such a token: JSON strings are
// UTF-8, so its text is written with U+FFFD in place of the bytes. In JSON
// each entry is a base64 string (the encoding of []byte); a reader that
// needs exact text joins Bytes, not Text. Nil when every token's text is
// exact, or when the model did not report bytes (the ids are then the exact
// record).
type Tokens struct {
	IDs      []int32   `json:"ids,omitempty"`
	Text     []string  `json:"text,omitempty"`
	Logprobs []float64 `json:"logprobs,omitempty"`
	Bytes    [][]byte  `json:"bytes,omitempty"`
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return max(len(t.Logprobs), len(t.Text), len(t.IDs), len(t.Bytes))
}

// JoinedBytes returns the completion's exact bytes, Bytes joined, and
// whether Bytes is set; nil and false when it is not (see [Tokens]).
func (t *Tokens) JoinedBytes() ([]byte, bool) {
	if t == nil || t.Bytes == nil {
		return nil, false
	}
	n := 0
	for _, b := range t.Bytes {
		n += len(b)
	}
	out := make([]byte, 0, n)
	for _, b := range t.Bytes {
		out = append(out, b...)
	}
	return out, true
}

// ToolCall is one call the model asked for.
type ToolCall struct {
	// ID correlates the call with its result (native tool calling); dialects
	// without ids get generated ones.
	ID string `json:"id,omitempty"`
	// Name is the tool's name.
	Name string `json:"name"`
	// Arguments is the JSON object of arguments, as the model wrote it.
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// ToolResult is the outcome of one tool call (the seed's ToolResultObservation).
type ToolResult struct {
	// CallID is the ID of the ToolCall this answers.
	CallID string `json:"call_id,omitempty"`
	// Name is the tool's name.
	Name string `json:"name"`
	// Output is the text output shown to the model.
	Output string `json:"output"`
	// Structured is the tool's structured output, when it has one.
	Structured json.RawMessage `json:"structured,omitempty"`
	// Success is false when the call failed; Error then says why.
	Success bool `json:"success"`
	// Error is the message shown to the model when the call failed.
	Error string `json:"error,omitempty"`
}

// ObservationKind says what an observation reports.
type ObservationKind string

// Observation kinds.
const (
	ObsInitial             ObservationKind = "initial"
	ObsToolResult          ObservationKind = "tool_result"
	ObsEnvironmentState    ObservationKind = "environment_state"
	ObsFinalAnswerFeedback ObservationKind = "final_answer_feedback"
)

// Observation is what the environment tells the model (the seed's
// EnvironmentObservation).
type Observation struct {
	// Kind says what this observation reports.
	Kind ObservationKind `json:"kind"`
	// Content is the text of this observation (the prompt, feedback, a board).
	Content string `json:"content,omitempty"`
	// ToolResults are the results of the tool calls of the last action.
	ToolResults []ToolResult `json:"tool_results,omitempty"`
	// Messages is the conversation so far, ready to send to a chat model.
	Messages []Message `json:"messages,omitempty"`
	// Tools are the tools available to the model now.
	Tools []ToolSpec `json:"tools,omitempty"`
	// RequiresAction is true when the model must act next.
	RequiresAction bool `json:"requires_action"`
}

// Role is the author of a chat [Message]: one of the Role constants.
type Role string

// Chat roles.
const (
	// RoleSystem: instructions for the model (a system prompt).
	RoleSystem Role = "system"
	// RoleUser: the task, and the environment's feedback in dialects that
	// give it as a user message.
	RoleUser Role = "user"
	// RoleAssistant: the model's output.
	RoleAssistant Role = "assistant"
	// RoleTool: a tool's result (native tool calling, and dialects that
	// answer calls with tool messages).
	RoleTool Role = "tool"
)

// Message is one chat message in the OpenAI layout.
type Message struct {
	// Role is who wrote the message.
	Role Role `json:"role"`
	// Content is the message text.
	Content string `json:"content"`
	// Reasoning is an assistant's separate reasoning text, if any.
	Reasoning string `json:"reasoning,omitempty"`
	// ToolCalls are an assistant's native tool calls.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is, for a tool message, the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is, for a tool message, the tool's name.
	Name string `json:"name,omitempty"`
}

// ToolSpec describes a tool to the model.
type ToolSpec struct {
	// Name is the tool's unique name.
	Name string `json:"name"`
	// Description says what the tool does.
	Description string `json:"description"`
	// Parameters is the JSON Schema of the tool's arguments object.
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// Step is the result of one Environment.Step: the Gymnasium tuple
// (observation, reward, terminated, truncated, info) as a struct.
type Step struct {
	// Observation is what the model sees next.
	Observation Observation `json:"observation"`
	// Reward is the immediate step reward.
	Reward float64 `json:"reward"`
	// Terminated is true when the episode reached an end state (e.g. an answer).
	Terminated bool `json:"terminated"`
	// Truncated is true when the episode was cut short (e.g. a step limit).
	Truncated bool `json:"truncated"`
	// Info is diagnostic data about this step.
	Info Info `json:"info,omitempty"`
}

// Done reports whether the episode is over.
func (s Step) Done() bool { return s.Terminated || s.Truncated }
