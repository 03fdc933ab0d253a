// Package openai is a [model.Model] for OpenAI-compatible chat completion
// servers: vLLM, SGLang, Ollama, llama.cpp's server, OpenAI itself. It asks
// for per-token log-probabilities, and, with Options.ReturnTokenIDs, for
// vLLM's token ids; servers that ignore those fields still work (the
// completion then has no ids, or no tokens).
//
//	c, err := openai.New(&openai.Options{BaseURL: "http://127.0.0.1:8000/v1", Model: "Qwen/Qwen3-8B", ReturnTokenIDs: true})
//	if err != nil { ... }
//	defer c.CloseIdleConnections()
//	comp, err := c.Generate(ctx, model.Request{Messages: []retrain.Message{{Role: "user", Content: "2+2?"}}})
//	fmt.Println(comp.Text, comp.Tokens.IDs, comp.Tokens.Logprobs)
//
// It speaks plain net/http and encoding/json. Requests are retried with
// exponential backoff and full jitter on connection errors, timeouts, 429
// (honouring Retry-After), 5xx, and 2xx answers that are not a completion
// (empty, truncated or not JSON, JSON without "choices": a server fault, at
// most twice); never on other 4xx. Each attempt is bounded by
// Options.Timeout, and a reply by Options.MaxReplyBytes. Errors match the sentinels of this package
// (ErrModelNotFound, ErrContextLength, ...) with errors.Is, carry an
// *APIError for HTTP errors, and say what to do.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/retrain-rl/retrain/model"
)

// Defaults for Options.
const (
	DefaultBaseURL     = "http://127.0.0.1:8000/v1"
	DefaultTimeout     = 10 * time.Minute
	DefaultMaxRetries  = 4
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultMaxInFlight = 256
	// DefaultMaxReplyBytes bounds a response body: room for a 128k-token
	// completion with its log-probabilities.
	DefaultMaxReplyBytes = 32 << 20
)

// maxMalformedRetries bounds retries of 2xx responses that are not what
// was asked (empty, truncated, not JSON, JSON of another shape): one is a
// glitch, three are a broken server.
const maxMalformedRetries = 2

// MaxReplyBytesLimit is the largest Options.MaxReplyBytes accepted.
const MaxReplyBytesLimit = 512 << 20

// Options configure a Client. The zero value (or nil) talks to
// DefaultBaseURL and uses the one model it serves.
type Options struct {
	// BaseURL is the API's base URL, usually ending in /v1. Default:
	// $OPENAI_BASE_URL, else DefaultBaseURL.
	BaseURL string
	// Model is the served model's name. When empty, the client asks GET
	// /models once and uses the only model served (an error when there
	// are several).
	Model string
	// APIKey is sent as a bearer token. Default: $OPENAI_API_KEY; none
	// when both are empty.
	APIKey string
	// Timeout bounds each attempt, reading the body included (default
	// DefaultTimeout). A timed-out attempt is retried.
	Timeout time.Duration
	// MaxReplyBytes bounds the size of a response body (default
	// DefaultMaxReplyBytes, at most MaxReplyBytesLimit). A larger reply
	// fails the request with ErrReplyTooLarge, without retrying.
	MaxReplyBytes int
	// MaxRetries is how many times a failed request is retried (default
	// DefaultMaxRetries; negative means never).
	MaxRetries int
	// BackoffBase and BackoffMax shape the waits between attempts: a random
	// duration up to min(BackoffMax, BackoffBase·2^attempt), unless the
	// server sent Retry-After, which is honoured as given (defaults
	// DefaultBackoffBase, DefaultBackoffMax).
	BackoffBase, BackoffMax time.Duration
	// MaxInFlight caps the requests in flight at once (default
	// DefaultMaxInFlight). Waiting for a slot honours the context; the
	// waits between retries do not hold one.
	MaxInFlight int
	// ReturnTokenIDs asks for token ids with vLLM's extensions:
	// return_token_ids (completion ids on the choice, prompt ids on the
	// response) and return_tokens_as_token_ids (logprob tokens written as
	// "token_id:N"). With the latter the text of each token is unknown, so
	// Completion.Tokens.Text is nil; Completion.Text is complete. Servers
	// without the extensions ignore them: the completion then has no ids.
	ReturnTokenIDs bool
	// TopLogprobs, when positive, is sent as top_logprobs. The alternatives
	// are not part of model.Completion; set it only for servers that need it.
	TopLogprobs int
	// HTTPClient sends the requests. Default: a client whose transport keeps
	// MaxInFlight idle connections to the server. Its Timeout, if set,
	// applies on top of Timeout.
	HTTPClient *http.Client
}

// Client is a model.Model talking to an OpenAI-compatible server. It is safe
// for concurrent use.
type Client struct {
	opts      Options
	base      string
	chatURL   string
	modelsURL string
	auth      string
	http      *http.Client
	sem       chan struct{}

	mu    sync.Mutex
	model string
}

var _ model.Model = (*Client)(nil)

// New returns a client for opts (nil means defaults). It does no I/O.
func New(opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BaseURL == "" {
		o.BaseURL = os.Getenv("OPENAI_BASE_URL")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openai: Options.BaseURL %q is not an http(s) URL; want e.g. %s", o.BaseURL, DefaultBaseURL)
	}
	if o.APIKey == "" {
		o.APIKey = os.Getenv("OPENAI_API_KEY")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.MaxReplyBytes <= 0:
		o.MaxReplyBytes = DefaultMaxReplyBytes
	case o.MaxReplyBytes > MaxReplyBytesLimit:
		return nil, fmt.Errorf("openai: Options.MaxReplyBytes is %d; want at most %d (%d MiB)", o.MaxReplyBytes, MaxReplyBytesLimit, MaxReplyBytesLimit>>20)
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.TopLogprobs < 0 {
		return nil, fmt.Errorf("openai: Options.TopLogprobs is %d; want 0 (none) or more", o.TopLogprobs)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: newTransport(o.MaxInFlight)}
	}
	base := strings.TrimRight(o.BaseURL, "/")
	c := &Client{
		opts:      o,
		base:      base,
		chatURL:   base + "/chat/completions",
		modelsURL: base + "/models",
		http:      o.HTTPClient,
		sem:       make(chan struct{}, o.MaxInFlight),
		model:     o.Model,
	}
	if o.APIKey != "" {
		c.auth = "Bearer " + o.APIKey
	}
	return c, nil
}

// newTransport returns a transport tuned for many concurrent requests to
// one server.
func newTransport(inflight int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no total cap; the per-host cap below applies
	t.MaxIdleConnsPerHost = inflight
	t.IdleConnTimeout = 90 * time.Second
	// Each connection keeps its buffers for life, and there is one
	// connection per request in flight: thousands, for thousands of
	// episodes, where the default 4 KiB each made a fifth of the heap.
	// Status line and headers fit in 1 KiB (longer lines are still read),
	// bodies are read straight into their own buffer, and a request larger
	// than the write buffer costs one more write.
	t.ReadBufferSize, t.WriteBufferSize = 1<<10, 1<<10
	return t
}

// CloseIdleConnections closes the client's idle connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Generate asks the server for one chat completion. Latency covers all
// attempts and waits, and the wait for a slot under MaxInFlight.
func (c *Client) Generate(ctx context.Context, req model.Request) (model.Completion, error) {
	start := time.Now()
	if len(req.Messages) == 0 {
		return model.Completion{}, errors.New("openai: Request has no messages; add at least one user message")
	}
	name, err := c.ServedModel(ctx)
	if err != nil {
		return model.Completion{}, err
	}
	bd := newBody()
	defer bd.release()
	if bd.buf, err = c.appendRequest(bd.buf, name, &req); err != nil {
		return model.Completion{}, err
	}
	var comp model.Completion
	err = c.do(ctx, http.MethodPost, c.chatURL, bd, name, func(data []byte) error {
		var err error
		comp, err = parseCompletion(data)
		return err
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.kind == ErrModelNotFound {
			c.explainModel(ctx, ae)
		}
		return model.Completion{}, err
	}
	comp.Latency = time.Since(start)
	return comp, nil
}

// Models lists the ids of the models the server serves (GET /models).
func (c *Client) Models(ctx context.Context) ([]string, error) {
	var ids []string
	err := c.do(ctx, http.MethodGet, c.modelsURL, nil, "", func(data []byte) error {
		var list struct {
			Data *[]struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return err
		}
		if list.Data == nil {
			return errWrongShape
		}
		ids = make([]string, 0, len(*list.Data))
		for _, m := range *list.Data {
			ids = append(ids, m.ID)
		}
		return nil
	})
	return ids, err
}

// ServedModel returns the name of the model the client asks for:
// Options.Model when set, else the only model the server serves (GET
// /models, asked once and remembered). When the server serves no model or
// several, the error is a *ServedModelsError listing them; when the listing
// fails, it wraps the listing's error.
func (c *Client) ServedModel(ctx context.Context) (string, error) {
	c.mu.Lock()
	name := c.model
	c.mu.Unlock()
	if name != "" {
		return name, nil
	}
	ids, err := c.Models(ctx)
	if err != nil {
		return "", fmt.Errorf("openai: Options.Model is empty and listing the served models failed: %w", err)
	}
	if len(ids) != 1 {
		return "", &ServedModelsError{URL: c.modelsURL, Models: ids}
	}
	c.mu.Lock()
	c.model = ids[0]
	c.mu.Unlock()
	return ids[0], nil
}

// ServedModelsError is the error of [Client.ServedModel] when Options.Model
// is empty and the server does not serve exactly one model.
type ServedModelsError struct {
	// URL is the models listing that was asked (base URL + "/models").
	URL string
	// Models are the served models' ids, as listed.
	Models []string
}

// Error says how many models are served and what to set.
func (e *ServedModelsError) Error() string {
	if len(e.Models) == 0 {
		return fmt.Sprintf("openai: Options.Model is empty and %s lists no models; set Options.Model", e.URL)
	}
	return fmt.Sprintf("openai: Options.Model is empty and the server serves %d models (%s); set Options.Model to one of them", len(e.Models), strings.Join(e.Models, ", "))
}

// explainModel adds the served models to a model-not-found error.
func (c *Client) explainModel(ctx context.Context, ae *APIError) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ids, err := c.Models(ctx)
	switch {
	case err != nil:
		ae.hint += fmt.Sprintf("; listing the served models failed: %v", err)
	case len(ids) == 0:
		ae.hint += "; the server lists no models"
	default:
		slices.Sort(ids)
		ae.hint += fmt.Sprintf("; it serves: %s (set Options.Model to one of them)", strings.Join(ids, ", "))
	}
}

// errWrongShape means a response was valid JSON but not the expected object.
var errWrongShape = errors.New("openai: unexpected JSON")

// outcome is the result of one attempt.
type outcome struct {
	err      error
	retry    bool
	after    time.Duration
	hasAfter bool
	// okFault marks a 2xx answer that is not what was asked: retried at
	// most maxMalformedRetries times.
	okFault bool
}

// do sends a request with retries; decode reads a 2xx body. bd may be nil
// (no body). modelName is used in error messages.
func (c *Client) do(ctx context.Context, method, url string, bd *body, modelName string, decode func([]byte) error) error {
	malformed := 0
	for attempt := 0; ; attempt++ {
		o := c.attempt(ctx, method, url, bd, modelName, decode)
		if o.err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctxError(ctx, method, url)
		}
		if !o.retry {
			return o.err
		}
		if o.okFault {
			if malformed++; malformed > maxMalformedRetries {
				return fmt.Errorf("%w (after %d attempts)", o.err, attempt+1)
			}
		}
		if attempt >= c.opts.MaxRetries {
			if attempt == 0 {
				return o.err
			}
			return fmt.Errorf("%w (gave up after %d attempts)", o.err, attempt+1)
		}
		wait := o.after
		if !o.hasAfter {
			wait = c.backoff(attempt)
		}
		if err := sleep(ctx, wait); err != nil {
			return ctxError(ctx, method, url)
		}
	}
}

// attempt sends one request.
func (c *Client) attempt(ctx context.Context, method, url string, bd *body, modelName string, decode func([]byte) error) outcome {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return outcome{err: ctx.Err()}
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, method, url, nil)
	if err != nil {
		return outcome{err: fmt.Errorf("openai: %s %s: %w", method, url, err)}
	}
	if bd != nil {
		req.Body = bd.reader()
		req.ContentLength = int64(len(bd.buf))
		req.GetBody = func() (io.ReadCloser, error) { return bd.reader(), nil }
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, actx, method, url, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > int64(c.opts.MaxReplyBytes) {
		return outcome{err: &ReplyTooLargeError{URL: url, Limit: c.opts.MaxReplyBytes, Size: resp.ContentLength}}
	}
	data, release, err := readBody(resp.Body, resp.ContentLength, c.opts.MaxReplyBytes)
	defer release()
	if errors.Is(err, errBodyTooLarge) {
		return outcome{err: &ReplyTooLargeError{URL: url, Limit: c.opts.MaxReplyBytes, Size: -1}}
	}
	if err != nil {
		return c.transportError(ctx, actx, method, url, err)
	}

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return c.okOutcome(resp, method, url, modelName, data, decode)
	}

	e, parsed := parseError(resp.StatusCode, url, data)
	classify(e, parsed, c.base, modelName)
	o := outcome{err: e, retry: retryable(e)}
	if o.retry {
		o.after, o.hasAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return o
}

// okOutcome reads a 2xx answer. One that is not what was asked (empty,
// truncated, not JSON, JSON without the expected fields, an error with no
// status of its own) is a server fault, retried like a 5xx; an error body
// that says what is wrong (context length, unknown model) is not.
func (c *Client) okOutcome(resp *http.Response, method, url, modelName string, data []byte, decode func([]byte) error) outcome {
	fault := func(err error) outcome { return outcome{err: err, retry: true, okFault: true} }
	if !looksJSON(data) {
		if len(bytes.TrimSpace(data)) == 0 {
			return fault(fmt.Errorf("%w: %s %s answered %d with an empty body", ErrMalformedResponse, method, url, resp.StatusCode))
		}
		e := &APIError{Status: resp.StatusCode, URL: url, Body: snippet(data), kind: ErrNotOpenAI, fault: true}
		e.hint = fmt.Sprintf("the server at %s did not answer like an OpenAI-compatible API (%s, Content-Type %q); check that the base URL points at the inference server's /v1",
			c.base, describeBody(e), resp.Header.Get("Content-Type"))
		return fault(e)
	}
	err := decode(data)
	switch {
	case err == nil:
		return outcome{}
	case errors.Is(err, errWrongShape):
		if e, ok := parseError(resp.StatusCode, url, data); ok {
			classify(e, true, c.base, modelName)
			if e.kind != nil {
				return outcome{err: e}
			}
			e.fault = true
			return fault(e)
		}
		e := &APIError{Status: resp.StatusCode, URL: url, Body: snippet(data), kind: ErrNotOpenAI, fault: true}
		e.hint = fmt.Sprintf("the server at %s answered JSON without the expected fields; check that the base URL points at an OpenAI-compatible /v1", c.base)
		return fault(e)
	}
	return fault(fmt.Errorf("%w from %s %s: %v", ErrMalformedResponse, method, url, err))
}

// transportError turns an error from sending or reading into an outcome.
func (c *Client) transportError(ctx, actx context.Context, method, url string, err error) outcome {
	switch {
	case ctx.Err() != nil:
		return outcome{err: ctxError(ctx, method, url)}
	case actx.Err() != nil:
		return outcome{err: fmt.Errorf("%w: no complete answer from %s %s within %v (the per-request timeout: Options.Timeout, --request-timeout)", ErrTimeout, method, url, c.opts.Timeout), retry: true}
	case isTimeout(err):
		return outcome{err: fmt.Errorf("%w: %s %s: %w", ErrTimeout, method, url, err), retry: true}
	case errors.Is(err, syscall.ECONNREFUSED):
		return outcome{err: fmt.Errorf("%w: cannot connect to %s: is the server running at %s? (%w)", ErrConnection, hostOf(url), c.base, err), retry: true}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return outcome{err: fmt.Errorf("%w: cannot resolve the host of %s; check Options.BaseURL (%w)", ErrConnection, c.base, err)}
	}
	return outcome{err: fmt.Errorf("%w: %s %s: %w", ErrConnection, method, url, err), retry: true}
}

// isTimeout reports a timeout of the HTTP client itself (its Timeout, or a
// transport deadline).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// ctxError reports that ctx ended the request.
func ctxError(ctx context.Context, method, url string) error {
	return fmt.Errorf("openai: %s %s abandoned: %w", method, url, ctx.Err())
}

// backoff returns a random wait before retry number attempt+1 ("full
// jitter"): uniform in [0, min(BackoffMax, BackoffBase·2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.BackoffMax
	if attempt < 30 {
		d = min(d, c.opts.BackoffBase<<attempt)
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// retryAfter parses a Retry-After value: seconds (fractions accepted) or an
// HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs != secs || secs < 0 { // NaN or negative
			return 0, false
		}
		return time.Duration(min(secs, 24*3600) * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errBodyTooLarge means a response body exceeded its limit.
var errBodyTooLarge = errors.New("response body too large")

var readPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// readBody reads r, up to limit bytes. A body of known size (Content-Length) is read into a
// buffer of exactly that size, garbage once decoded: pooling those would
// keep one buffer per concurrent request alive between requests, thousands
// of them with thousands of episodes in flight. A body of unknown size is
// read into a pooled buffer. Call release when done with data.
func readBody(r io.Reader, size int64, limit int) (data []byte, release func(), err error) {
	if size > 0 && size <= int64(limit) {
		data, err = readInto(r, make([]byte, 0, size+1), limit)
		return data, func() {}, err
	}
	bp := readPool.Get().(*[]byte)
	data, err = readInto(r, (*bp)[:0], limit)
	*bp = data
	return data, func() { putReadBuffer(bp) }, err
}

// readInto appends what r holds to b, up to limit bytes.
func readInto(r io.Reader, b []byte, limit int) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), limit+1)])
		b = b[:len(b)+n]
		if len(b) > limit {
			return b, errBodyTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func putReadBuffer(bp *[]byte) {
	if cap(*bp) <= 4<<20 {
		readPool.Put(bp)
	}
}
