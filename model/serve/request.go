package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
)

// chatRequest is a decoded chat completion request.
type chatRequest struct {
	Model                  string        `json:"model"`
	Messages               []wireMessage `json:"messages"`
	Tools                  []wireTool    `json:"tools"`
	Temperature            *float64      `json:"temperature"`
	TopP                   *float64      `json:"top_p"`
	MaxTokens              *int          `json:"max_tokens"`
	MaxCompletionTokens    *int          `json:"max_completion_tokens"`
	Stop                   stopList      `json:"stop"`
	Seed                   *int64        `json:"seed"`
	Logprobs               bool          `json:"logprobs"`
	TopLogprobs            int           `json:"top_logprobs"`
	N                      *int          `json:"n"`
	Stream                 bool          `json:"stream"`
	ReturnTokenIDs         bool          `json:"return_token_ids"`
	ReturnTokensAsTokenIDs bool          `json:"return_tokens_as_token_ids"`

	extra map[string]any
}

// known are the request fields chatRequest models; others go to
// Sampling.Extra.
var known = map[string]bool{
	"model": true, "messages": true, "tools": true, "temperature": true, "top_p": true,
	"max_tokens": true, "max_completion_tokens": true, "stop": true, "seed": true,
	"logprobs": true, "top_logprobs": true, "n": true, "stream": true,
	"return_token_ids": true, "return_tokens_as_token_ids": true,
	"tool_choice": true, "user": true,
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    messageContent `json:"content"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
	Name       string         `json:"name,omitempty"`
}

type wireToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// messageContent is a message's content: a string, null, or an array of
// parts whose text parts are joined.
type messageContent string

func (c *messageContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*c = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = messageContent(s)
		return nil
	case len(b) > 0 && b[0] == '[':
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
		*c = messageContent(s)
		return nil
	}
	return errors.New("content must be a string, null or an array of parts")
}

// stopList is the stop field: a string or an array of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
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
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// decodeRequest decodes and checks a request body; the error says what is
// wrong, for a 400 answer.
func decodeRequest(body []byte) (*chatRequest, error) {
	var r chatRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("invalid request body: %v", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, fmt.Errorf("invalid request body: %v", err)
	}
	for k, v := range all {
		if known[k] {
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
	switch {
	case r.Model == "":
		return nil, errors.New("the field \"model\" is required")
	case len(r.Messages) == 0:
		return nil, errors.New("the field \"messages\" must hold at least one message")
	case r.Temperature != nil && *r.Temperature < 0:
		return nil, fmt.Errorf("temperature %g must not be negative", *r.Temperature)
	case r.TopP != nil && (*r.TopP <= 0 || *r.TopP > 1):
		return nil, fmt.Errorf("top_p %g must be in (0, 1]", *r.TopP)
	case r.MaxTokens != nil && *r.MaxTokens < 1, r.MaxCompletionTokens != nil && *r.MaxCompletionTokens < 1:
		return nil, errors.New("max_tokens must be at least 1")
	}
	for i, m := range r.Messages {
		switch m.Role {
		case retrain.RoleSystem, retrain.RoleUser, retrain.RoleAssistant, retrain.RoleTool, "developer":
		default:
			return nil, fmt.Errorf("messages[%d]: role %q is not one of system, developer, user, assistant, tool", i, m.Role)
		}
	}
	return &r, nil
}

// unsupported names a requested feature the server lacks, or "".
func (r *chatRequest) unsupported() string {
	switch {
	case r.Stream:
		return "stream=true is not supported by this server; send stream=false"
	case r.N != nil && *r.N != 1:
		return fmt.Sprintf("n=%d is not supported by this server; send one request per sample", *r.N)
	case r.TopLogprobs > 0:
		return "top_logprobs is not supported by this server; leave it out (logprobs=true gives the sampled tokens' log-probabilities)"
	}
	return ""
}

// modelRequest converts r to the model's request.
func (r *chatRequest) modelRequest() model.Request {
	req := model.Request{Messages: make([]retrain.Message, len(r.Messages))}
	for i, m := range r.Messages {
		role := m.Role
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
	switch {
	case r.MaxCompletionTokens != nil:
		s.MaxTokens = *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		s.MaxTokens = *r.MaxTokens
	}
	s.Stop = r.Stop
	s.Extra = r.extra
	return req
}

// The response body.
type chatResponse struct {
	ID             string   `json:"id"`
	Object         string   `json:"object"`
	Created        int64    `json:"created"`
	Model          string   `json:"model"`
	Choices        []choice `json:"choices"`
	Usage          usage    `json:"usage"`
	PromptTokenIDs []int32  `json:"prompt_token_ids,omitempty"`
}

type choice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	Logprobs     *logprobs       `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
	StopReason   *string         `json:"stop_reason"`
	TokenIDs     []int32         `json:"token_ids,omitempty"`
}

type responseMessage struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	ReasoningContent *string        `json:"reasoning_content,omitempty"`
	ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
}

type logprobs struct {
	Content []tokenLogprob `json:"content"`
}

type tokenLogprob struct {
	Token       string         `json:"token"`
	Logprob     float64        `json:"logprob"`
	Bytes       []int          `json:"bytes"`
	TopLogprobs []tokenLogprob `json:"top_logprobs,omitempty"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}
