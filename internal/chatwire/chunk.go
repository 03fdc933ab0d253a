package chatwire

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Chunk is one server-sent event of a streamed chat completion (object
// "chat.completion.chunk", stream=true): each carries a [Delta] of the
// message, and the last ones the finish reason and, with
// stream_options.include_usage, the usage. It encodes and decodes with
// encoding/json.
type Chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	// Usage is set on the last chunk when the request asked for it.
	Usage *Usage `json:"usage,omitempty"`
	// PromptTokenIDs are the prompt's ids (vLLM's return_token_ids, on the
	// first chunk).
	PromptTokenIDs TokenIDs `json:"prompt_token_ids,omitempty"`
}

// ChunkChoice is one choice's part of a [Chunk].
type ChunkChoice struct {
	Index int   `json:"index"`
	Delta Delta `json:"delta"`
	// Logprobs are the log-probabilities of this chunk's tokens.
	Logprobs *Logprobs `json:"logprobs"`
	// FinishReason is null until the choice's last chunk.
	FinishReason *string `json:"finish_reason"`
	// StopReason is vLLM's stop_reason on the last chunk (see
	// Choice.StopReason).
	StopReason json.RawMessage `json:"stop_reason,omitempty"`
	// TokenIDs are this chunk's completion ids (vLLM's return_token_ids).
	TokenIDs TokenIDs `json:"token_ids,omitempty"`
}

// Delta is what a chunk adds to the message: the role on the first chunk,
// then pieces of the content, reasoning and tool calls.
type Delta struct {
	Role             string          `json:"role,omitempty"`
	Content          *string         `json:"content,omitempty"`
	Reasoning        *string         `json:"reasoning,omitempty"`
	ReasoningContent *string         `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is a piece of a tool call: the first piece of call Index
// has its ID, Type and Name; the arguments come in pieces to be joined.
type ToolCallDelta struct {
	Index    int               `json:"index"`
	ID       string            `json:"id,omitempty"`
	Type     string            `json:"type,omitempty"`
	Function FunctionCallDelta `json:"function"`
}

// FunctionCallDelta is a piece of a function call.
type FunctionCallDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
}

// The server-sent event framing of a stream: each chunk is "data: " + JSON
// + "\n\n", and the stream ends with [DoneEvent].
const (
	eventPrefix = "data: "
	// DoneEvent is the event that ends a stream.
	DoneEvent = "data: [DONE]\n\n"
)

// ErrDone is returned by [DecodeEvent] for the [DoneEvent].
var ErrDone = errors.New("chatwire: end of stream ([DONE])")

// AppendEvent appends c as one server-sent event. Strings are written
// without HTML escaping, as the rest of the package writes them.
func AppendEvent(b []byte, c *Chunk) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return b, err
	}
	b = append(b, eventPrefix...)
	b = append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	return append(b, "\n\n"...), nil
}

// DecodeEvent decodes the data of one server-sent event (a line without
// its "data: " prefix, or with it); "[DONE]" returns ErrDone.
func DecodeEvent(data []byte) (*Chunk, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(data), []byte("data:")))
	if string(data) == "[DONE]" {
		return nil, ErrDone
	}
	c := &Chunk{}
	if decodeChunkFast(data, c) {
		return c, nil
	}
	*c = Chunk{} // what encoding/json says, error included
	if err := json.Unmarshal(data, c); err != nil {
		return nil, err
	}
	return c, nil
}
