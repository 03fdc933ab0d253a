// Package model defines the interface to a language model: a chat request
// with sampling settings, and a completion with the generated tokens and
// their log-probabilities.
package model

import (
	"context"
	"errors"
	"time"

	"github.com/retrain-rl/retrain"
)

// Model generates one completion for a conversation. Implementations must be
// safe for concurrent use.
type Model interface {
	Generate(ctx context.Context, req Request) (Completion, error)
}

// Request is one chat completion request.
type Request struct {
	// Messages is the conversation to continue.
	Messages []retrain.Message `json:"messages"`
	// Tools are offered for native tool calling; leave empty for text dialects.
	Tools []retrain.ToolSpec `json:"tools,omitempty"`
	// Sampling holds the sampling settings.
	Sampling Sampling `json:"sampling"`
}

// Sampling holds sampling settings. Nil pointers and zero values mean the
// server's default.
type Sampling struct {
	Temperature *float64 `json:"temperature,omitempty" yaml:"temperature"`
	TopP        *float64 `json:"top_p,omitempty" yaml:"top_p"`
	MaxTokens   int      `json:"max_tokens,omitempty" yaml:"max_tokens"`
	Stop        []string `json:"stop,omitempty" yaml:"stop"`
	Seed        *int64   `json:"seed,omitempty" yaml:"seed"`
	// Extra holds server-specific request fields (e.g. vLLM's top_k), sent as
	// top-level fields of the request body.
	Extra map[string]any `json:"extra,omitempty" yaml:"extra"`
}

// Completion is a model's reply.
type Completion struct {
	// Text is the generated text.
	Text string `json:"text"`
	// Reasoning is the model's reasoning when the server returned it apart
	// from Text (e.g. vLLM's reasoning parsers), else empty.
	Reasoning string `json:"reasoning,omitempty"`
	// ToolCalls are native tool calls, when the server returned them.
	ToolCalls []retrain.ToolCall `json:"tool_calls,omitempty"`
	// Tokens are the generated tokens with their log-probabilities, when reported.
	Tokens *retrain.Tokens `json:"tokens,omitempty"`
	// PromptTokenIDs are the prompt's token ids, when the server reports them.
	PromptTokenIDs []int32 `json:"prompt_token_ids,omitempty"`
	// FinishReason is the server's finish reason ("stop", "length", "tool_calls").
	FinishReason string `json:"finish_reason,omitempty"`
	// Usage counts tokens.
	Usage Usage `json:"usage"`
	// Latency is the wall time of the request, retries included.
	Latency time.Duration `json:"latency_ns"`
}

// Usage counts the tokens of one completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Retryable reports whether a Model's error may go away if the same request
// is tried again later. An error says it will not (a bad request, an
// unknown model, a refused key) by having, anywhere in its chain, a method
// Retryable() bool returning false; every other error is taken as
// retryable (a server that is down now may be up in a minute).
func Retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}
