package chatwire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// A streamed reply is one chunk per token, and a proxy decodes each (see
// package proxy), so [DecodeEvent] and [DecodeReply] decode the usual chunk
// and reply by hand, without reflection: exact keys, each once, values of
// the fields' types, strings unescaped by encoding/json only when they hold
// escapes. Anything else (another key spelling that encoding/json would
// match, a duplicate key, a null element, a number out of range, deep
// nesting, invalid JSON) makes them give up, and encoding/json decodes it
// as before; so the result is always encoding/json's, which
// FuzzDecodeChunkFast and FuzzDecodeReplyFast check.

// fastDec walks the JSON bytes b from i.
type fastDec struct {
	b     []byte
	i     int
	depth int
}

// maxFastDepth bounds the nesting of skipped values; deeper ones go to
// encoding/json.
const maxFastDepth = 64

// decodeChunkFast decodes data, a whole JSON value, into c (zero); false
// when it gave up, c then partly set.
func decodeChunkFast(data []byte, c *Chunk) bool {
	d := &fastDec{b: data}
	d.ws()
	if !d.chunk(c) {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}

func (d *fastDec) ws() {
	for d.i < len(d.b) && isSpace(d.b[d.i]) {
		d.i++
	}
}

// peek is the next byte, or 0 at the end.
func (d *fastDec) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// null consumes a null and reports whether there was one.
func (d *fastDec) null() bool {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// object walks the members of an object, calling member with each key (its
// raw bytes, without escapes) when the value starts at d.i; member
// consumes the value, or returns false to give up.
func (d *fastDec) object(member func(key []byte) bool) bool {
	if d.peek() != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.peek() == '}' {
		d.i++
		return true
	}
	for {
		if d.peek() != '"' {
			return false
		}
		ks := d.i + 1
		ke := ks
		for ke < len(d.b) && d.b[ke] != '"' {
			if c := d.b[ke]; c == '\\' || c < 0x20 || c >= 0x80 {
				return false // an escaped or non-ASCII key: encoding/json decides
			}
			ke++
		}
		if ke >= len(d.b) {
			return false
		}
		d.i = ke + 1
		d.ws()
		if d.peek() != ':' {
			return false
		}
		d.i++
		d.ws()
		if !member(d.b[ks:ke]) {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// array walks the elements of an array, calling elem when one starts at
// d.i; elem consumes it, or returns false to give up. empty reports an
// empty array.
func (d *fastDec) array(elem func() bool) (empty, ok bool) {
	if d.peek() != '[' {
		return false, false
	}
	d.i++
	d.ws()
	if d.peek() == ']' {
		d.i++
		return true, true
	}
	for {
		if !elem() {
			return false, false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
		case ']':
			d.i++
			return false, true
		default:
			return false, false
		}
	}
}

// unknown skips the value of a key the type does not have, giving up when
// encoding/json would match the key to one of known anyway (it ignores
// case).
func (d *fastDec) unknown(key []byte, known ...string) bool {
	for _, k := range known {
		if bytes.EqualFold(key, []byte(k)) {
			return false
		}
	}
	return d.skip()
}

// skip consumes any valid JSON value.
func (d *fastDec) skip() bool {
	switch c := d.peek(); {
	case c == '{':
		if d.depth++; d.depth > maxFastDepth {
			return false
		}
		ok := d.object(func([]byte) bool { return d.skip() })
		d.depth--
		return ok
	case c == '[':
		if d.depth++; d.depth > maxFastDepth {
			return false
		}
		_, ok := d.array(d.skip)
		d.depth--
		return ok
	case c == '"':
		_, _, ok := d.rawString()
		return ok
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.null()
	default:
		_, ok := d.number()
		return ok
	}
}

func (d *fastDec) literal(s string) bool {
	if bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		d.i += len(s)
		return true
	}
	return false
}

// rawString consumes a string and returns it with its quotes, and whether
// it needs unescaping (escapes or bytes that are not UTF-8).
func (d *fastDec) rawString() (raw []byte, slow, ok bool) {
	if d.peek() != '"' {
		return nil, false, false
	}
	s := d.i
	ascii := true
	for i := s + 1; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			d.i = i + 1
			raw = d.b[s:d.i]
			if !slow && !ascii && !utf8.Valid(raw) {
				slow = true
			}
			return raw, slow, true
		case c == '\\':
			slow = true
			i++
			if i >= len(d.b) || !validEscape(d.b, i) {
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false, false
}

// validEscape reports whether b[i] (after a backslash) starts a valid escape.
func validEscape(b []byte, i int) bool {
	switch b[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if i+4 >= len(b) {
			return false
		}
		for _, h := range b[i+1 : i+5] {
			if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
				return false
			}
		}
		return true
	}
	return false
}

// str consumes a string value.
func (d *fastDec) str() (string, bool) {
	raw, slow, ok := d.rawString()
	if !ok {
		return "", false
	}
	if !slow {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// strField consumes a string or null (which leaves *s, as encoding/json).
func (d *fastDec) strField(s *string) bool {
	if d.null() {
		return true
	}
	v, ok := d.str()
	*s = v
	return ok
}

// strPtr consumes a string or null.
func (d *fastDec) strPtr(s **string) bool {
	if d.null() {
		*s = nil
		return true
	}
	v, ok := d.str()
	*s = &v
	return ok
}

// number consumes a number in JSON's grammar and returns its text.
func (d *fastDec) number() ([]byte, bool) {
	b, s := d.b, d.i
	i := s
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		ds := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == ds {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		ds := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == ds {
			return nil, false
		}
	}
	d.i = i
	return b[s:i], true
}

// intField consumes an integer that fits in bits, or null (which leaves *v).
func (d *fastDec) intField(v *int64, bits int) bool {
	if d.null() {
		return true
	}
	n, ok := d.number()
	if !ok {
		return false
	}
	x, err := strconv.ParseInt(string(n), 10, bits)
	if err != nil {
		return false // a fraction, an exponent, out of range: encoding/json says which
	}
	*v = x
	return true
}

func (d *fastDec) intOf(v *int) bool {
	x := int64(*v)
	if !d.intField(&x, strconv.IntSize) {
		return false
	}
	*v = int(x)
	return true
}

// floatField consumes a number, or null (which leaves *v).
func (d *fastDec) floatField(v *float64) bool {
	if d.null() {
		return true
	}
	n, ok := d.number()
	if !ok {
		return false
	}
	x, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return false
	}
	*v = x
	return true
}

// raw consumes any value and returns its bytes.
func (d *fastDec) raw() ([]byte, bool) {
	s := d.i
	if !d.skip() {
		return nil, false
	}
	return d.b[s:d.i], true
}

// unmarshaler consumes any value and hands its bytes to u, as
// encoding/json does for a type with an UnmarshalJSON method.
func (d *fastDec) unmarshaler(u json.Unmarshaler) bool {
	b, ok := d.raw()
	return ok && u.UnmarshalJSON(b) == nil
}

// rawMessage consumes any value into m, null included, as encoding/json.
func (d *fastDec) rawMessage(m *json.RawMessage) bool {
	b, ok := d.raw()
	*m = append(json.RawMessage(nil), b...)
	return ok
}

// once marks key bit k of seen, false when it was marked already (a
// duplicate key, which encoding/json merges).
func once(seen *uint32, k int) bool {
	if *seen&(1<<k) != 0 {
		return false
	}
	*seen |= 1 << k
	return true
}

func (d *fastDec) chunk(c *Chunk) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return once(&seen, 0) && d.strField(&c.ID)
		case "object":
			return once(&seen, 1) && d.strField(&c.Object)
		case "created":
			return once(&seen, 2) && d.intField(&c.Created, 64)
		case "model":
			return once(&seen, 3) && d.strField(&c.Model)
		case "choices":
			return once(&seen, 4) && list(d, &c.Choices, (*fastDec).chunkChoice)
		case "usage":
			return once(&seen, 5) && optional(d, &c.Usage, (*fastDec).usage)
		case "prompt_token_ids":
			return once(&seen, 6) && d.unmarshaler(&c.PromptTokenIDs)
		}
		return d.unknown(key, "id", "object", "created", "model", "choices", "usage", "prompt_token_ids")
	})
}

func (d *fastDec) chunkChoice(ch *ChunkChoice) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			return once(&seen, 0) && d.intOf(&ch.Index)
		case "delta":
			return once(&seen, 1) && (d.null() || d.delta(&ch.Delta))
		case "logprobs":
			return once(&seen, 2) && optional(d, &ch.Logprobs, (*fastDec).logprobs)
		case "finish_reason":
			return once(&seen, 3) && d.strPtr(&ch.FinishReason)
		case "stop_reason":
			return once(&seen, 4) && d.rawMessage(&ch.StopReason)
		case "token_ids":
			return once(&seen, 5) && d.unmarshaler(&ch.TokenIDs)
		}
		return d.unknown(key, "index", "delta", "logprobs", "finish_reason", "stop_reason", "token_ids")
	})
}

func (d *fastDec) delta(dl *Delta) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "role":
			return once(&seen, 0) && d.strField(&dl.Role)
		case "content":
			return once(&seen, 1) && d.strPtr(&dl.Content)
		case "reasoning":
			return once(&seen, 2) && d.strPtr(&dl.Reasoning)
		case "reasoning_content":
			return once(&seen, 3) && d.strPtr(&dl.ReasoningContent)
		case "tool_calls":
			return once(&seen, 4) && list(d, &dl.ToolCalls, (*fastDec).toolCallDelta)
		}
		return d.unknown(key, "role", "content", "reasoning", "reasoning_content", "tool_calls")
	})
}

func (d *fastDec) toolCallDelta(t *ToolCallDelta) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			return once(&seen, 0) && d.intOf(&t.Index)
		case "id":
			return once(&seen, 1) && d.strField(&t.ID)
		case "type":
			return once(&seen, 2) && d.strField(&t.Type)
		case "function":
			if !once(&seen, 3) {
				return false
			}
			if d.null() {
				return true
			}
			var fseen uint32
			return d.object(func(key []byte) bool {
				switch string(key) {
				case "name":
					return once(&fseen, 0) && d.strField(&t.Function.Name)
				case "arguments":
					return once(&fseen, 1) && d.strField(&t.Function.Arguments)
				}
				return d.unknown(key, "name", "arguments")
			})
		}
		return d.unknown(key, "index", "id", "type", "function")
	})
}

func (d *fastDec) logprobs(l *Logprobs) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		if string(key) != "content" {
			return d.unknown(key, "content")
		}
		return once(&seen, 0) && list(d, &l.Content, (*fastDec).tokenLogprob)
	})
}

func (d *fastDec) tokenLogprob(e *TokenLogprob) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "token":
			return once(&seen, 0) && d.strField(&e.Token)
		case "logprob":
			return once(&seen, 1) && d.floatField(&e.Logprob)
		case "bytes":
			return once(&seen, 2) && d.unmarshaler(&e.Bytes)
		}
		return d.unknown(key, "token", "logprob", "bytes")
	})
}

func (d *fastDec) usage(u *Usage) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "prompt_tokens":
			return once(&seen, 0) && d.intOf(&u.PromptTokens)
		case "total_tokens":
			return once(&seen, 1) && d.intOf(&u.TotalTokens)
		case "completion_tokens":
			return once(&seen, 2) && d.intOf(&u.CompletionTokens)
		case "prompt_tokens_details":
			return once(&seen, 3) && d.rawMessage(&u.PromptTokensDetails)
		}
		return d.unknown(key, "prompt_tokens", "total_tokens", "completion_tokens", "prompt_tokens_details")
	})
}

// DecodeReply decodes a chat completion body as json.Unmarshal into a
// [Reply] does, error included, several times faster for the usual reply
// (its log-probabilities are most of it), by the same hand decoder as
// [DecodeEvent]'s.
func DecodeReply(body []byte) (*Reply, error) {
	r := &Reply{}
	d := &fastDec{b: body}
	d.ws()
	if d.reply(r) {
		if d.ws(); d.i == len(d.b) {
			return r, nil
		}
	}
	*r = Reply{}
	if err := json.Unmarshal(body, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (d *fastDec) reply(r *Reply) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return once(&seen, 0) && d.strField(&r.ID)
		case "object":
			return once(&seen, 1) && d.strField(&r.Object)
		case "created":
			return once(&seen, 2) && d.intField(&r.Created, 64)
		case "model":
			return once(&seen, 3) && d.strField(&r.Model)
		case "choices":
			return once(&seen, 4) && list(d, &r.Choices, (*fastDec).choice)
		case "usage":
			return once(&seen, 5) && optional(d, &r.Usage, (*fastDec).usage)
		case "prompt_token_ids":
			return once(&seen, 6) && d.unmarshaler(&r.PromptTokenIDs)
		case "error":
			return once(&seen, 7) && d.rawMessage(&r.Error)
		}
		return d.unknown(key, "id", "object", "created", "model", "choices", "usage", "prompt_token_ids", "error")
	})
}

func (d *fastDec) choice(ch *Choice) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			return once(&seen, 0) && d.intOf(&ch.Index)
		case "message":
			return once(&seen, 1) && (d.null() || d.replyMessage(&ch.Message))
		case "logprobs":
			return once(&seen, 2) && optional(d, &ch.Logprobs, (*fastDec).logprobs)
		case "finish_reason":
			return once(&seen, 3) && d.strField(&ch.FinishReason)
		case "stop_reason":
			return once(&seen, 4) && d.rawMessage(&ch.StopReason)
		case "token_ids":
			return once(&seen, 5) && d.unmarshaler(&ch.TokenIDs)
		case "prompt_token_ids":
			return once(&seen, 6) && d.unmarshaler(&ch.PromptTokenIDs)
		}
		return d.unknown(key, "index", "message", "logprobs", "finish_reason", "stop_reason", "token_ids", "prompt_token_ids")
	})
}

func (d *fastDec) replyMessage(m *ReplyMessage) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "role":
			return once(&seen, 0) && d.strField(&m.Role)
		case "content":
			return once(&seen, 1) && d.strPtr(&m.Content)
		case "reasoning":
			return once(&seen, 2) && d.strPtr(&m.Reasoning)
		case "reasoning_content":
			return once(&seen, 3) && d.strPtr(&m.ReasoningContent)
		case "tool_calls":
			return once(&seen, 4) && list(d, &m.ToolCalls, (*fastDec).toolCall)
		}
		return d.unknown(key, "role", "content", "reasoning", "reasoning_content", "tool_calls")
	})
}

func (d *fastDec) toolCall(t *ToolCall) bool {
	var seen uint32
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return once(&seen, 0) && d.strField(&t.ID)
		case "type":
			return once(&seen, 1) && d.strField(&t.Type)
		case "function":
			return once(&seen, 2) && d.unmarshaler(&t.Function)
		}
		return d.unknown(key, "id", "type", "function")
	})
}

// list decodes a JSON array (or null, which leaves *dst nil) into *dst, each
// element with each; an empty array gives an empty, non-nil slice, as
// encoding/json does.
func list[T any](d *fastDec, dst *[]T, each func(*fastDec, *T) bool) bool {
	if d.null() {
		return true
	}
	empty, ok := d.array(func() bool {
		*dst = append(*dst, *new(T))
		return each(d, &(*dst)[len(*dst)-1])
	})
	if empty {
		*dst = []T{}
	}
	return ok
}

// optional decodes a JSON object (or null, which leaves *dst nil) into a
// new *dst with each.
func optional[T any](d *fastDec, dst **T, each func(*fastDec, *T) bool) bool {
	if d.null() {
		return true
	}
	*dst = new(T)
	return each(d, *dst)
}
