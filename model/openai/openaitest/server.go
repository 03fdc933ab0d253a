// Package openaitest is a fake OpenAI-compatible inference server for tests
// and benchmarks, modelled on net/http/httptest. It speaks the real wire
// format of POST /v1/chat/completions and GET /v1/models, including
// log-probabilities, native tool calls, vLLM's token-id extensions
// (return_token_ids, return_tokens_as_token_ids), streaming ("stream": true:
// server-sent events in OpenAI's chunk format, one token a chunk, a usage
// chunk when stream_options.include_usage asks) and OpenAI-style errors,
// and it can inject failures (5xx, 429 with Retry-After, hangs, malformed
// bodies, dropped connections).
//
//	srv := openaitest.NewServer(&openaitest.Options{
//		Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
//			return openaitest.Reply{Content: "4"}
//		},
//	})
//	defer srv.Close()
//	client, err := openai.New(&openai.Options{BaseURL: srv.URL, Model: "fake-model"})
//
// Replies are deterministic: the same request gets the same tokens, token
// ids and log-probabilities. Token ids come from a fake tokenizer whose
// prompts are prefix-stable (see [IDImStart]).
package openaitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retrain-rl/retrain/internal/chatwire"
)

// DefaultModel is the model served when Options.Models is empty.
const DefaultModel = "fake-model"

// Options configure a Server. The zero value serves DefaultModel with echo
// replies.
type Options struct {
	// Models are the served model ids (default [DefaultModel]). A request
	// for another model gets 404 with code "model_not_found".
	Models []string
	// Responder decides each reply from the request. It is called
	// concurrently. It wins over Script.
	Responder func(req *ChatRequest) Reply
	// Script gives replies in order of the requests that get past failure
	// injection. When it is exhausted the server answers 500, unless
	// CycleScript is set.
	Script []Reply
	// CycleScript starts Script over when it is exhausted.
	CycleScript bool
	// LogprobTokens, when positive, splits every reply without explicit
	// Tokens into exactly this many tokens (see Reply.Tokens), and makes
	// the default echo reply long enough to fill them with about four
	// characters each.
	LogprobTokens int
	// Latency is added to every chat completion.
	Latency time.Duration
	// Failures injects failures.
	Failures FailurePlan
	// MaxContext, when positive, is the context length in fake tokens: a
	// prompt longer than this, or whose max_tokens would not fit after it,
	// gets vLLM's 400 error "This model's maximum context length is ...".
	MaxContext int
	// APIKey, when set, is required as "Authorization: Bearer APIKey";
	// other requests get 401 as from vLLM's --api-key.
	APIKey string
	// IgnoreLogprobs makes the server behave like one without log-probability
	// support: "logprobs" is always null.
	IgnoreLogprobs bool
	// IgnoreTokenIDs makes the server behave like one without vLLM's
	// extensions (Ollama, llama.cpp, SGLang's OpenAI API): return_token_ids
	// and return_tokens_as_token_ids are ignored.
	IgnoreTokenIDs bool
	// Record keeps every decoded chat request for [Server.Recorded].
	Record bool
}

// Server is a running fake server. Close it when done.
type Server struct {
	// URL is the base URL of the API, ending in /v1, e.g.
	// http://127.0.0.1:34567/v1.
	URL string

	opts     Options
	ln       net.Listener
	srv      *http.Server
	fail     *failures
	done     chan struct{}
	modelsJS []byte

	mu       sync.Mutex
	closed   bool
	handlers sync.WaitGroup
	recorded []*ChatRequest

	requests  atomic.Int64
	inflight  atomic.Int64
	peak      atomic.Int64
	scriptPos atomic.Int64

	// generated remembers the ids of replies whose tokens cannot be derived
	// again from their text (explicit splits, truncation), so that prompts
	// containing them tokenize consistently.
	genMu     sync.Mutex
	generated map[string][]int32

	bufs sync.Pool
	// scratches holds *scratch for building replies.
	scratches sync.Pool
}

// NewServer starts a server on 127.0.0.1 with a random port. It panics if it
// cannot listen or opts are invalid, as httptest.NewServer does.
func NewServer(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Models) == 0 {
		o.Models = []string{DefaultModel}
	}
	o.Models = slices.Clone(o.Models)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("openaitest: listen on 127.0.0.1: %v", err))
	}
	s := &Server{
		URL:       "http://" + ln.Addr().String() + "/v1",
		opts:      o,
		ln:        ln,
		fail:      newFailures(o.Failures),
		done:      make(chan struct{}),
		generated: map[string][]int32{},
	}
	s.modelsJS = modelsBody(o.Models)
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s
}

// Close shuts the server down, closing all connections, and waits for
// running handlers (including hanging ones) to return.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.srv.Close()
	s.handlers.Wait()
}

// Requests returns the number of chat completion requests received,
// failed ones included.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// MaxConcurrent returns the largest number of chat completion requests that
// were being handled at the same time.
func (s *Server) MaxConcurrent() int { return int(s.peak.Load()) }

// Recorded returns the decoded chat requests received so far, in order of
// arrival, when Options.Record is set. Requests that failed before decoding
// (dropped, timed out, 5xx, 429) are not included.
func (s *Server) Recorded() []*ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recorded)
}

// ServeHTTP serves the API; it is exported so the server can be mounted in
// another mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()

	switch r.URL.Path {
	case "/v1/chat/completions":
		if r.Method != http.MethodPost {
			s.writeError(w, http.StatusMethodNotAllowed, &ErrorReply{Message: "Method Not Allowed", Type: "MethodNotAllowed"})
			return
		}
		s.chat(w, r)
	case "/v1/models":
		if !s.authorized(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.modelsJS) //nolint:errcheck // the client went away
	case "/health":
		w.WriteHeader(http.StatusOK)
	default:
		// FastAPI's answer, as from vLLM.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"detail":"Not Found"}`) //nolint:errcheck // the client went away
	}
}

func modelsBody(models []string) []byte {
	type entry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []entry `json:"data"`
	}{Object: "list"}
	for _, m := range models {
		list.Data = append(list.Data, entry{ID: m, Object: "model", OwnedBy: "openaitest"})
	}
	b, _ := json.Marshal(list) // plain strings
	return b
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.APIKey == "" || r.Header.Get("Authorization") == "Bearer "+s.opts.APIKey {
		return true
	}
	// vLLM's --api-key middleware answers with a bare string.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `{"error":"Unauthorized"}`) //nolint:errcheck // the client went away
	return false
}

// chat answers one chat completion request.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1) - 1
	cur := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		p := s.peak.Load()
		if cur <= p || s.peak.CompareAndSwap(p, cur) {
			break
		}
	}

	body, err := readBody(r)
	if err != nil {
		return // the client went away
	}
	if !s.authorized(w, r) {
		return
	}
	if s.injectFailure(w, r, s.fail.forRequest(n, body)) {
		return
	}
	req, err := chatwire.Decode(body)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, &ErrorReply{Message: "invalid request body: " + err.Error(), Type: "BadRequestError"})
		return
	}
	if s.opts.Record {
		s.mu.Lock()
		s.recorded = append(s.recorded, req)
		s.mu.Unlock()
	}
	if !slices.Contains(s.opts.Models, req.Model) {
		s.writeError(w, http.StatusNotFound, &ErrorReply{
			Message: fmt.Sprintf("The model `%s` does not exist.", req.Model),
			Type:    "NotFoundError",
			Code:    "model_not_found",
		})
		return
	}
	if len(req.Messages) == 0 {
		s.writeError(w, http.StatusBadRequest, &ErrorReply{Message: "messages must not be empty", Type: "BadRequestError"})
		return
	}

	withIDs := req.ReturnTokenIDs && !s.opts.IgnoreTokenIDs
	prompt := idSink{keep: withIDs}
	renderPrompt(req, &prompt, s.assistantIDs)
	if mc := s.opts.MaxContext; mc > 0 && (prompt.n > mc || prompt.n+req.MaxTokens > mc) {
		s.writeError(w, http.StatusBadRequest, &ErrorReply{
			Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
				mc, prompt.n+req.MaxTokens, prompt.n, req.MaxTokens),
			Type: "BadRequestError",
		})
		return
	}

	reply, ok := s.reply(req)
	if !ok {
		s.writeError(w, http.StatusInternalServerError, &ErrorReply{
			Message: fmt.Sprintf("openaitest: Script exhausted after %d replies", len(s.opts.Script)),
			Type:    "InternalServerError",
		})
		return
	}
	if reply.Error != nil {
		st := reply.Error.Status
		if st == 0 {
			st = http.StatusBadRequest
		}
		s.writeError(w, st, reply.Error)
		return
	}
	if !s.wait(r, s.opts.Latency) {
		return
	}

	c, err := s.complete(req, &reply, n)
	if err != nil {
		s.writeError(w, http.StatusInternalServerError, &ErrorReply{Message: err.Error(), Type: "InternalServerError"})
		return
	}
	if withIDs {
		c.promptIDs = prompt.ids
		if c.promptIDs == nil {
			c.promptIDs = []int32{}
		}
	}
	c.promptTokens = prompt.n
	sc, _ := s.scratches.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if req.Stream {
		fillReply(c, sc)
		chatwire.WriteStream(w, chatwire.ReplyChunks(&sc.reply, c.tokens, req.IncludeUsage())) //nolint:errcheck // the client went away
		sc.release()
		s.scratches.Put(sc)
		return
	}
	bp := s.buffer()
	*bp = appendCompletion((*bp)[:0], c, sc)
	s.scratches.Put(sc)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(*bp)))
	w.Write(*bp) //nolint:errcheck // the client went away
	s.bufs.Put(bp)
}

// complete builds the completion for reply.
func (s *Server) complete(req *ChatRequest, reply *Reply, n int64) (*completion, error) {
	calls := slices.Clone(reply.ToolCalls)
	for i := range calls {
		if calls[i].ID == "" {
			calls[i].ID = "call_" + strconv.FormatInt(n, 10) + "_" + strconv.Itoa(i)
		}
		if calls[i].Type == "" {
			calls[i].Type = "function"
		}
	}
	text := generatedText(reply.Content, calls)
	c := &completion{
		id:         "chatcmpl-openaitest-" + strconv.FormatInt(n, 10),
		model:      req.Model,
		created:    time.Now().Unix(),
		content:    reply.Content,
		reasoning:  reply.Reasoning,
		calls:      calls,
		finish:     reply.FinishReason,
		asTokenIDs: req.ReturnTokensAsTokenIDs && !s.opts.IgnoreTokenIDs,
	}
	derived := len(reply.Tokens) == 0
	if derived {
		c.tokens = splitReply(text, s.opts.LogprobTokens)
	} else {
		c.tokens = reply.Tokens
	}
	if reply.Logprobs != nil && len(reply.Logprobs) != len(c.tokens) {
		return nil, fmt.Errorf("openaitest: Reply has %d Logprobs for %d tokens", len(reply.Logprobs), len(c.tokens))
	}
	if req.MaxTokens > 0 && len(c.tokens) > req.MaxTokens {
		c.tokens = c.tokens[:req.MaxTokens]
		c.content = joinTokens(c.tokens)
		c.calls = nil
		c.finish = "length"
		derived = false
	}
	if c.finish == "" {
		c.finish = "stop"
		if len(c.calls) > 0 {
			c.finish = "tool_calls"
		}
	}
	c.contentNull = c.content == "" && len(c.calls) > 0
	if req.Logprobs && !s.opts.IgnoreLogprobs {
		c.topLogprobs = req.TopLogprobs
		c.logprobs = make([]float64, len(c.tokens))
		for i, tok := range c.tokens {
			if reply.Logprobs != nil {
				c.logprobs[i] = reply.Logprobs[i]
				if math.IsNaN(c.logprobs[i]) || math.IsInf(c.logprobs[i], 0) {
					return nil, fmt.Errorf("openaitest: Reply.Logprobs[%d] is %v, not a JSON number", i, c.logprobs[i])
				}
			} else {
				c.logprobs[i] = fakeLogprob(tok, i)
			}
		}
	}
	withIDs := req.ReturnTokenIDs && !s.opts.IgnoreTokenIDs
	if withIDs || !derived {
		ids := make([]int32, len(c.tokens))
		for i, tok := range c.tokens {
			ids[i] = TokenID(tok)
		}
		if withIDs {
			c.tokenIDs = ids
		}
		if !derived {
			s.remember(generatedText(c.content, c.calls), ids)
		}
	}
	return c, nil
}

// maxGenerated bounds the memory of non-derivable replies.
const maxGenerated = 8192

func (s *Server) remember(text string, ids []int32) {
	s.genMu.Lock()
	if len(s.generated) >= maxGenerated {
		clear(s.generated)
	}
	s.generated[text] = ids
	s.genMu.Unlock()
}

// assistantIDs tokenizes the generated text of an assistant message in a
// prompt: as the server generated it when it remembers it, else by the
// default split.
func (s *Server) assistantIDs(text string, sink *idSink) {
	s.genMu.Lock()
	ids, ok := s.generated[text]
	s.genMu.Unlock()
	if ok {
		for _, id := range ids {
			sink.add(id)
		}
		return
	}
	for _, tok := range splitReply(text, s.opts.LogprobTokens) {
		sink.add(TokenID(tok))
	}
}

// reply picks the reply to req; false means the Script is exhausted.
func (s *Server) reply(req *ChatRequest) (Reply, bool) {
	switch {
	case s.opts.Responder != nil:
		return s.opts.Responder(req), true
	case len(s.opts.Script) > 0:
		i := s.scriptPos.Add(1) - 1
		if i >= int64(len(s.opts.Script)) {
			if !s.opts.CycleScript {
				return Reply{}, false
			}
			i %= int64(len(s.opts.Script))
		}
		return s.opts.Script[i], true
	}
	return Reply{Content: s.echo(req)}, true
}

const filler = " The quick brown fox jumps over the lazy dog."

// echo is the default reply: the last message quoted back, padded to about
// four characters a token when LogprobTokens is set.
func (s *Server) echo(req *ChatRequest) string {
	last := string(req.Messages[len(req.Messages)-1].Content)
	if len(last) > 200 {
		last = last[:200]
	}
	text := "You said: " + strings.ToValidUTF8(last, "")
	if want := 4 * s.opts.LogprobTokens; len(text) < want {
		var b strings.Builder
		b.Grow(want + len(filler))
		b.WriteString(text)
		for b.Len() < want {
			b.WriteString(filler)
		}
		text = b.String()[:want]
	}
	return text
}

// injectFailure applies f; it reports whether the request was answered.
func (s *Server) injectFailure(w http.ResponseWriter, r *http.Request, f Failure) bool {
	switch f {
	case FailNone:
		return false
	case Fail500:
		s.writeError(w, http.StatusInternalServerError, &ErrorReply{Message: "openaitest: injected internal error", Type: "InternalServerError"})
	case Fail503, Fail429:
		if ra := s.fail.retryAfter(); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if f == Fail429 {
			s.writeError(w, http.StatusTooManyRequests, &ErrorReply{Message: "openaitest: injected rate limit", Type: "rate_limit_error", Code: "rate_limit_exceeded"})
		} else {
			s.writeError(w, http.StatusServiceUnavailable, &ErrorReply{Message: "openaitest: injected overload", Type: "ServiceUnavailableError"})
		}
	case FailTimeout:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	case FailMalformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-openaitest","object":"chat.completion","choices":[{"index":0,"message":{"role":"assist`) //nolint:errcheck // the client went away
	case FailDrop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("openaitest: the ResponseWriter cannot be hijacked to drop the connection")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
	case FailNoChoices:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-openaitest","object":"chat.completion","model":"`+DefaultModel+`","usage":{"prompt_tokens":1,"completion_tokens":0}}`) //nolint:errcheck // the client went away
	case FailEmpty:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
	case FailHuge:
		n := s.opts.Failures.HugeBytes
		if n <= 0 {
			n = DefaultHugeBytes
		}
		const unit = "all work and no play "
		body := make([]byte, 0, n+256)
		body = append(body, `{"id":"chatcmpl-openaitest-huge","object":"chat.completion","model":"`+DefaultModel+`","choices":[{"index":0,"message":{"role":"assistant","content":"`...)
		body = append(body, bytes.Repeat([]byte(unit), n/len(unit)+1)[:n]...)
		body = append(body, `"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`...)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body) //nolint:errcheck // the client went away
	case FailInvalidUTF8:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-openaitest-utf8","object":"chat.completion","model":"`+DefaultModel+`","choices":[{"index":0,"message":{"role":"assistant","content":"bad `+"\xff\xfe"+` bytes `+"\xc3("+`"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":3}}`) //nolint:errcheck // the client went away
	default:
		panic(fmt.Sprintf("openaitest: unknown failure %q", f))
	}
	return true
}

// wait sleeps for d; false means the client or the server went away.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

func (s *Server) writeError(w http.ResponseWriter, status int, e *ErrorReply) {
	bp := s.buffer()
	*bp = appendError((*bp)[:0], e, status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(*bp) //nolint:errcheck // the client went away
	s.bufs.Put(bp)
}

func (s *Server) buffer() *[]byte {
	if bp, ok := s.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 16<<10)
	return &b
}

// readBody reads the whole request body.
func readBody(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > 64<<20 {
		n = 4 << 10
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+1))
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}
