package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/internal/jsonw"
)

// appendRequest writes the chat completion body of req. Sampling.Extra is
// merged as top-level fields; a name the client also sets is sent once,
// with the Extra value.
func (c *Client) appendRequest(b []byte, modelName string, req *model.Request) ([]byte, error) {
	s := &req.Sampling
	extra := s.Extra
	set := func(name string) bool { _, over := extra[name]; return !over }
	var err error

	b = append(b, '{')
	if set("model") {
		b = append(b, `"model":`...)
		b = jsonw.AppendString(b, modelName)
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
		if b, err = jsonw.AppendFloat(b, *s.Temperature); err != nil {
			return b, fmt.Errorf("openai: Sampling.Temperature: %w", err)
		}
		b = append(b, ',')
	}
	if s.TopP != nil && set("top_p") {
		b = append(b, `"top_p":`...)
		if b, err = jsonw.AppendFloat(b, *s.TopP); err != nil {
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
			b = jsonw.AppendString(b, st)
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
	if c.opts.TopLogprobs > 0 && set("top_logprobs") {
		b = append(b, `"top_logprobs":`...)
		b = strconv.AppendInt(b, int64(c.opts.TopLogprobs), 10)
		b = append(b, ',')
	}
	if c.opts.ReturnTokenIDs {
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
			b = jsonw.AppendString(b, k)
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
	b = jsonw.AppendString(b, string(m.Role))
	b = append(b, `,"content":`...)
	if m.Content == "" && len(m.ToolCalls) > 0 {
		b = append(b, "null"...)
	} else {
		b = jsonw.AppendString(b, m.Content)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = jsonw.AppendString(b, tc.ID)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = jsonw.AppendString(b, tc.Name)
			b = append(b, `,"arguments":`...)
			b = jsonw.AppendString(b, argumentsText(tc.Arguments))
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = jsonw.AppendString(b, m.ToolCallID)
	}
	if m.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonw.AppendString(b, m.Name)
	}
	return append(b, '}'), nil
}

// argumentsText is the wire form of a tool call's arguments: the JSON text,
// "{}" when empty, and the string itself when Arguments is a JSON string
// (how the client keeps arguments that were not valid JSON; see
// parseArguments), so they round-trip unchanged.
func argumentsText(args json.RawMessage) string {
	args = bytes.TrimSpace(args)
	switch {
	case len(args) == 0:
		return "{}"
	case args[0] == '"':
		var s string
		if json.Unmarshal(args, &s) == nil {
			return s
		}
	}
	return string(args)
}

// appendTool writes one tool in the OpenAI layout.
func appendTool(b []byte, t *retrain.ToolSpec) ([]byte, error) {
	b = append(b, `{"type":"function","function":{"name":`...)
	b = jsonw.AppendString(b, t.Name)
	b = append(b, `,"description":`...)
	b = jsonw.AppendString(b, t.Description)
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

// body is a pooled request body shared by the attempts of one request. Each
// reader handed to the transport holds a reference, released when the
// transport closes it (which may happen after Do returns).
type body struct {
	buf  []byte
	refs atomic.Int32
}

// bodyPool holds bodies for reuse. A new body starts empty and grows to
// the size of what is written into it: a body is held for as long as its
// request is in flight, so with thousands of requests in flight a fixed
// head start (8 KiB) would cost more memory than the requests themselves.
var bodyPool = sync.Pool{New: func() any { return &body{} }}

// newBody returns an empty body holding the caller's reference.
func newBody() *body {
	bd := bodyPool.Get().(*body)
	bd.buf = bd.buf[:0]
	bd.refs.Store(1)
	return bd
}

// release drops a reference; the last returns the body to the pool.
func (bd *body) release() {
	if bd.refs.Add(-1) == 0 {
		if cap(bd.buf) <= 1<<20 {
			bodyPool.Put(bd)
		}
	}
}

// reader returns a new reader over the body, holding a reference.
func (bd *body) reader() *bodyReader {
	bd.refs.Add(1)
	r := &bodyReader{bd: bd}
	r.Reset(bd.buf)
	return r
}

// bodyReader reads a body and releases its reference on the first Close.
type bodyReader struct {
	bytes.Reader
	bd   *body
	once sync.Once
}

// Close releases the reader's reference to the body.
func (r *bodyReader) Close() error {
	r.once.Do(r.bd.release)
	return nil
}
