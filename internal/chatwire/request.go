// Decode, Request and the types below are the request side: the body of a
// chat-completions request (POST /v1/chat/completions) as a server receives
// it. Decoding is lenient where the API is: content may be a string, null or
// an array of parts; stop may be a string or an array of strings;
// max_completion_tokens wins over max_tokens. Fields it does not model are
// kept (see [Request.Extra]); what a server accepts or refuses is the
// server's business. A client writes requests with [AppendRequest].

package chatwire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Request is a decoded chat-completions request body. Fields it does not
// model are in Raw (see [Request.Extra]).
type Request struct {
	// Model is the requested model id.
	Model string `json:"model"`
	// Messages is the conversation.
	Messages []Message `json:"messages"`
	// Tools are the offered tools.
	Tools []Tool `json:"tools,omitempty"`
	// Temperature, TopP, Stop and Seed are the sampling fields as sent.
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	Stop        Stop     `json:"stop,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
	// MaxTokens is max_tokens, or max_completion_tokens when that is set.
	MaxTokens int `json:"max_tokens,omitempty"`
	// MaxCompletionTokens is max_completion_tokens as sent.
	MaxCompletionTokens int `json:"max_completion_tokens,omitempty"`
	// Logprobs and TopLogprobs ask for log-probabilities.
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
	// ReturnTokenIDs is vLLM's return_token_ids: reply with the prompt's and
	// the completion's token ids.
	ReturnTokenIDs bool `json:"return_token_ids,omitempty"`
	// ReturnTokensAsTokenIDs is vLLM's return_tokens_as_token_ids: logprob
	// tokens are written "token_id:N".
	ReturnTokensAsTokenIDs bool `json:"return_tokens_as_token_ids,omitempty"`
	// Stream asks for server-sent events.
	Stream bool `json:"stream,omitempty"`
	// StreamOptions are the stream's options (a usage chunk at the end).
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	// Raw is the request body exactly as received.
	Raw json.RawMessage `json:"-"`
}

// modeled lists the top-level fields Request models.
var modeled = map[string]bool{
	"model": true, "messages": true, "tools": true, "temperature": true, "top_p": true,
	"max_tokens": true, "max_completion_tokens": true, "stop": true, "seed": true,
	"logprobs": true, "top_logprobs": true, "return_token_ids": true,
	"return_tokens_as_token_ids": true, "stream": true, "stream_options": true,
}

// Modeled reports whether Request models the top-level field name, that is
// whether [Request.Extra] leaves it out.
func Modeled(name string) bool { return modeled[name] }

// Decode decodes body; the returned request keeps body as Raw. The error
// says what in the body is wrong; a server answers it with 400.
func Decode(body []byte) (*Request, error) {
	req := &Request{}
	if err := json.Unmarshal(body, req); err != nil {
		return nil, err
	}
	if req.MaxCompletionTokens > 0 {
		req.MaxTokens = req.MaxCompletionTokens
	}
	req.Raw = body
	return req, nil
}

// Fields returns every top-level field of the body, undecoded.
func (r *Request) Fields() (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(r.Raw, &all); err != nil {
		return nil, err
	}
	return all, nil
}

// Extra returns the top-level fields of the body that Request does not
// model (e.g. vLLM's top_k), decoded on demand.
func (r *Request) Extra() (map[string]json.RawMessage, error) {
	all, err := r.Fields()
	if err != nil {
		return nil, err
	}
	for k := range all {
		if modeled[k] {
			delete(all, k)
		}
	}
	return all, nil
}

// Message is one chat message in the OpenAI layout; the fields are the wire
// fields of the same names.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`
}

// Content is a message's text. On the wire it is a string, null, or an array
// of parts of which the "text" ones are joined.
type Content string

// UnmarshalJSON accepts a string, null, or an array of content parts.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*c = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Content(s)
		return nil
	case b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var s []byte
		for _, p := range parts {
			if p.Type == "text" {
				s = append(s, p.Text...)
			}
		}
		*c = Content(s)
		return nil
	}
	return fmt.Errorf("content must be a string, null or an array of parts, got %.20s", b)
}

// Stop is the stop field: a string or an array of strings.
type Stop []string

// UnmarshalJSON accepts a string, null, or an array of strings.
func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("stop must be a string or an array of strings, got %.20s", b)
	}
	*s = many
	return nil
}

// ToolCall is an assistant's tool call in the OpenAI layout, in a request's
// messages and in a reply alike. Arguments is the JSON text of the
// arguments, as a string (it need not be valid JSON).
type ToolCall struct {
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the called function and carries its arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is an offered tool in the OpenAI layout.
type Tool struct {
	Type     string   `json:"type"`
	Function Function `json:"function"`
}

// Function describes an offered function.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}
