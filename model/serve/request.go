package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
	"github.com/retrain-rl/retrain/model"
)

// chatRequest is a decoded chat completion request: the shared decoding,
// plus the fields this server reads that the shared one leaves out.
type chatRequest struct {
	*chatwire.Request

	n     *int
	extra map[string]any
}

// ownFields are the request fields this server models beyond the shared
// decoding: n it checks, tool_choice and user it accepts and ignores. None of
// them goes to Sampling.Extra.
var ownFields = map[string]bool{"n": true, "tool_choice": true, "user": true}

// decodeRequest decodes and checks a request body, max_tokens up to
// tokenLimit; the error says what is wrong, for a 400 answer.
func decodeRequest(body []byte, tokenLimit int) (*chatRequest, error) {
	w, err := chatwire.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("invalid request body: %v", err)
	}
	fields, err := w.Fields()
	if err != nil {
		return nil, fmt.Errorf("invalid request body: %v", err)
	}
	r := &chatRequest{Request: w}
	for k, v := range fields {
		if chatwire.Modeled(k) || ownFields[k] {
			continue
		}
		var x any
		if json.Unmarshal(v, &x) == nil {
			if r.extra == nil {
				r.extra = map[string]any{}
			}
			r.extra[k] = x
		}
	}
	// n is this server's; the token limits were decoded by the shared
	// decoding, but here absent and null are told apart from zero.
	var maxTokens, maxCompletionTokens *int
	for _, f := range []struct {
		name string
		to   **int
	}{{"n", &r.n}, {"max_tokens", &maxTokens}, {"max_completion_tokens", &maxCompletionTokens}} {
		if v, ok := fields[f.name]; ok {
			if err := json.Unmarshal(v, f.to); err != nil {
				return nil, fmt.Errorf("invalid request body: %s must be an integer, got %.20s", f.name, v)
			}
		}
	}
	switch {
	case r.Model == "":
		return nil, errors.New("the field \"model\" is required")
	case len(r.Messages) == 0:
		return nil, errors.New("the field \"messages\" must hold at least one message")
	}
	if err := checkNumbers(r, maxTokens, maxCompletionTokens, tokenLimit); err != nil {
		return nil, err
	}
	for i, m := range r.Messages {
		switch retrain.Role(m.Role) {
		case retrain.RoleSystem, retrain.RoleUser, retrain.RoleAssistant, retrain.RoleTool, "developer":
		default:
			return nil, fmt.Errorf("messages[%d]: role %q is not one of system, developer, user, assistant, tool", i, m.Role)
		}
	}
	return r, nil
}

// MaxTemperature is the highest temperature a request may ask for, as in
// OpenAI's API.
const MaxTemperature = 2

// checkNumbers checks every number of a request that sampling uses against
// its allowed range (NaN and infinities cannot be decoded from JSON); the
// error says the allowed range.
func checkNumbers(r *chatRequest, maxTokens, maxCompletionTokens *int, tokenLimit int) error {
	type bound struct {
		name     string
		v        float64
		set      bool
		min, max float64
		openMin  bool
	}
	var temp, topP float64
	if r.Temperature != nil {
		temp = *r.Temperature
	}
	if r.TopP != nil {
		topP = *r.TopP
	}
	bounds := []bound{
		{name: "temperature", v: temp, set: r.Temperature != nil, min: 0, max: MaxTemperature},
		{name: "top_p", v: topP, set: r.TopP != nil, min: 0, max: 1, openMin: true},
	}
	for _, t := range []struct {
		name string
		v    *int
	}{{"max_tokens", maxTokens}, {"max_completion_tokens", maxCompletionTokens}} {
		if t.v != nil && (*t.v < 1 || *t.v > tokenLimit) {
			return fmt.Errorf("%s is %d; the allowed range is [1, %d]", t.name, *t.v, tokenLimit)
		}
	}
	for _, b := range bounds {
		if !b.set {
			continue
		}
		if b.v < b.min || (b.openMin && b.v == b.min) || b.v > b.max || math.IsNaN(b.v) || math.IsInf(b.v, 0) {
			open := "["
			if b.openMin {
				open = "("
			}
			return fmt.Errorf("%s is %g; the allowed range is %s%g, %g]", b.name, b.v, open, b.min, b.max)
		}
	}
	return nil
}

// unsupported names a requested feature the server lacks, or "".
func (r *chatRequest) unsupported() string {
	switch {
	case r.n != nil && *r.n != 1:
		return fmt.Sprintf("n=%d is not supported by this server; send one request per sample", *r.n)
	case r.TopLogprobs > 0:
		return "top_logprobs is not supported by this server; leave it out (logprobs=true gives the sampled tokens' log-probabilities)"
	}
	return ""
}

// modelRequest converts r to the model's request.
func (r *chatRequest) modelRequest() model.Request {
	req := model.Request{Messages: make([]retrain.Message, len(r.Messages))}
	for i, m := range r.Messages {
		role := retrain.Role(m.Role)
		if role == "developer" {
			role = retrain.RoleSystem
		}
		msg := retrain.Message{Role: role, Content: string(m.Content), ToolCallID: m.ToolCallID, Name: m.Name}
		for _, tc := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, retrain.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: json.RawMessage(tc.Function.Arguments)})
		}
		req.Messages[i] = msg
	}
	for _, t := range r.Tools {
		req.Tools = append(req.Tools, retrain.ToolSpec{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	s := &req.Sampling
	s.Temperature, s.TopP, s.Seed = r.Temperature, r.TopP, r.Seed
	s.MaxTokens = r.MaxTokens // max_completion_tokens when sent, else max_tokens
	s.Stop = r.Stop
	s.Extra = r.extra
	return req
}
