package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
)

// chatResponse is the part of a chat completion body the client reads.
type chatResponse struct {
	Choices []choice `json:"choices"`
	Usage   *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	// PromptTokenIDs is where vLLM puts the prompt's ids (return_token_ids).
	PromptTokenIDs idList `json:"prompt_token_ids"`
	// Error is set by servers that report errors with status 200.
	Error json.RawMessage `json:"error"`
}

type choice struct {
	Message struct {
		Content          *string        `json:"content"`
		ReasoningContent *string        `json:"reasoning_content"`
		Reasoning        *string        `json:"reasoning"`
		ToolCalls        []wireToolCall `json:"tool_calls"`
	} `json:"message"`
	Logprobs *struct {
		Content []struct {
			Token   string  `json:"token"`
			Logprob float64 `json:"logprob"`
		} `json:"content"`
	} `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
	// TokenIDs are the completion's ids (vLLM's return_token_ids).
	TokenIDs idList `json:"token_ids"`
	// PromptTokenIDs is accepted on the choice too, as some servers put it
	// there.
	PromptTokenIDs idList `json:"prompt_token_ids"`
}

type wireToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// parseCompletion decodes a chat completion body. A body that is not valid
// JSON returns a *json.SyntaxError (or another encoding/json error); valid
// JSON that is not a completion returns errWrongShape.
func parseCompletion(data []byte) (model.Completion, error) {
	var r chatResponse
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
			c.ToolCalls[i] = retrain.ToolCall{ID: id, Name: tc.Function.Name, Arguments: parseArguments(tc.Function.Arguments)}
		}
	}
	if ch.FinishReason != nil {
		c.FinishReason = *ch.FinishReason
	}
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
// Text is nil.
func tokens(ch *choice) *retrain.Tokens {
	var lp []float64
	var texts []string
	var placeholderIDs []int32
	if ch.Logprobs != nil && len(ch.Logprobs.Content) > 0 {
		content := ch.Logprobs.Content
		n := len(content)
		lp = make([]float64, n)
		texts = make([]string, n)
		known := 0
		for i, e := range content {
			lp[i] = e.Logprob
			if id, ok := placeholderID(e.Token); ok {
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
	return &retrain.Tokens{IDs: ids, Text: texts, Logprobs: lp}
}

// placeholderID parses vLLM's "token_id:N"; N must fit in an int32.
func placeholderID(tok string) (int32, bool) {
	rest, ok := strings.CutPrefix(tok, "token_id:")
	if !ok || rest == "" {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || id < 0 {
		return 0, false
	}
	return int32(id), true
}

// parseArguments turns the wire arguments of a tool call into JSON: the
// string's JSON text when it holds valid JSON other than a string, {} when
// it is empty or null, an object as is (some servers send objects), and
// otherwise (invalid JSON, or a JSON string) the text itself as a JSON string
// value, so that nothing the model wrote is lost (argumentsText sends it back
// unchanged).
func parseArguments(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}")
	}
	if raw[0] != '"' {
		return raw
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw
	}
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return json.RawMessage("{}")
	case t[0] != '"' && json.Valid([]byte(t)):
		return json.RawMessage(t)
	}
	return raw
}
