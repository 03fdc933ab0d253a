package chatwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
)

// RequestOptions are the request fields a client sets beyond model.Request.
type RequestOptions struct {
	// TopLogprobs, when positive, is sent as top_logprobs.
	TopLogprobs int
	// ReturnTokenIDs sends vLLM's return_token_ids and
	// return_tokens_as_token_ids.
	ReturnTokenIDs bool
}

// AppendRequest appends the chat completion body of req for the model
// modelName, without reflection. It always asks for log-probabilities.
// Sampling.Extra is merged as top-level fields; a name the client also sets
// is sent once, with the Extra value. The errors (a message without a role,
// tool parameters that are not JSON, a NaN temperature) say what to fix.
func AppendRequest(b []byte, modelName string, req *model.Request, o RequestOptions) ([]byte, error) {
	s := &req.Sampling
	extra := s.Extra
	set := func(name string) bool { _, over := extra[name]; return !over }
	var err error

	b = append(b, '{')
	if set("model") {
		b = append(b, `"model":`...)
		b = AppendString(b, modelName)
		b = append(b, ',')
	}
	if set("messages") {
		b = append(b, `"messages":[`...)
		for i := range req.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendMessage(b, &req.Messages[i], i); err != nil {
				return b, err
			}
		}
		b = append(b, "],"...)
	}
	if len(req.Tools) > 0 && set("tools") {
		b = append(b, `"tools":[`...)
		for i := range req.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendTool(b, &req.Tools[i]); err != nil {
				return b, err
			}
		}
		b = append(b, "],"...)
	}
	if s.Temperature != nil && set("temperature") {
		b = append(b, `"temperature":`...)
		if b, err = AppendFloat(b, *s.Temperature); err != nil {
			return b, fmt.Errorf("openai: Sampling.Temperature: %w", err)
		}
		b = append(b, ',')
	}
	if s.TopP != nil && set("top_p") {
		b = append(b, `"top_p":`...)
		if b, err = AppendFloat(b, *s.TopP); err != nil {
			return b, fmt.Errorf("openai: Sampling.TopP: %w", err)
		}
		b = append(b, ',')
	}
	if s.MaxTokens > 0 && set("max_tokens") {
		b = append(b, `"max_tokens":`...)
		b = strconv.AppendInt(b, int64(s.MaxTokens), 10)
		b = append(b, ',')
	}
	if len(s.Stop) > 0 && set("stop") {
		b = append(b, `"stop":[`...)
		for i, st := range s.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, st)
		}
		b = append(b, "],"...)
	}
	if s.Seed != nil && set("seed") {
		b = append(b, `"seed":`...)
		b = strconv.AppendInt(b, *s.Seed, 10)
		b = append(b, ',')
	}
	if set("logprobs") {
		b = append(b, `"logprobs":true,`...)
	}
	if o.TopLogprobs > 0 && set("top_logprobs") {
		b = append(b, `"top_logprobs":`...)
		b = strconv.AppendInt(b, int64(o.TopLogprobs), 10)
		b = append(b, ',')
	}
	if o.ReturnTokenIDs {
		if set("return_token_ids") {
			b = append(b, `"return_token_ids":true,`...)
		}
		if set("return_tokens_as_token_ids") {
			b = append(b, `"return_tokens_as_token_ids":true,`...)
		}
	}
	if len(extra) > 0 {
		keys := make([]string, 0, len(extra))
		for k := range extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, err := json.Marshal(extra[k])
			if err != nil {
				return b, fmt.Errorf("openai: Sampling.Extra[%q]: %w", k, err)
			}
			b = AppendString(b, k)
			b = append(b, ':')
			b = append(b, v...)
			b = append(b, ',')
		}
	}
	if b[len(b)-1] == ',' {
		b = b[:len(b)-1]
	}
	return append(b, '}'), nil
}

// appendMessage writes one message in the OpenAI layout. Reasoning is not
// sent: OpenAI rejects unknown message fields, and chat templates drop
// earlier turns' reasoning anyway.
func appendMessage(b []byte, m *retrain.Message, i int) ([]byte, error) {
	if m.Role == "" {
		return b, fmt.Errorf("openai: message %d has no role; use system, user, assistant or tool", i)
	}
	b = append(b, `{"role":`...)
	b = AppendString(b, string(m.Role))
	b = append(b, `,"content":`...)
	if m.Content == "" && len(m.ToolCalls) > 0 {
		b = append(b, "null"...)
	} else {
		b = AppendString(b, m.Content)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = AppendString(b, tc.ID)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = AppendString(b, tc.Name)
			b = append(b, `,"arguments":`...)
			b = AppendString(b, ArgumentsText(tc.Arguments))
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = AppendString(b, m.ToolCallID)
	}
	if m.Name != "" {
		b = append(b, `,"name":`...)
		b = AppendString(b, m.Name)
	}
	return append(b, '}'), nil
}

// appendTool writes one tool in the OpenAI layout.
func appendTool(b []byte, t *retrain.ToolSpec) ([]byte, error) {
	b = append(b, `{"type":"function","function":{"name":`...)
	b = AppendString(b, t.Name)
	b = append(b, `,"description":`...)
	b = AppendString(b, t.Description)
	b = append(b, `,"parameters":`...)
	params := bytes.TrimSpace(t.Parameters)
	switch {
	case len(params) == 0:
		b = append(b, `{"type":"object","properties":{}}`...)
	case !json.Valid(params):
		return b, fmt.Errorf("openai: tool %q: Parameters is not valid JSON; it must be a JSON Schema object", t.Name)
	default:
		b = append(b, params...)
	}
	return append(b, "}}"...), nil
}
