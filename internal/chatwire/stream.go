package chatwire

import (
	"io"
	"net/http"
	"strings"
)

// StreamOptions is a request's stream_options.
type StreamOptions struct {
	// IncludeUsage asks for a last chunk, before [DoneEvent], whose choices
	// are empty and whose usage counts the whole request.
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// ReplyChunks returns the chunks that stream r, a whole reply, in OpenAI's
// order: a first chunk with the role (and vLLM's prompt_token_ids), the
// reasoning, the content, one chunk per tool call, a last chunk with the
// finish reason and, with includeUsage, a chunk with empty choices and the
// usage. Each chunk's object is "chat.completion.chunk" and its id, created
// and model are r's.
//
// pieces, when given, are the completion's tokens as text: when they join
// to the content and there is one per log-probability entry and token id,
// the content is streamed one token a chunk, each with its entry and id, as
// a server streams while it generates. Otherwise the content is one chunk,
// and the log-probability entries and token ids not yet sent go with the
// last delta chunk.
func ReplyChunks(r *Reply, pieces []string, includeUsage bool) []Chunk {
	head := func() Chunk {
		return Chunk{ID: r.ID, Object: "chat.completion.chunk", Created: r.Created, Model: r.Model}
	}
	var out []Chunk
	for ci := range r.Choices {
		c := &r.Choices[ci]
		m := &c.Message
		role := m.Role
		if role == "" {
			role = "assistant"
		}
		first := head()
		if ci == 0 {
			first.PromptTokenIDs = r.PromptTokenIDs
		}
		first.Choices = []ChunkChoice{{Index: c.Index, Delta: Delta{Role: role}}}
		if m.Content != nil {
			empty := ""
			first.Choices[0].Delta.Content = &empty
		}
		out = append(out, first)
		delta := func(d Delta) *ChunkChoice {
			ch := head()
			ch.Choices = []ChunkChoice{{Index: c.Index, Delta: d}}
			out = append(out, ch)
			return &out[len(out)-1].Choices[0]
		}
		if m.Reasoning != nil {
			delta(Delta{Reasoning: m.Reasoning})
		}
		if m.ReasoningContent != nil {
			delta(Delta{ReasoningContent: m.ReasoningContent})
		}
		var entries []TokenLogprob
		if c.Logprobs != nil {
			entries = c.Logprobs.Content
		}
		ids := c.TokenIDs
		content := ""
		if m.Content != nil {
			content = *m.Content
		}
		var last *ChunkChoice
		perToken := len(pieces) > 0 && strings.Join(pieces, "") == content &&
			(c.Logprobs == nil || len(entries) == len(pieces)) && (ids == nil || len(ids) == len(pieces))
		if perToken {
			for i, p := range pieces {
				last = delta(Delta{Content: &p})
				if c.Logprobs != nil {
					last.Logprobs = &Logprobs{Content: entries[i : i+1 : i+1]}
				}
				if ids != nil {
					last.TokenIDs = ids[i : i+1 : i+1]
				}
			}
			entries, ids = nil, nil
		} else if content != "" {
			last = delta(Delta{Content: &content})
		}
		for i, tc := range m.ToolCalls {
			last = delta(Delta{ToolCalls: []ToolCallDelta{{Index: i, ID: tc.ID, Type: tc.Type,
				Function: FunctionCallDelta{Name: tc.Function.Name, Arguments: tc.Function.Arguments}}}})
		}
		if len(entries) > 0 || len(ids) > 0 {
			if last == nil {
				last = delta(Delta{})
			}
			if len(entries) > 0 {
				last.Logprobs = &Logprobs{Content: entries}
			}
			if len(ids) > 0 {
				last.TokenIDs = ids
			}
		}
		finish := c.FinishReason
		end := head()
		end.Choices = []ChunkChoice{{Index: c.Index, Delta: Delta{}, FinishReason: &finish, StopReason: c.StopReason}}
		out = append(out, end)
	}
	if includeUsage && r.Usage != nil {
		u := *r.Usage
		ch := head()
		ch.Choices = []ChunkChoice{}
		ch.Usage = &u
		out = append(out, ch)
	}
	return out
}

// Merger puts a streamed reply back together from its chunks: the content,
// reasoning and tool-call arguments joined, the log-probability entries and
// token ids concatenated, the finish reason, the usage and vLLM's
// prompt_token_ids kept. The zero value is ready to use; it is not safe for
// concurrent use.
type Merger struct {
	r       Reply
	content []*strings.Builder
	reason  []*strings.Builder
	rc      []*strings.Builder
	hasText []bool
	args    [][]*strings.Builder
}

// Add merges one chunk.
func (m *Merger) Add(c *Chunk) {
	if m.r.ID == "" {
		m.r.ID, m.r.Object, m.r.Created, m.r.Model = c.ID, "chat.completion", c.Created, c.Model
	}
	if c.PromptTokenIDs != nil {
		m.r.PromptTokenIDs = append(m.r.PromptTokenIDs, c.PromptTokenIDs...)
	}
	if c.Usage != nil {
		u := *c.Usage
		m.r.Usage = &u
	}
	for i := range c.Choices {
		cc := &c.Choices[i]
		k := m.choice(cc.Index)
		ch := &m.r.Choices[k]
		d := &cc.Delta
		if d.Role != "" {
			ch.Message.Role = d.Role
		}
		if d.Content != nil {
			m.content[k].WriteString(*d.Content)
			m.hasText[k] = true
		}
		if d.Reasoning != nil {
			m.reason[k].WriteString(*d.Reasoning)
			if ch.Message.Reasoning == nil {
				ch.Message.Reasoning = new(string)
			}
		}
		if d.ReasoningContent != nil {
			m.rc[k].WriteString(*d.ReasoningContent)
			if ch.Message.ReasoningContent == nil {
				ch.Message.ReasoningContent = new(string)
			}
		}
		for _, td := range d.ToolCalls {
			for len(ch.Message.ToolCalls) <= td.Index && td.Index < maxToolCalls {
				ch.Message.ToolCalls = append(ch.Message.ToolCalls, ToolCall{})
				m.args[k] = append(m.args[k], &strings.Builder{})
			}
			if td.Index < 0 || td.Index >= len(ch.Message.ToolCalls) {
				continue
			}
			tc := &ch.Message.ToolCalls[td.Index]
			if td.ID != "" {
				tc.ID = td.ID
			}
			if td.Type != "" {
				tc.Type = td.Type
			}
			tc.Function.Name += td.Function.Name
			m.args[k][td.Index].WriteString(td.Function.Arguments)
		}
		if cc.Logprobs != nil {
			if ch.Logprobs == nil {
				ch.Logprobs = &Logprobs{}
			}
			ch.Logprobs.Content = append(ch.Logprobs.Content, cc.Logprobs.Content...)
		}
		if cc.TokenIDs != nil {
			ch.TokenIDs = append(ch.TokenIDs, cc.TokenIDs...)
		}
		if cc.FinishReason != nil {
			ch.FinishReason = *cc.FinishReason
		}
		if cc.StopReason != nil {
			ch.StopReason = cc.StopReason
		}
	}
}

// maxToolCalls bounds the tool calls of a merged choice: a chunk naming
// call 1e9 must not make the merger allocate a billion.
const maxToolCalls = 1024

func (m *Merger) choice(index int) int {
	for k := range m.r.Choices {
		if m.r.Choices[k].Index == index {
			return k
		}
	}
	m.r.Choices = append(m.r.Choices, Choice{Index: index})
	m.content = append(m.content, &strings.Builder{})
	m.reason = append(m.reason, &strings.Builder{})
	m.rc = append(m.rc, &strings.Builder{})
	m.hasText = append(m.hasText, false)
	m.args = append(m.args, nil)
	return len(m.r.Choices) - 1
}

// Reply returns the reply merged so far. Content is nil when no chunk had
// any (a reply of tool calls only).
func (m *Merger) Reply() *Reply {
	r := m.r
	r.Choices = make([]Choice, len(m.r.Choices))
	copy(r.Choices, m.r.Choices)
	for k := range r.Choices {
		msg := &r.Choices[k].Message
		if m.hasText[k] {
			s := m.content[k].String()
			msg.Content = &s
		}
		if msg.Reasoning != nil {
			s := m.reason[k].String()
			msg.Reasoning = &s
		}
		if msg.ReasoningContent != nil {
			s := m.rc[k].String()
			msg.ReasoningContent = &s
		}
		if len(msg.ToolCalls) > 0 {
			calls := make([]ToolCall, len(msg.ToolCalls))
			copy(calls, msg.ToolCalls)
			for i := range calls {
				calls[i].Function.Arguments = m.args[k][i].String()
			}
			msg.ToolCalls = calls
		}
	}
	return &r
}

// IncludeUsage reports whether a streamed request asked for the usage chunk
// (stream_options.include_usage).
func (r *Request) IncludeUsage() bool { return r.StreamOptions != nil && r.StreamOptions.IncludeUsage }

// WriteStream answers a streamed request with chunks: status 200,
// Content-Type text/event-stream, each chunk one event flushed as it is
// written, then [DoneEvent]. A chunk that cannot be encoded (a NaN
// log-probability) ends the stream with an error event in the OpenAI
// layout, as vLLM does. The error is the client's going away, or that one.
func WriteStream(w http.ResponseWriter, chunks []Chunk) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var b []byte
	for i := range chunks {
		var err error
		if b, err = AppendEvent(b[:0], &chunks[i]); err != nil {
			b = append(AppendError(append(b[:0], eventPrefix...), err.Error(), "InternalServerError", "", http.StatusInternalServerError), "\n\n"...)
			w.Write(b) //nolint:errcheck // ending anyway
			rc.Flush() //nolint:errcheck // ending anyway
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, DoneEvent); err != nil {
		return err
	}
	return rc.Flush()
}
