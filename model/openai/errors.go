package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors, matched with errors.Is. The errors returned wrap one of
// them (and, for HTTP errors, an *APIError) together with what to do.
var (
	// ErrConnection means the server could not be reached, or the connection
	// broke before a whole response arrived.
	ErrConnection = errors.New("openai: connection failed")
	// ErrTimeout means one request took longer than Options.Timeout.
	ErrTimeout = errors.New("openai: request timed out")
	// ErrEndpointNotFound means the server has no endpoint at the URL: the
	// base URL is probably missing its /v1.
	ErrEndpointNotFound = errors.New("openai: endpoint not found")
	// ErrModelNotFound means the server does not serve the requested model.
	ErrModelNotFound = errors.New("openai: model not found")
	// ErrContextLength means the prompt (plus max_tokens) does not fit in
	// the model's context.
	ErrContextLength = errors.New("openai: context length exceeded")
	// ErrUnauthorized means the server rejected the API key (HTTP 401/403).
	ErrUnauthorized = errors.New("openai: unauthorized")
	// ErrNotOpenAI means the server answered, but not like an
	// OpenAI-compatible API (HTML, plain text, JSON without choices).
	ErrNotOpenAI = errors.New("openai: not an OpenAI-compatible server")
	// ErrMalformedResponse means a 200 response body was not valid JSON
	// (e.g. truncated), even after retrying.
	ErrMalformedResponse = errors.New("openai: malformed response")
	// ErrReplyTooLarge means a response body was larger than
	// Options.MaxReplyBytes; the error is a *ReplyTooLargeError.
	ErrReplyTooLarge = errors.New("openai: reply too large")
)

// ReplyTooLargeError is the error of a request whose response body was
// larger than Options.MaxReplyBytes. It is not retried: the same request
// would most likely get the same reply.
type ReplyTooLargeError struct {
	// URL is the requested URL.
	URL string
	// Limit is Options.MaxReplyBytes.
	Limit int
	// Size is the body's announced size (Content-Length), or -1 when it
	// was not announced and reading stopped at Limit.
	Size int64
}

// Error says how large the reply was and what to raise.
func (e *ReplyTooLargeError) Error() string {
	size := "more than " + mib(int64(e.Limit))
	if e.Size >= 0 {
		size = mib(e.Size)
	}
	return fmt.Sprintf("openai: the reply from %s is %s, larger than the limit of %s; raise the client's maximum reply size (Options.MaxReplyBytes, the rollout's max_reply_bytes) or lower max_tokens",
		e.URL, size, mib(int64(e.Limit)))
}

// Unwrap returns ErrReplyTooLarge.
func (e *ReplyTooLargeError) Unwrap() error { return ErrReplyTooLarge }

// Retryable is false: see [ReplyTooLargeError].
func (e *ReplyTooLargeError) Retryable() bool { return false }

// mib writes a byte count in MiB, or in bytes below one MiB.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// APIError is an error answer from the server. Errors returned by the
// client wrap it; get it with errors.As.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the server's error message, when it sent one.
	Message string
	// Type and Code are the OpenAI error type and code, when sent (a
	// numeric code is given in decimal).
	Type, Code string
	// Body is the start of the response body (at most 2 KiB).
	Body string
	// URL is the requested URL.
	URL string

	hint  string // what it means and what to do
	kind  error  // the sentinel it matches, if any
	fault bool   // a 2xx answer that is not what was asked: a server fault
}

// Error says what failed, what the server said, and what to do.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("openai: ")
	if e.hint != "" {
		b.WriteString(e.hint)
		b.WriteString(" (")
	}
	fmt.Fprintf(&b, "HTTP %d from %s", e.Status, e.URL)
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Body != "":
		b.WriteString(": ")
		b.WriteString(strings.Join(strings.Fields(e.Body), " "))
	}
	if e.hint != "" {
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the sentinel error e matches, if any.
func (e *APIError) Unwrap() error { return e.kind }

// errorBody is the union of the error layouts servers use: OpenAI's
// {"error":{...}}, vLLM's --api-key {"error":"..."}, older vLLM's flat
// {"message","type","code"} and FastAPI's {"detail":...}.
type errorBody struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
	Detail  json.RawMessage `json:"detail"`
}

type errorObject struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// snippet returns the start of body as valid UTF-8.
func snippet(body []byte) string {
	const max = 2 << 10
	if len(body) > max {
		body = body[:max]
	}
	return strings.ToValidUTF8(string(bytes.TrimSpace(body)), "")
}

// looksJSON reports whether body starts like a JSON object.
func looksJSON(body []byte) bool {
	body = bytes.TrimSpace(body)
	return len(body) > 0 && body[0] == '{'
}

// codeString renders a JSON code (string or number) as text.
func codeString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// parseError builds an APIError from a response; ok is false when the
// body is not an error in any known JSON layout.
func parseError(status int, url string, body []byte) (e *APIError, ok bool) {
	e = &APIError{Status: status, URL: url, Body: snippet(body)}
	var eb errorBody
	if !looksJSON(body) || json.Unmarshal(body, &eb) != nil {
		return e, false
	}
	switch raw := bytes.TrimSpace(eb.Error); {
	case len(raw) > 0 && raw[0] == '{':
		var o errorObject
		if json.Unmarshal(raw, &o) == nil {
			e.Message, e.Type, e.Code = o.Message, o.Type, codeString(o.Code)
		}
	case len(raw) > 0 && raw[0] == '"':
		json.Unmarshal(raw, &e.Message) //nolint:errcheck // a valid string
	case eb.Message != "":
		e.Message, e.Type, e.Code = eb.Message, eb.Type, codeString(eb.Code)
	case len(eb.Detail) > 0:
		var s string
		if json.Unmarshal(eb.Detail, &s) == nil {
			e.Message = s
		} else {
			e.Message = string(eb.Detail)
		}
	default:
		return e, false
	}
	return e, true
}

// contextPatterns are lower-case fragments of context-length errors from
// OpenAI, vLLM, SGLang, llama.cpp and Ollama.
var contextPatterns = []string{
	"context_length_exceeded",
	"maximum context length",
	"context length",
	"maximum model length",
	"max_model_len",
	"context window",
	"context size",
	"exceed_context_size",
	"prompt is too long",
	"too many tokens",
}

func isContextLength(e *APIError) bool {
	if e.Code == "context_length_exceeded" || e.Type == "exceed_context_size_error" {
		return true
	}
	if e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge &&
		e.Status != http.StatusUnprocessableEntity && e.Status != http.StatusOK {
		return false
	}
	msg := strings.ToLower(e.Message)
	for _, p := range contextPatterns {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func isModelNotFound(e *APIError) bool {
	if e.Code == "model_not_found" {
		return true
	}
	if e.Status != http.StatusNotFound && e.Status != http.StatusBadRequest {
		return false
	}
	msg := strings.ToLower(e.Message)
	return strings.Contains(msg, "model") &&
		(strings.Contains(msg, "does not exist") || strings.Contains(msg, "not found") || strings.Contains(msg, "not exist"))
}

// classify sets e's sentinel and hint from its status and message. base is
// the client's base URL, model the requested model.
func classify(e *APIError, parsed bool, base, model string) {
	switch {
	case isModelNotFound(e):
		e.kind = ErrModelNotFound
		e.hint = fmt.Sprintf("model %q is not served at %s", model, base)
	case isContextLength(e):
		e.kind = ErrContextLength
		e.hint = "the conversation does not fit in the model's context; shorten it or lower max_tokens"
	case e.Status == http.StatusNotFound:
		e.kind = ErrEndpointNotFound
		what := "endpoint"
		if strings.HasSuffix(e.URL, "/chat/completions") {
			what = "chat completions endpoint"
		}
		e.hint = fmt.Sprintf("no %s at %s; the base URL usually ends in /v1, e.g. http://127.0.0.1:8000/v1", what, e.URL)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		e.kind = ErrUnauthorized
		e.hint = "the server rejected the API key; set Options.APIKey or OPENAI_API_KEY"
	case !parsed && e.Status < 500 && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestTimeout:
		e.kind = ErrNotOpenAI
		e.hint = fmt.Sprintf("the server at %s did not answer like an OpenAI-compatible API (%s); check that the base URL points at the inference server's /v1", base, describeBody(e))
	}
}

// describeBody says what kind of body the error has.
func describeBody(e *APIError) string {
	b := strings.TrimSpace(e.Body)
	switch {
	case b == "":
		return "empty body"
	case strings.HasPrefix(b, "<"):
		return "an HTML page"
	case !utf8.ValidString(b):
		return "a binary body"
	}
	return "a non-JSON body"
}

// Retryable reports whether the request may succeed if tried again (a 429,
// a 5xx, or a 2xx answer that was not a completion: a server fault);
// model.Retryable reads it, so a runner does not replay an
// episode that failed on a 400.
func (e *APIError) Retryable() bool { return retryable(e) }

// retryable reports whether an HTTP error is worth retrying.
func retryable(e *APIError) bool {
	switch {
	case e.fault:
		return true
	case e.Code == "insufficient_quota":
		return false
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout:
		return true
	case e.Status >= 500:
		return true
	}
	return false
}
