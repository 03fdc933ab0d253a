package chatwire

import (
	"encoding/json"
	"strconv"
)

// Reply is a chat completion (object "chat.completion"), the body of a 200
// answer to a request. It decodes with encoding/json from the tags, and
// encodes with [AppendReply] (its MarshalJSON), which writes the fields in
// the tags' order and leaves out what is nil where the doc says so.
type Reply struct {
	// ID, Object, Created and Model head every reply.
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	// Choices are the generated completions (one, here).
	Choices []Choice `json:"choices"`
	// Usage counts tokens; nil is written as null.
	Usage *Usage `json:"usage"`
	// PromptTokenIDs are the prompt's ids (vLLM's return_token_ids); nil is
	// left out, empty is written as [].
	PromptTokenIDs TokenIDs `json:"prompt_token_ids,omitempty"`
	// Error is set by servers that report errors with status 200; nil is
	// left out.
	Error json.RawMessage `json:"error,omitempty"`
}

// Choice is one completion of a [Reply].
type Choice struct {
	Index   int          `json:"index"`
	Message ReplyMessage `json:"message"`
	// Logprobs are the sampled tokens' log-probabilities; nil is null.
	Logprobs *Logprobs `json:"logprobs"`
	// FinishReason is "stop", "length", "tool_calls", ...
	FinishReason string `json:"finish_reason"`
	// StopReason is vLLM's stop_reason (the stop string or token id that
	// ended generation); nil is written as null.
	StopReason json.RawMessage `json:"stop_reason"`
	// TokenIDs are the completion's ids (vLLM's return_token_ids); nil is
	// left out.
	TokenIDs TokenIDs `json:"token_ids,omitempty"`
	// PromptTokenIDs is where some servers put the prompt's ids; nil is left
	// out.
	PromptTokenIDs TokenIDs `json:"prompt_token_ids,omitempty"`
}

// ReplyMessage is the assistant message of a [Choice].
type ReplyMessage struct {
	Role string `json:"role"`
	// Content is the text; nil is null (a reply of tool calls only).
	Content *string `json:"content"`
	// Reasoning (vLLM's reasoning parsers) and ReasoningContent (older
	// vLLM, DeepSeek) carry the reasoning; nil is left out.
	Reasoning        *string `json:"reasoning,omitempty"`
	ReasoningContent *string `json:"reasoning_content,omitempty"`
	// ToolCalls are native tool calls; empty is left out.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Logprobs are the log-probabilities of a completion's tokens.
type Logprobs struct {
	Content []TokenLogprob `json:"content"`
	// Top, when not nil, holds for each entry of Content its most likely
	// alternatives, written as the entry's "top_logprobs" (a nil list as
	// []). Decoding skips them: nothing in this module reads them, and
	// they would cost an allocation per token.
	Top [][]TokenLogprob `json:"-"`
}

// TokenLogprob is one token's entry in [Logprobs]. On the wire it also has
// "top_logprobs" (see Logprobs.Top).
type TokenLogprob struct {
	// Token is the token's text, or "token_id:N" (see [ParseTokenID]).
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	// Bytes are the token's bytes when they are not valid UTF-8 on their
	// own, and so differ from Token (see [TokenBytes]); nil otherwise.
	// AppendReply writes them, or when nil the bytes of Token.
	Bytes TokenBytes `json:"bytes"`
}

// Usage counts a request's tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// PromptTokensDetails is written as given when not nil (vLLM writes
	// null).
	PromptTokensDetails json.RawMessage `json:"prompt_tokens_details,omitempty"`
}

// MarshalJSON encodes r with [AppendReply].
func (r Reply) MarshalJSON() ([]byte, error) { return AppendReply(nil, &r) }

// AppendReply appends r as JSON, without reflection. The error is for a
// log-probability that is NaN or infinite.
func AppendReply(b []byte, r *Reply) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = AppendString(b, r.ID)
	b = append(b, `,"object":`...)
	b = AppendString(b, r.Object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, r.Created, 10)
	b = append(b, `,"model":`...)
	b = AppendString(b, r.Model)
	b = append(b, `,"choices":[`...)
	for i := range r.Choices {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendChoice(b, &r.Choices[i]); err != nil {
			return b, err
		}
	}
	b = append(b, `],"usage":`...)
	if u := r.Usage; u == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
		if u.PromptTokensDetails != nil {
			b = append(b, `,"prompt_tokens_details":`...)
			b = append(b, u.PromptTokensDetails...)
		}
		b = append(b, '}')
	}
	if r.PromptTokenIDs != nil {
		b = append(b, `,"prompt_token_ids":`...)
		b = AppendInts(b, r.PromptTokenIDs)
	}
	if r.Error != nil {
		b = append(b, `,"error":`...)
		b = append(b, r.Error...)
	}
	return append(b, '}'), nil
}

func appendChoice(b []byte, c *Choice) ([]byte, error) {
	var err error
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(c.Index), 10)
	m := &c.Message
	b = append(b, `,"message":{"role":`...)
	b = AppendString(b, m.Role)
	b = append(b, `,"content":`...)
	b = appendStringPtr(b, m.Content)
	if m.Reasoning != nil {
		b = append(b, `,"reasoning":`...)
		b = AppendString(b, *m.Reasoning)
	}
	if m.ReasoningContent != nil {
		b = append(b, `,"reasoning_content":`...)
		b = AppendString(b, *m.ReasoningContent)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":`...)
		b = appendToolCalls(b, m.ToolCalls)
	}
	b = append(b, `},"logprobs":`...)
	if c.Logprobs == nil {
		b = append(b, "null"...)
	} else if b, err = appendLogprobs(b, c.Logprobs); err != nil {
		return b, err
	}
	b = append(b, `,"finish_reason":`...)
	b = AppendString(b, c.FinishReason)
	b = append(b, `,"stop_reason":`...)
	if c.StopReason == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, c.StopReason...)
	}
	if c.TokenIDs != nil {
		b = append(b, `,"token_ids":`...)
		b = AppendInts(b, c.TokenIDs)
	}
	if c.PromptTokenIDs != nil {
		b = append(b, `,"prompt_token_ids":`...)
		b = AppendInts(b, c.PromptTokenIDs)
	}
	return append(b, '}'), nil
}

// appendToolCalls writes tool calls as encoding/json writes []ToolCall.
func appendToolCalls(b []byte, calls []ToolCall) []byte {
	b = append(b, '[')
	for i := range calls {
		tc := &calls[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		if tc.ID != "" {
			b = append(b, `"id":`...)
			b = AppendString(b, tc.ID)
			b = append(b, ',')
		}
		if tc.Type != "" {
			b = append(b, `"type":`...)
			b = AppendString(b, tc.Type)
			b = append(b, ',')
		}
		b = append(b, `"function":{"name":`...)
		b = AppendString(b, tc.Function.Name)
		b = append(b, `,"arguments":`...)
		b = AppendString(b, tc.Function.Arguments)
		b = append(b, "}}"...)
	}
	return append(b, ']')
}

// appendLogprobs writes {"content":[...]}.
func appendLogprobs(b []byte, lp *Logprobs) ([]byte, error) {
	var err error
	b = append(b, `{"content":[`...)
	for i := range lp.Content {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendTokenLogprob(b, &lp.Content[i]); err != nil {
			return b, err
		}
		if lp.Top != nil {
			b = b[:len(b)-1] // reopen the entry
			b = append(b, `,"top_logprobs":[`...)
			if i < len(lp.Top) {
				for k := range lp.Top[i] {
					if k > 0 {
						b = append(b, ',')
					}
					if b, err = appendTokenLogprob(b, &lp.Top[i][k]); err != nil {
						return b, err
					}
				}
			}
			b = append(b, "]}"...)
		}
	}
	return append(b, "]}"...), nil
}

// appendTokenLogprob writes {"token","logprob","bytes"}.
func appendTokenLogprob(b []byte, e *TokenLogprob) ([]byte, error) {
	var err error
	b = append(b, `{"token":`...)
	b = AppendString(b, e.Token)
	b = append(b, `,"logprob":`...)
	if b, err = AppendFloat(b, e.Logprob); err != nil {
		return b, err
	}
	b = append(b, `,"bytes":`...)
	if e.Bytes != nil {
		b = appendByteList(b, e.Bytes)
	} else {
		b = appendByteList(b, e.Token)
	}
	return append(b, '}'), nil
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return AppendString(b, *s)
}

// AppendError appends an error body in the OpenAI layout:
// {"error":{"message","type","param":null,"code"}}; an empty code is written
// as the status number, as vLLM does.
func AppendError(b []byte, message, typ, code string, status int) []byte {
	b = append(b, `{"error":{"message":`...)
	b = AppendString(b, message)
	b = append(b, `,"type":`...)
	b = AppendString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	if code != "" {
		b = AppendString(b, code)
	} else {
		b = strconv.AppendInt(b, int64(status), 10)
	}
	return append(b, `}}`...)
}
