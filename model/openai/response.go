package openai

import (
	"encoding/json"
	"strconv"

	"github.com/retrain-rl/retrain/internal/chatwire"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
)

// parseCompletion decodes a chat completion body. A body that is not valid
// JSON returns a *json.SyntaxError (or another encoding/json error); valid
// JSON that is not a completion returns errWrongShape.
func parseCompletion(data []byte) (model.Completion, error) {
	var r chatwire.Reply
	if err := json.Unmarshal(data, &r); err != nil {
		return model.Completion{}, err
	}
	if len(r.Choices) == 0 {
		return model.Completion{}, errWrongShape
	}
	ch := &r.Choices[0]
	var c model.Completion
	if m := &ch.Message; m.Content != nil {
		c.Text = *m.Content
	}
	switch m := &ch.Message; {
	case m.Reasoning != nil:
		c.Reasoning = *m.Reasoning
	case m.ReasoningContent != nil:
		c.Reasoning = *m.ReasoningContent
	}
	if n := len(ch.Message.ToolCalls); n > 0 {
		c.ToolCalls = make([]retrain.ToolCall, n)
		for i, tc := range ch.Message.ToolCalls {
			id := tc.ID
			if id == "" {
				id = "call_" + strconv.Itoa(i)
			}
			c.ToolCalls[i] = retrain.ToolCall{ID: id, Name: tc.Function.Name, Arguments: chatwire.ArgumentsJSON(tc.Function.Arguments)}
		}
	}
	c.FinishReason = ch.FinishReason
	if r.Usage != nil {
		c.Usage = model.Usage{PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens}
	}
	c.PromptTokenIDs = r.PromptTokenIDs
	if c.PromptTokenIDs == nil {
		c.PromptTokenIDs = ch.PromptTokenIDs
	}
	c.Tokens = tokens(ch)
	return c, nil
}

// tokens assembles the parallel token arrays of a choice. Ids come from the
// choice's token_ids when they match the log-probabilities one for one, else
// from "token_id:N" logprob tokens (vLLM's return_tokens_as_token_ids). A
// "token_id:N" token's text is unknown and left empty (vLLM's "bytes" are
// those of the placeholder, so they do not help); when every token is one,
// Text is nil. Bytes is set when some entry's "bytes" are not valid UTF-8 on
// their own (OpenAI's byte-fallback tokens, retrain serve-model's byte
// tokens): then each token's bytes are its entry's bytes, or its text's.
// vLLM derives "bytes" from the token's text after decoding, U+FFFD
// included, so it never sets them: its ids are the exact record.
func tokens(ch *chatwire.Choice) *retrain.Tokens {
	var lp []float64
	var texts []string
	var placeholderIDs []int32
	var raw [][]byte
	if ch.Logprobs != nil && len(ch.Logprobs.Content) > 0 {
		content := ch.Logprobs.Content
		n := len(content)
		lp = make([]float64, n)
		texts = make([]string, n)
		known := 0
		for i, e := range content {
			if e.Bytes != nil && raw == nil {
				raw = make([][]byte, n)
				for j := range i {
					raw[j] = []byte(content[j].Token)
				}
			}
			if raw != nil {
				if e.Bytes != nil {
					raw[i] = e.Bytes
				} else {
					raw[i] = []byte(e.Token)
				}
			}
			lp[i] = e.Logprob
			if id, ok := chatwire.ParseTokenID(e.Token); ok {
				if placeholderIDs == nil {
					placeholderIDs = make([]int32, n)
					for j := range placeholderIDs {
						placeholderIDs[j] = -1
					}
				}
				placeholderIDs[i] = id
				continue
			}
			texts[i] = e.Token
			known++
		}
		if known == 0 {
			texts = nil
		}
		if known < n {
			raw = nil // a placeholder's bytes are not the token's: the bytes are not all known
		}
		if known > 0 && placeholderIDs != nil {
			placeholderIDs = nil // ids for only some tokens are no use
		}
	}
	ids := []int32(ch.TokenIDs)
	switch {
	case lp == nil && len(ids) == 0:
		return nil
	case lp == nil:
		return &retrain.Tokens{IDs: ids}
	case len(ids) != len(lp):
		ids = placeholderIDs
	}
	return &retrain.Tokens{IDs: ids, Text: texts, Logprobs: lp, Bytes: raw}
}
