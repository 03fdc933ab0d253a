// Package serve serves a [model.Model] as an OpenAI-compatible chat
// completions endpoint, the way vLLM does: POST /v1/chat/completions (with
// logprobs, and vLLM's token-id extensions return_token_ids and
// return_tokens_as_token_ids) and GET /v1/models. Any OpenAI client, the
// project's own (package model/openai) included, can talk to it.
//
//	m, _ := local.Default()
//	h := serve.NewHandler(m, &serve.Options{Name: m.Name()})
//	srv := &http.Server{Addr: "127.0.0.1:8000", Handler: h}
//	log.Fatal(srv.ListenAndServe())
//
// One request is one Generate call; requests run concurrently (the model
// must be safe for concurrent use), up to Options.MaxConcurrent at once:
// more are answered 429 with Retry-After. Sampling numbers out of range
// (temperature in [0, 2], top_p in (0, 1], max_tokens up to the context)
// and prompts over Options.MaxPromptTokens are answered 400. n > 1 is not
// supported and answered with 400. A request with "stream": true is answered
// with server-sent events in OpenAI's chunk format (a last usage chunk when
// stream_options.include_usage asks), after the model has generated the
// whole completion.
package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/internal/httpserve"
	"github.com/retrain-rl/retrain/model"
)

// DefaultName is the served model id when Options.Name is empty.
const DefaultName = "model"

// maxBody bounds a request body.
const maxBody = 32 << 20

// Options configure a handler. The zero value (or nil) serves DefaultName.
type Options struct {
	// Name is the model id clients must ask for, listed by GET /v1/models.
	Name string
	// ContextLength, when positive, is reported as max_model_len in
	// /v1/models, as vLLM does.
	ContextLength int
	// BadRequest reports whether an error of Generate was caused by the
	// request (e.g. a prompt longer than the context); those are answered
	// with 400 and the error's message, others with 500. Nil means none is.
	BadRequest func(error) bool

	// MaxConcurrent bounds the requests generating at once; more are
	// answered 429 with Retry-After at once, rather than queued. Zero means
	// runtime.NumCPU() (a local model uses a core per request).
	MaxConcurrent int
	// PromptTokens counts the tokens of a request's prompt; with
	// MaxPromptTokens, a longer prompt is answered 400
	// (context_length_exceeded) before any work. Nil means prompts are not
	// counted here (Generate may still refuse them; see BadRequest).
	PromptTokens func(model.Request) int
	// MaxPromptTokens bounds a prompt's tokens when PromptTokens is set;
	// zero means ContextLength.
	MaxPromptTokens int
	// MaxTokens bounds a request's max_tokens; zero means ContextLength,
	// or DefaultMaxTokens when that is unknown.
	MaxTokens int
}

// DefaultMaxTokens bounds max_tokens when neither Options.MaxTokens nor
// Options.ContextLength is set.
const DefaultMaxTokens = 1 << 20

// RetryAfter is the Retry-After of a 429 answer, in seconds.
const RetryAfter = 1

// NewHandler returns the HTTP handler serving m.
func NewHandler(m model.Model, opts *Options) http.Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = runtime.NumCPU()
	}
	if o.MaxPromptTokens <= 0 {
		o.MaxPromptTokens = o.ContextLength
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = o.ContextLength
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = DefaultMaxTokens
	}
	h := &handler{m: m, o: o, created: time.Now().Unix(), slots: make(chan struct{}, o.MaxConcurrent)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", h.chat)
	mux.HandleFunc("GET /v1/models", h.models)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"}) // as from vLLM (FastAPI)
	})
	return mux
}

type handler struct {
	m       model.Model
	o       Options
	created int64
	slots   chan struct{} // one per request generating now
}

func (h *handler) models(w http.ResponseWriter, _ *http.Request) {
	type entry struct {
		ID          string `json:"id"`
		Object      string `json:"object"`
		Created     int64  `json:"created"`
		OwnedBy     string `json:"owned_by"`
		MaxModelLen int    `json:"max_model_len,omitempty"`
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []entry{{ID: h.o.Name, Object: "model", Created: h.created, OwnedBy: "retrain", MaxModelLen: h.o.ContextLength}},
	})
}

func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return // the client went away
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", maxBody))
		return
	}
	req, err := decodeRequest(body, h.o.MaxTokens)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Model != h.o.Name {
		writeErrorCode(w, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist.", req.Model), "NotFoundError", "model_not_found")
		return
	}
	if msg := req.unsupported(); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	mreq := req.modelRequest()
	if h.o.PromptTokens != nil && h.o.MaxPromptTokens > 0 {
		if n := h.o.PromptTokens(mreq); n > h.o.MaxPromptTokens {
			writeErrorCode(w, http.StatusBadRequest, fmt.Sprintf("This model's maximum prompt length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.", h.o.MaxPromptTokens, n),
				"BadRequestError", "context_length_exceeded")
			return
		}
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
		writeErrorCode(w, http.StatusTooManyRequests, fmt.Sprintf("%d requests are being generated, this server's limit (retrain serve-model --max-concurrent); retry after %d s", h.o.MaxConcurrent, RetryAfter),
			"RateLimitError", "rate_limit_exceeded")
		return
	}
	c, err := h.m.Generate(r.Context(), mreq)
	switch {
	case err == nil:
	case r.Context().Err() != nil:
		return // the client went away
	case h.o.BadRequest != nil && h.o.BadRequest(err):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	default:
		writeErrorCode(w, http.StatusInternalServerError, err.Error(), "InternalServerError", "")
		return
	}
	resp := h.response(req, &c)
	if req.Stream {
		// The model generates the whole completion; it is then streamed one
		// token a chunk, in OpenAI's chunk format.
		var pieces []string
		if c.Tokens != nil {
			pieces = c.Tokens.Text
		}
		chatwire.WriteStream(w, chatwire.ReplyChunks(resp, pieces, req.IncludeUsage())) //nolint:errcheck // the client went away
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// response builds the chat.completion body of c.
func (h *handler) response(req *chatRequest, c *model.Completion) *chatwire.Reply {
	var id [12]byte
	rand.Read(id[:])
	msg := chatwire.ReplyMessage{Role: string(retrain.RoleAssistant), Content: &c.Text}
	if c.Reasoning != "" {
		msg.ReasoningContent = &c.Reasoning
	}
	for i, tc := range c.ToolCalls {
		callID := tc.ID
		if callID == "" {
			callID = "call_" + strconv.Itoa(i)
		}
		args := string(tc.Arguments)
		if args == "" {
			args = "{}"
		}
		msg.ToolCalls = append(msg.ToolCalls, chatwire.ToolCall{ID: callID, Type: "function", Function: chatwire.FunctionCall{Name: tc.Name, Arguments: args}})
	}
	if c.Text == "" && len(c.ToolCalls) > 0 {
		msg.Content = nil
	}
	ch := chatwire.Choice{Index: 0, Message: msg, FinishReason: c.FinishReason}
	if ch.FinishReason == "" {
		ch.FinishReason = "stop"
	}
	n := c.Tokens.Len()
	if req.Logprobs && c.Tokens != nil && len(c.Tokens.Logprobs) == n {
		lp := &chatwire.Logprobs{Content: make([]chatwire.TokenLogprob, n)}
		for i := range n {
			text := ""
			if i < len(c.Tokens.Text) {
				text = c.Tokens.Text[i]
			}
			if req.ReturnTokensAsTokenIDs && len(c.Tokens.IDs) == n {
				text = chatwire.FormatTokenID(c.Tokens.IDs[i])
			}
			lp.Content[i] = chatwire.TokenLogprob{Token: text, Logprob: c.Tokens.Logprobs[i]}
			if i < len(c.Tokens.Bytes) && !req.ReturnTokensAsTokenIDs && !utf8.Valid(c.Tokens.Bytes[i]) {
				lp.Content[i].Bytes = c.Tokens.Bytes[i] // the exact bytes, which the token's JSON text cannot hold
			}
		}
		ch.Logprobs = lp
	}
	completionTokens := orLen(c.Usage.CompletionTokens, n)
	resp := &chatwire.Reply{
		ID:      "chatcmpl-" + hex.EncodeToString(id[:]),
		Object:  "chat.completion",
		Created: time.Now().Unix(),
		Model:   h.o.Name,
		Choices: []chatwire.Choice{ch},
		Usage: &chatwire.Usage{
			PromptTokens:     c.Usage.PromptTokens,
			TotalTokens:      c.Usage.PromptTokens + completionTokens,
			CompletionTokens: completionTokens,
		},
	}
	if req.ReturnTokenIDs {
		// Empty lists are left out, as they always were.
		if len(c.PromptTokenIDs) > 0 {
			resp.PromptTokenIDs = c.PromptTokenIDs
		}
		if c.Tokens != nil && len(c.Tokens.IDs) > 0 {
			resp.Choices[0].TokenIDs = c.Tokens.IDs
		}
	}
	return resp
}

func orLen(n, l int) int {
	if n > 0 {
		return n
	}
	return l
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, `{"error":{"message":%q,"type":"InternalServerError","param":null,"code":500}}`, err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeErrorCode(w, status, msg, "BadRequestError", "")
}

// writeErrorCode writes an OpenAI-style error (see [WriteError]).
func writeErrorCode(w http.ResponseWriter, status int, msg, typ, code string) {
	WriteError(w, status, msg, typ, code)
}

// WriteError writes an error reply in OpenAI's layout
// ({"error":{"message","type","param","code"}}); an empty code is written
// as the status number, as vLLM does. Front doors in front of a Handler use
// it so that their refusals read like the handler's own.
func WriteError(w http.ResponseWriter, status int, msg, typ, code string) {
	b := append(chatwire.AppendError(nil, msg, typ, code, status), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client went away
}

// Serve serves h on ln until ctx is done, then shuts the server down,
// waiting up to grace (5 seconds when not positive) for the requests in
// flight, and returns nil. It returns an error when the server fails
// before. Requests pass the same front door as "retrain serve-model"'s with
// its defaults (loopback Host check, no cross-origin requests, JSON bodies,
// bounded bodies and connections; docs/security.md), refusals written as
// OpenAI errors.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	front := httpsec.Handler(h, &httpsec.Options{Refuse: func(w http.ResponseWriter, _ *http.Request, status int, msg string) {
		WriteError(w, status, msg, "BadRequestError", "")
	}})
	return httpserve.Serve(ctx, ln, front, &httpserve.Options{Grace: grace, MaxConns: httpsec.DefaultMaxConns})
}
