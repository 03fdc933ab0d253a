package openaitest

import (
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain/model/openai/internal/jsonw"
)

// Reply is what the fake model answers to one request.
type Reply struct {
	// Content is the assistant's text.
	Content string
	// Reasoning, when set, is returned as the message's "reasoning" field
	// (vLLM's reasoning parsers).
	Reasoning string
	// ToolCalls are native tool calls. Empty IDs are filled in; Type
	// defaults to "function". Arguments are sent exactly as given, so a
	// test can send arguments that are not valid JSON.
	ToolCalls []ToolCall
	// FinishReason defaults to "tool_calls" when there are tool calls, else
	// "stop"; a reply cut short by max_tokens gets "length".
	FinishReason string
	// Tokens optionally gives the reply's token split. By default the
	// generated text (content, then tool calls as <tool_call> blocks) is
	// split into Options.LogprobTokens tokens, or into word pieces.
	Tokens []string
	// Logprobs optionally gives the tokens' log-probabilities, one per
	// token; by default they are deterministic values in (-5, 0].
	Logprobs []float64
	// Error, when set, makes the server answer with this error instead.
	Error *ErrorReply
}

// ErrorReply is an error answer in the OpenAI layout:
// {"error":{"message","type","param","code"}}.
type ErrorReply struct {
	// Status is the HTTP status (default 400).
	Status int
	// Message, Type and Code fill the error object. Code is written as a
	// string, or as the status number when empty.
	Message, Type, Code string
}

// completion is everything written in one chat completion body.
type completion struct {
	id           string
	model        string
	created      int64
	content      string
	contentNull  bool
	reasoning    string
	calls        []ToolCall
	finish       string
	tokens       []string
	logprobs     []float64 // nil: no logprobs written
	topLogprobs  int
	asTokenIDs   bool
	tokenIDs     []int32 // nil: no token_ids written
	promptIDs    []int32 // nil: no prompt_token_ids written
	promptTokens int
}

// appendCompletion writes c as a chat.completion body.
func appendCompletion(b []byte, c *completion) []byte {
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, c.id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = jsonw.AppendString(b, c.model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if c.contentNull {
		b = append(b, "null"...)
	} else {
		b = jsonw.AppendString(b, c.content)
	}
	if c.reasoning != "" {
		b = append(b, `,"reasoning":`...)
		b = jsonw.AppendString(b, c.reasoning)
	}
	if len(c.calls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range c.calls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = jsonw.AppendString(b, tc.ID)
			b = append(b, `,"type":`...)
			b = jsonw.AppendString(b, tc.Type)
			b = append(b, `,"function":{"name":`...)
			b = jsonw.AppendString(b, tc.Function.Name)
			b = append(b, `,"arguments":`...)
			b = jsonw.AppendString(b, tc.Function.Arguments)
			b = append(b, `}}`...)
		}
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":`...)
	if c.logprobs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"content":[`...)
		for i, tok := range c.tokens {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLogprob(b, c, i, tok, true)
		}
		b = append(b, `]}`...)
	}
	b = append(b, `,"finish_reason":`...)
	b = jsonw.AppendString(b, c.finish)
	b = append(b, `,"stop_reason":null`...)
	if c.tokenIDs != nil {
		b = append(b, `,"token_ids":`...)
		b = jsonw.AppendInts(b, c.tokenIDs)
	}
	b = append(b, `}],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(c.promptTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(c.promptTokens+len(c.tokens)), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(len(c.tokens)), 10)
	b = append(b, `,"prompt_tokens_details":null}`...)
	if c.promptIDs != nil {
		b = append(b, `,"prompt_token_ids":`...)
		b = jsonw.AppendInts(b, c.promptIDs)
	}
	return append(b, '}')
}

// appendLogprob writes the logprobs entry of token i; top says whether to
// write its top_logprobs list.
func appendLogprob(b []byte, c *completion, i int, tok string, top bool) []byte {
	text := tok
	if c.asTokenIDs {
		text = "token_id:" + strconv.Itoa(int(TokenID(tok)))
	}
	b = append(b, `{"token":`...)
	b = jsonw.AppendString(b, text)
	b = append(b, `,"logprob":`...)
	b, _ = jsonw.AppendFloat(b, c.logprobs[i]) // logprobs are checked finite
	b = append(b, `,"bytes":[`...)
	for j := 0; j < len(text); j++ {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(text[j]), 10)
	}
	b = append(b, ']')
	if top {
		b = append(b, `,"top_logprobs":[`...)
		for k := 0; k < c.topLogprobs; k++ {
			if k > 0 {
				b = append(b, ',')
			}
			if k == 0 {
				b = appendLogprob(b, c, i, tok, false)
				continue
			}
			alt := completion{logprobs: []float64{c.logprobs[i] - float64(k)}, asTokenIDs: c.asTokenIDs}
			b = appendLogprob(b, &alt, 0, "<alt"+strconv.Itoa(k)+">", false)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendError writes an OpenAI-style error body.
func appendError(b []byte, e *ErrorReply, status int) []byte {
	b = append(b, `{"error":{"message":`...)
	b = jsonw.AppendString(b, e.Message)
	b = append(b, `,"type":`...)
	b = jsonw.AppendString(b, e.Type)
	b = append(b, `,"param":null,"code":`...)
	if e.Code != "" {
		b = jsonw.AppendString(b, e.Code)
	} else {
		b = strconv.AppendInt(b, int64(status), 10)
	}
	return append(b, `}}`...)
}

// joinTokens concatenates tokens.
func joinTokens(toks []string) string { return strings.Join(toks, "") }
