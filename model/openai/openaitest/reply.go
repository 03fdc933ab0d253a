package openaitest

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain/internal/chatwire"
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

// scratch is the reply body built for one request, pooled so that a
// reply's entries are not allocated anew each time.
type scratch struct {
	reply  chatwire.Reply
	choice [1]chatwire.Choice
	lp     chatwire.Logprobs
	top    [][]chatwire.TokenLogprob
	usage  chatwire.Usage
	arena  []byte // the "token_id:N" placeholders, back to back
	ends   []int  // where each placeholder ends in arena
}

// rawNull is vLLM's prompt_tokens_details.
var rawNull = json.RawMessage("null")

// appendCompletion writes c as a chat.completion body; sc is reused.
func appendCompletion(b []byte, c *completion, sc *scratch) []byte {
	fillReply(c, sc)
	b, _ = chatwire.AppendReply(b, &sc.reply) // logprobs are checked finite
	sc.release()
	return b
}

// release drops sc's references to the last reply's strings.
func (sc *scratch) release() {
	clear(sc.lp.Content)
	clear(sc.top)
}

// fillReply builds c's chat.completion in sc.reply; call sc.release when
// done with it.
func fillReply(c *completion, sc *scratch) {
	ch := &sc.choice[0]
	*ch = chatwire.Choice{
		Message:      chatwire.ReplyMessage{Role: "assistant", Content: &c.content, ToolCalls: c.calls},
		FinishReason: c.finish,
		TokenIDs:     c.tokenIDs,
	}
	if c.contentNull {
		ch.Message.Content = nil
	}
	if c.reasoning != "" {
		ch.Message.Reasoning = &c.reasoning
	}
	if c.logprobs != nil {
		var placeholders string // every token's "token_id:N", one allocation
		var ends []int
		if c.asTokenIDs {
			arena := sc.arena[:0]
			ends = sc.ends[:0]
			for _, tok := range c.tokens {
				arena = chatwire.AppendTokenID(arena, TokenID(tok))
				ends = append(ends, len(arena))
			}
			placeholders = string(arena)
			sc.arena, sc.ends = arena, ends
		}
		entries := sc.lp.Content[:0]
		top := sc.top[:0]
		for i, tok := range c.tokens {
			e := chatwire.TokenLogprob{Token: tok, Logprob: c.logprobs[i]}
			if c.asTokenIDs {
				start := 0
				if i > 0 {
					start = ends[i-1]
				}
				e.Token = placeholders[start:ends[i]]
			}
			entries = append(entries, e)
			var alts []chatwire.TokenLogprob // none asked: written as []
			if c.topLogprobs > 0 {
				alts = make([]chatwire.TokenLogprob, c.topLogprobs)
				alts[0] = e
				for k := 1; k < c.topLogprobs; k++ {
					alt := "<alt" + strconv.Itoa(k) + ">"
					if c.asTokenIDs {
						alt = chatwire.FormatTokenID(TokenID(alt))
					}
					alts[k] = chatwire.TokenLogprob{Token: alt, Logprob: c.logprobs[i] - float64(k)}
				}
			}
			top = append(top, alts)
		}
		sc.lp = chatwire.Logprobs{Content: entries, Top: top}
		sc.top = top
		ch.Logprobs = &sc.lp
	}
	completionTokens := len(c.tokens)
	sc.usage = chatwire.Usage{PromptTokens: c.promptTokens, TotalTokens: c.promptTokens + completionTokens, CompletionTokens: completionTokens, PromptTokensDetails: rawNull}
	sc.reply = chatwire.Reply{
		ID:             c.id,
		Object:         "chat.completion",
		Created:        c.created,
		Model:          c.model,
		Choices:        sc.choice[:],
		Usage:          &sc.usage,
		PromptTokenIDs: c.promptIDs,
	}
}

// appendError writes an OpenAI-style error body.
func appendError(b []byte, e *ErrorReply, status int) []byte {
	return chatwire.AppendError(b, e.Message, e.Type, e.Code, status)
}

// joinTokens concatenates tokens.
func joinTokens(toks []string) string { return strings.Join(toks, "") }
