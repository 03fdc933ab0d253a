package retrain

// Trajectory is one whole episode (the seed's RawRolloutData): everything a
// trainer needs, written as one JSON line. Package rollout produces it;
// package reward scores it.
type Trajectory struct {
	// ID identifies the episode: "<task id>#<sample>" unless set otherwise.
	ID string `json:"id"`
	// Task is the task the episode was run on.
	Task Task `json:"task"`
	// Sample is the index of this episode within its task's group (0..n-1).
	Sample int `json:"sample"`
	// Env is the environment's name.
	Env string `json:"env"`
	// Model is the model's name.
	Model string `json:"model,omitempty"`
	// Dialect names the dialect that parsed the model's output and formatted
	// the conversation (see package dialect); empty when there was none
	// (plain text). Files written before this field existed keep it in
	// ResetInfo["dialect"] (toolenv's); package rollout's readers fill it
	// from there.
	Dialect string `json:"dialect,omitempty"`
	// Seed is the seed the environment was reset with.
	Seed *int64 `json:"seed,omitempty"`
	// Sampling records the sampling settings used, as sent.
	Sampling map[string]any `json:"sampling,omitempty"`
	// Messages is the full conversation, the final observation's included.
	Messages []Message `json:"messages"`
	// Turns has one entry per assistant turn, in order.
	Turns []Turn `json:"turns"`
	// InitialObservation is what Reset returned (without its messages).
	InitialObservation Observation `json:"initial_observation"`
	// ResetInfo is the info Reset returned.
	ResetInfo Info `json:"reset_info,omitempty"`
	// StepReward is the sum of the environment's step rewards.
	StepReward float64 `json:"step_reward"`
	// StopReason says why the episode ended.
	StopReason StopReason `json:"stop_reason"`
	// Error is the error that ended a failed episode; empty on success.
	Error string `json:"error,omitempty"`
	// ErrorCause classifies Error; empty on success.
	ErrorCause ErrorCause `json:"error_cause,omitempty"`
	// Attempts is how many times the episode was tried (infrastructure retries).
	Attempts int `json:"attempts,omitempty"`
	// PromptTokens and CompletionTokens sum the model's usage over all turns.
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// TemplateDrift is true when some turn's prompt token ids did not extend
	// the previous prompt and completion token for token.
	TemplateDrift bool `json:"template_drift,omitempty"`
	// Timings are wall-clock durations of the phases, in seconds.
	Timings Timings `json:"timings"`
	// Rewards is the reward calculator's output, when one was applied.
	Rewards *Rewards `json:"rewards,omitempty"`
}

// StopReason says why an episode ended. Package rollout sets only the Stop
// constants (an environment that runs its own episodes, a rollout.Roller,
// may set others or none).
type StopReason string

// Stop reasons.
const (
	// StopTerminated: the environment reached an end state.
	StopTerminated StopReason = "terminated"
	// StopTruncated: the environment cut the episode short.
	StopTruncated StopReason = "truncated"
	// StopMaxTurns: the episode's limit of assistant turns was reached.
	StopMaxTurns StopReason = "max_turns"
	// StopMaxTokens: the episode's completion tokens reached its token budget.
	StopMaxTokens StopReason = "max_tokens"
	// StopDeadline: the episode's deadline passed; it failed with [CauseTimeout].
	StopDeadline StopReason = "deadline"
	// StopError: the episode failed with any other cause; see Error and ErrorCause.
	StopError StopReason = "error"
)

// ErrorCause classifies the error that ended a failed episode. Package
// rollout sets only the Cause constants other than [CauseUnknown].
type ErrorCause string

// Error causes.
const (
	// CauseModel: the model call failed (server down, bad reply).
	CauseModel ErrorCause = "model"
	// CauseEnvironment: Setup, Reset or Step returned an error (or a
	// rollout.Roller did).
	CauseEnvironment ErrorCause = "environment"
	// CauseTimeout: the episode's deadline passed.
	CauseTimeout ErrorCause = "timeout"
	// CauseCanceled: the run was canceled.
	CauseCanceled ErrorCause = "canceled"
	// CausePanic: the environment, the model or a hook panicked; Error
	// holds the stack.
	CausePanic ErrorCause = "panic"
	// CauseUnknown is never set on a trajectory: summaries and reports count
	// a failed trajectory whose ErrorCause is empty under it.
	CauseUnknown ErrorCause = "unknown"
)

// FinishReason is why the model stopped generating a completion, as the
// model server reported it. The constants are the values OpenAI-compatible
// servers and this project's own models send; a server may send others,
// which are kept as they are, and an empty one means none was reported.
type FinishReason string

// Finish reasons.
const (
	// FinishStop: the model ended its output or hit a stop sequence.
	FinishStop FinishReason = "stop"
	// FinishLength: the completion reached max_tokens or the context length.
	FinishLength FinishReason = "length"
	// FinishToolCalls: the model called tools (native tool calling).
	FinishToolCalls FinishReason = "tool_calls"
)

// Failed reports whether the episode failed for an infrastructure reason.
func (t *Trajectory) Failed() bool { return t.Error != "" }

// TurnSampling records the sampling settings one turn's request was sent
// with, as sent: a nil Temperature or TopP and a zero MaxTokens mean the
// request left them to the server's default (the built-in local model's are
// temperature 1, top_p 1). MaxTokens is the value actually sent, capped by
// the episode's token budget. Seed is always set by package rollout: when
// the job sets none it draws one per episode, so a turn can be reproduced.
type TurnSampling struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
}

// Turn is one assistant turn: the model's action and the environment's answer.
type Turn struct {
	// PromptMessages is how many messages of Trajectory.Messages formed this
	// turn's prompt (they are not repeated per turn).
	PromptMessages int `json:"prompt_messages"`
	// Action is the parsed model output, with raw text, tokens and log-probs.
	Action Action `json:"action"`
	// PromptTokenIDs are the prompt's token ids, when the server reported them.
	PromptTokenIDs []int32 `json:"prompt_token_ids,omitempty"`
	// PrefixMatch says whether PromptTokenIDs extends the previous turn's
	// prompt and completion ids token for token; nil when unknown (first turn,
	// or no ids).
	PrefixMatch *bool `json:"prefix_match,omitempty"`
	// FinishReason is the model's finish reason, as the server reported it.
	FinishReason FinishReason `json:"finish_reason,omitempty"`
	// Sampling is the sampling settings this turn's request was sent with.
	Sampling *TurnSampling `json:"sampling,omitempty"`
	// PolicyVersion names the policy that generated this turn: the model's
	// name and a hash of its weights for the local model, the endpoint's
	// policy_version (default: the served model's name) for a server.
	PolicyVersion string `json:"policy_version,omitempty"`
	// InvalidUTF8 says that the completion's bytes are not valid UTF-8 (it
	// ends, or has a token that ends, inside a multi-byte character, as a
	// byte-level model may at high temperatures): Action.Raw and Text, the
	// assistant message made from them and Action.Tokens.Text are then
	// written with U+FFFD where the bytes were, and no longer reproduce the
	// token ids. The exact bytes are Action.Tokens.Bytes (when the model
	// reported them) and the ids; a trainer should take the ids, not
	// re-tokenize the text.
	InvalidUTF8 bool `json:"invalid_utf8,omitempty"`
	// LogprobsMode says what Action.Tokens.Logprobs are: "raw" (the
	// log-softmax of the raw logits, before temperature and top-p: the local
	// model's and vLLM's default) or "processed" (after them).
	LogprobsMode string `json:"logprobs_mode,omitempty"`
	// Reward is the environment's step reward.
	Reward float64 `json:"reward"`
	// Observation is the environment's answer. Its Messages are omitted (the
	// conversation is in Trajectory.Messages), and so are its Tools when they
	// are the same as InitialObservation's.
	Observation Observation `json:"observation"`
	// Terminated and Truncated are the step's flags.
	Terminated bool `json:"terminated,omitempty"`
	Truncated  bool `json:"truncated,omitempty"`
	// Info is the step's info.
	Info Info `json:"info,omitempty"`
	// ModelSeconds and EnvSeconds time the generation and the step.
	ModelSeconds float64 `json:"model_seconds"`
	EnvSeconds   float64 `json:"env_seconds"`
}

// Timings are wall-clock durations of an episode's phases, in seconds.
type Timings struct {
	Total float64 `json:"total"`
	Model float64 `json:"model"`
	Env   float64 `json:"env"`
	// Tools is the part of Env spent in tool calls, when the environment reports it.
	Tools float64 `json:"tools,omitempty"`
}

// Rewards is the reward calculator's output for one trajectory.
type Rewards struct {
	// Turns has the per-turn rewards, one per Trajectory.Turns entry.
	Turns []TurnReward `json:"turns"`
	// Rollout holds the rollout-level component scores, by name.
	Rollout map[string]float64 `json:"rollout,omitempty"`
	// Total is the sum of the per-turn combined rewards.
	Total float64 `json:"total"`
	// Advantage is the group advantage of this trajectory, when computed.
	Advantage *float64 `json:"advantage,omitempty"`
	// Errors lists reward functions that failed, with their messages.
	Errors []string `json:"errors,omitempty"`
}

// TurnReward is one turn's reward, with the score of each component kept so
// people can see why a reward is what it is.
type TurnReward struct {
	// Components are the weighted component scores, by reward name.
	Components map[string]float64 `json:"components"`
	// Reward is the combined reward of the turn.
	Reward float64 `json:"reward"`
	// Advantage is the per-turn advantage, when computed.
	Advantage *float64 `json:"advantage,omitempty"`
}
