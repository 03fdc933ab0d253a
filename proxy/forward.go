package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
)

// asked is what the agent asked for of what the proxy adds upstream: the
// reply's extra fields are removed unless the agent asked for them too.
type asked struct {
	logprobs     bool // logprobs: true
	tokenIDs     bool // return_token_ids: true
	includeUsage bool // stream_options.include_usage: true
}

// all reports whether the agent asked for everything the proxy adds, so
// the reply passes unchanged.
func (a asked) all() bool { return a.logprobs && a.tokenIDs && a.includeUsage }

// upstreamBody returns the body sent upstream for the agent's request:
// the agent's fields as sent, plus logprobs, vLLM's return_token_ids and,
// for a stream, stream_options.include_usage; the model replaced when
// Options.Model says so.
func (p *Proxy) upstreamBody(req *chatwire.Request) ([]byte, asked, error) {
	a := asked{logprobs: req.Logprobs, tokenIDs: req.ReturnTokenIDs, includeUsage: !req.Stream || req.IncludeUsage()}
	if req.StreamOptions == nil {
		// The usual case, on the bytes: the members the proxy sets are
		// cut out and written anew, the rest copied as sent.
		rule := func(key []byte) action {
			switch string(key) {
			case "logprobs", "return_token_ids", "stream_options":
				return drop
			case "model":
				if p.o.Model != "" {
					return drop
				}
			}
			return keep
		}
		raw := req.Raw
		if b, end, ok := stripObject(make([]byte, 0, len(raw)+96), raw, skipSpace(raw, 0), rule, nil); ok && skipSpace(raw, end) == len(raw) {
			b = b[:len(b)-1] // reopen the object
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(b, `"logprobs":true,"return_token_ids":true`...)
			if req.Stream {
				b = append(b, `,"stream_options":{"include_usage":true}`...)
			}
			if p.o.Model != "" {
				b = chatwire.AppendString(append(b, `,"model":`...), p.o.Model)
			}
			return append(b, '}'), a, nil
		}
	}
	fields, err := req.Fields()
	if err != nil {
		return nil, a, err
	}
	fields["logprobs"] = json.RawMessage("true")
	fields["return_token_ids"] = json.RawMessage("true")
	if req.Stream {
		so := map[string]json.RawMessage{}
		if raw, ok := fields["stream_options"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &so); err != nil {
				return nil, a, fmt.Errorf("stream_options must be an object: %v", err)
			}
		}
		so["include_usage"] = json.RawMessage("true")
		b, _ := json.Marshal(so) // raw values, decoded above
		fields["stream_options"] = b
	}
	if p.o.Model != "" {
		fields["model"], _ = json.Marshal(p.o.Model) // a string
	}
	b, err := json.Marshal(fields)
	return b, a, err
}

// chat serves one chat call of session id.
func (p *Proxy) chat(w http.ResponseWriter, r *http.Request, id string) {
	began := time.Now()
	s, status, err := p.open(id)
	if err != nil {
		writeError(w, status, err.Error(), "")
		return
	}
	n, err := s.begin(p.o.MaxCalls)
	if err != nil {
		writeError(w, http.StatusTooManyRequests, err.Error(), "RateLimitError")
		return
	}
	rec := &call{n: n, began: began, s: s}
	defer p.finish(rec)

	body, err := io.ReadAll(r.Body)
	if err != nil {
		rec.fail(retrain.CauseCanceled, 0, "reading the agent's request: %v", err)
		return
	}
	req, err := chatwire.Decode(body)
	if err != nil {
		rec.fail(retrain.CauseEnvironment, http.StatusBadRequest, "invalid request body: %v", err)
		p.answerFailure(w, rec, http.StatusBadRequest, "")
		return
	}
	if len(req.Messages) == 0 {
		rec.fail(retrain.CauseEnvironment, http.StatusBadRequest, "the field \"messages\" must hold at least one message")
		p.answerFailure(w, rec, http.StatusBadRequest, "")
		return
	}
	rec.req = req
	up, a, err := p.upstreamBody(req)
	if err != nil {
		rec.fail(retrain.CauseEnvironment, http.StatusBadRequest, "invalid request body: %v", err)
		p.answerFailure(w, rec, http.StatusBadRequest, "")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), p.o.CallTimeout)
	defer cancel()
	ureq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.upstream.String()+"/chat/completions", bytes.NewReader(up))
	if err != nil {
		rec.fail(retrain.CauseModel, http.StatusInternalServerError, "%v", err)
		p.answerFailure(w, rec, http.StatusInternalServerError, "InternalServerError")
		return
	}
	ureq.Header.Set("Content-Type", "application/json")
	if req.Stream {
		ureq.Header.Set("Accept", "text/event-stream")
	}
	p.authorize(ureq)
	sent := time.Now()
	resp, err := p.client.Do(ureq)
	if err != nil {
		p.upstreamFailed(w, r, ctx, rec, err)
		return
	}
	defer resp.Body.Close()
	rec.headers = time.Since(sent)
	if resp.StatusCode != http.StatusOK {
		// The upstream's refusal (a prompt over the context, an unknown
		// model, overload) is the agent's answer, as sent.
		b, _ := readLimited(resp.Body, 1<<20)
		rec.fail(retrain.CauseModel, resp.StatusCode, "the upstream answered %d: %s", resp.StatusCode, upstreamMessage(b))
		p.finish(rec)
		copyHeader(w.Header(), resp.Header, "Content-Type", "Retry-After")
		w.WriteHeader(resp.StatusCode)
		w.Write(b) //nolint:errcheck // the agent went away
		return
	}
	rec.sent = sent
	if req.Stream && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		p.stream(w, r, ctx, resp, rec, a)
	} else {
		p.plain(w, r, ctx, resp, rec, a)
	}
}

// answerFailure records the call's failure, then answers the agent with
// it, so that a session the agent ends right after holds it.
func (p *Proxy) answerFailure(w http.ResponseWriter, rec *call, status int, typ string) {
	p.finish(rec)
	writeError(w, status, rec.failure.Error, typ)
}

// upstreamFailed answers a call the upstream did not answer: 504 past the
// call timeout, 502 otherwise; nothing when the agent went away.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, r *http.Request, ctx context.Context, rec *call, err error) {
	switch {
	case r.Context().Err() != nil:
		rec.fail(retrain.CauseCanceled, 0, "the agent went away before the upstream answered")
	case ctx.Err() != nil:
		rec.fail(retrain.CauseTimeout, http.StatusGatewayTimeout, "the upstream did not answer within %s (--call-timeout)", p.o.CallTimeout)
		p.answerFailure(w, rec, http.StatusGatewayTimeout, "APITimeoutError")
	default:
		rec.fail(retrain.CauseModel, http.StatusBadGateway, "the upstream server did not answer: %s", redact(err))
		p.answerFailure(w, rec, http.StatusBadGateway, "APIConnectionError")
	}
}

// plain relays a whole reply.
func (p *Proxy) plain(w http.ResponseWriter, r *http.Request, ctx context.Context, resp *http.Response, rec *call, a asked) {
	body, err := readLimited(resp.Body, p.o.MaxReplyBytes)
	if err != nil {
		p.upstreamFailed(w, r, ctx, rec, err)
		return
	}
	reply, err := chatwire.DecodeReply(body)
	if err != nil || len(reply.Choices) == 0 {
		msg := "no choices"
		if err != nil {
			msg = err.Error()
		}
		rec.fail(retrain.CauseModel, http.StatusBadGateway, "the upstream's reply is not a chat completion (%s): %.200s", msg, body)
		p.answerFailure(w, rec, http.StatusBadGateway, "APIError")
		return
	}
	out := body
	if !a.all() {
		if s, ok := stripFast(make([]byte, 0, len(body)), body, a, false); ok {
			out = s
		}
	}
	// Recorded before the agent has it: a session the agent ends right
	// after holds every reply it got.
	rec.reply = reply
	rec.upstream = time.Since(rec.sent)
	p.finish(rec)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out) //nolint:errcheck // recorded; the agent went away
}

// stream relays a streamed reply event by event, each flushed to the agent
// as it arrives from the upstream, and merges the chunks for the record.
func (p *Proxy) stream(w http.ResponseWriter, r *http.Request, ctx context.Context, resp *http.Response, rec *call, a asked) {
	copyHeader(w.Header(), resp.Header, "Content-Type", "Cache-Control")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	br := streamReaders.Get().(*bufio.Reader)
	br.Reset(resp.Body)
	defer func() {
		br.Reset(nil) // nothing read from it outlives the call: lines are copied
		streamReaders.Put(br)
	}()
	var merger chatwire.Merger
	var line, scratch []byte
	chunks, done := 0, false
	pending := false // written to the agent, not flushed
	for !done {
		// What was written is flushed before a read that could wait: a
		// whole line already received is relayed first, so a burst of
		// events goes out in one write, and nothing waits for more.
		if pending && !lineBuffered(br) {
			if err := rc.Flush(); err != nil {
				rec.fail(retrain.CauseCanceled, 0, "the agent went away after %d chunks of the stream", chunks)
				return
			}
			pending = false
		}
		var err error
		line, err = readLine(br, line[:0], p.o.MaxReplyBytes)
		if err != nil {
			if r.Context().Err() != nil {
				rec.fail(retrain.CauseCanceled, 0, "the agent went away after %d chunks of the stream", chunks)
			} else if ctx.Err() != nil {
				rec.fail(retrain.CauseTimeout, 0, "the stream did not end within %s (--call-timeout), after %d chunks", p.o.CallTimeout, chunks)
			} else {
				rec.fail(retrain.CauseModel, 0, "the upstream's stream broke after %d chunks, before [DONE]: %s", chunks, redact(err))
			}
			return
		}
		out := line
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			c, err := chatwire.DecodeEvent(data)
			switch {
			case errors.Is(err, chatwire.ErrDone):
				done = true
				// Recorded before the agent sees the end of the stream.
				reply := merger.Reply()
				if len(reply.Choices) == 0 {
					rec.fail(retrain.CauseModel, 0, "the upstream's stream had no choices")
				} else {
					rec.reply = reply
					rec.upstream = time.Since(rec.sent)
				}
				p.finish(rec)
			case err != nil:
				rec.fail(retrain.CauseModel, 0, "the upstream sent an event that is not a chunk: %v: %.200s", err, data)
				return
			default:
				if chunks == 0 {
					rec.first = time.Since(rec.began)
				}
				chunks++
				merger.Add(c)
				if !a.all() {
					if len(c.Choices) == 0 && c.Usage != nil && !a.includeUsage {
						out = nil // the usage chunk only the proxy asked for
					} else if s, ok := stripFast(append(scratch[:0], "data: "...), bytes.TrimSpace(data), a, true); ok {
						scratch = append(s, '\n')
						out = scratch
					}
				}
			}
		}
		if out == nil {
			continue // the blank line after it ends an empty event, which SSE readers skip
		}
		if _, err := w.Write(out); err != nil {
			rec.fail(retrain.CauseCanceled, 0, "the agent went away after %d chunks of the stream", chunks)
			return
		}
		pending = true
	}
	// The blank line after [DONE].
	if rest, _ := br.Peek(1); len(rest) == 1 && rest[0] == '\n' {
		w.Write([]byte("\n")) //nolint:errcheck // ending anyway
	}
	rc.Flush() //nolint:errcheck // ending anyway
}

// streamReaders keeps the 32 KiB readers of streams, a stream's largest
// allocation, for the next ones.
var streamReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

// lineBuffered reports whether br holds a whole line already.
func lineBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// readLine appends the next line of br to b, its "\n" included; a line
// longer than max is an error, and so is the end of the body.
func readLine(br *bufio.Reader, b []byte, max int64) ([]byte, error) {
	for {
		part, err := br.ReadSlice('\n')
		b = append(b, part...)
		if int64(len(b)) > max {
			return b, fmt.Errorf("an event is longer than %d bytes", max)
		}
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return b, err
		}
	}
}

// readLimited reads all of r, up to max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the upstream's reply is longer than %d bytes", max)
	}
	return b, nil
}

// upstreamMessage is the message of an OpenAI-style error body, or the
// body's start.
func upstreamMessage(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// redact is err's message without the upstream's URL (the operator's,
// not the agent's business).
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func copyHeader(dst, src http.Header, names ...string) {
	for _, n := range names {
		if v := src.Get(n); v != "" {
			dst.Set(n, v)
		}
	}
}
