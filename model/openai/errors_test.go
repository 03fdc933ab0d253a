package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestErrorMessages(t *testing.T) {
	fake := newServer(t, &openaitest.Options{Models: []string{"served-b", "served-a"}, MaxContext: 30})
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><html><body>Welcome to nginx!</body></html>")
	}))
	t.Cleanup(html.Close)
	htmlError := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprint(w, "<html>Method Not Allowed</html>")
	}))
	t.Cleanup(htmlError.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/v1"
	ln.Close()

	tests := []struct {
		name     string
		opts     Options
		prompt   string
		sentinel error
		want     []string
	}{
		{
			name:     "base URL without /v1",
			opts:     Options{BaseURL: strings.TrimSuffix(fake.URL, "/v1"), Model: "served-a"},
			sentinel: ErrEndpointNotFound,
			want:     []string{"no chat completions endpoint at " + strings.TrimSuffix(fake.URL, "/v1") + "/chat/completions", "usually ends in /v1", "HTTP 404"},
		},
		{
			name:     "HTML page",
			opts:     Options{BaseURL: html.URL + "/v1"},
			sentinel: ErrNotOpenAI,
			want:     []string{"did not answer like an OpenAI-compatible API", "HTML", "text/html"},
		},
		{
			name:     "HTML error page",
			opts:     Options{BaseURL: htmlError.URL + "/v1"},
			sentinel: ErrNotOpenAI,
			want:     []string{"did not answer like an OpenAI-compatible API", "HTTP 405", "Method Not Allowed"},
		},
		{
			name:     "unknown model",
			opts:     Options{BaseURL: fake.URL, Model: "missing"},
			sentinel: ErrModelNotFound,
			want:     []string{`model "missing" is not served at ` + fake.URL, "it serves: served-a, served-b", "does not exist"},
		},
		{
			name:     "context length",
			opts:     Options{BaseURL: fake.URL, Model: "served-a"},
			prompt:   strings.Repeat("long ", 10),
			sentinel: ErrContextLength,
			want:     []string{"does not fit in the model's context", "This model's maximum context length is 30 tokens"},
		},
		{
			name:     "connection refused",
			opts:     Options{BaseURL: closed, MaxRetries: -1},
			sentinel: ErrConnection,
			want:     []string{"cannot connect to " + strings.TrimPrefix(strings.TrimSuffix(closed, "/v1"), "http://"), "is the server running at " + closed + "?"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if o.Model == "" {
				o.Model = "m"
			}
			c := newClient(t, fake, &o)
			prompt := tt.prompt
			if prompt == "" {
				prompt = "hi"
			}
			_, err := c.Generate(context.Background(), userRequest(prompt))
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error %v does not match %v", err, tt.sentinel)
			}
			for _, w := range tt.want {
				if !contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestModelsErrors(t *testing.T) {
	fake := newServer(t, nil)
	c := newClient(t, fake, &Options{BaseURL: strings.TrimSuffix(fake.URL, "/v1")})
	_, err := c.Models(context.Background())
	if !errors.Is(err, ErrEndpointNotFound) || !contains(err.Error(), "/models") {
		t.Errorf("Models on the wrong path: %v", err)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name, body     string
		ok             bool
		msg, typ, code string
		status         int
		sentinel       error
	}{
		{"openai", `{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`, true,
			"This model's maximum context length is 8192 tokens.", "invalid_request_error", "context_length_exceeded", 400, ErrContextLength},
		{"vllm numeric code", `{"error":{"message":"The model ` + "`x`" + ` does not exist.","type":"NotFoundError","param":"model","code":404}}`, true,
			"The model `x` does not exist.", "NotFoundError", "404", 404, ErrModelNotFound},
		{"old vllm flat", `{"object":"error","message":"The decoder prompt (length 5000) is longer than the maximum model length of 4096.","type":"BadRequestError","code":400}`, true,
			"The decoder prompt (length 5000) is longer than the maximum model length of 4096.", "BadRequestError", "400", 400, ErrContextLength},
		{"api key string", `{"error":"Unauthorized"}`, true, "Unauthorized", "", "", 401, ErrUnauthorized},
		{"fastapi", `{"detail":"Not Found"}`, true, "Not Found", "", "", 404, ErrEndpointNotFound},
		{"ollama model", `{"error":{"message":"model \"llama9\" not found, try pulling it first","type":"api_error","param":null,"code":null}}`, true,
			`model "llama9" not found, try pulling it first`, "api_error", "", 404, ErrModelNotFound},
		{"llama.cpp context", `{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}`, true,
			"the request exceeds the available context size, try increasing it", "exceed_context_size_error", "400", 400, ErrContextLength},
		{"plain text", `Internal Server Error`, false, "", "", "", 500, nil},
		{"html 405", `<html>nope</html>`, false, "", "", "", 405, ErrNotOpenAI},
		{"json without error", `{"ok":true}`, false, "", "", "", 400, ErrNotOpenAI},
		{"quota", `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`, true,
			"You exceeded your current quota", "insufficient_quota", "insufficient_quota", 429, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := parseError(tt.status, "http://h/v1/chat/completions", []byte(tt.body))
			if ok != tt.ok || e.Message != tt.msg || e.Type != tt.typ || e.Code != tt.code {
				t.Errorf("parseError = %+v, %v; want message %q type %q code %q, %v", e, ok, tt.msg, tt.typ, tt.code, tt.ok)
			}
			classify(e, ok, "http://h/v1", "x")
			if e.kind != tt.sentinel {
				t.Errorf("classified as %v, want %v", e.kind, tt.sentinel)
			}
			if tt.sentinel != nil && !errors.Is(e, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) is false", e, tt.sentinel)
			}
		})
	}
	quota, _ := parseError(429, "u", []byte(`{"error":{"code":"insufficient_quota"}}`))
	if retryable(quota) {
		t.Error("insufficient_quota should not be retried")
	}
	// model.Retryable reads the same verdict through the error chain, so a
	// runner replays an episode after a 503 but not after a 400.
	for status, want := range map[int]bool{400: false, 401: false, 404: false, 429: true, 503: true} {
		e, _ := parseError(status, "u", []byte(`{"error":{"message":"x"}}`))
		if got := model.Retryable(fmt.Errorf("episode: %w", e)); got != want {
			t.Errorf("model.Retryable(HTTP %d) = %v, want %v", status, got, want)
		}
	}
}

// TestOKBodies checks 200 answers that are not completions: a server fault,
// tried maxMalformedRetries more times, then an error that says what is
// wrong and that model.Retryable takes as retryable; an error body that
// says what is wrong is not retried.
func TestOKBodies(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		sentinel error
		want     string
		calls    int32
	}{
		{"error object", `{"error":{"message":"This model's maximum context length is 8 tokens","type":"invalid_request_error"}}`, ErrContextLength, "maximum context length is 8", 1},
		{"other JSON", `{"status":"ok"}`, ErrNotOpenAI, "JSON without the expected fields", 1 + maxMalformedRetries},
		{"no choices", `{"id":"x","object":"chat.completion","choices":[]}`, ErrNotOpenAI, "JSON without the expected fields", 1 + maxMalformedRetries},
		{"error without status", `{"error":{"message":"engine crashed"}}`, nil, "engine crashed", 1 + maxMalformedRetries},
		{"plain text", `OK`, ErrNotOpenAI, "a non-JSON body", 1 + maxMalformedRetries},
		{"empty", ``, ErrMalformedResponse, "empty body", 1 + maxMalformedRetries},
		{"truncated", `{"choices":[{"message":{"content":"ab`, ErrMalformedResponse, "malformed", 1 + maxMalformedRetries},
		{"invalid UTF-8 outside strings", "{\"choices\":[\xff]}", ErrMalformedResponse, "malformed", 1 + maxMalformedRetries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			c, err := New(&Options{BaseURL: srv.URL + "/v1", Model: "m", BackoffBase: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.CloseIdleConnections)
			_, err = c.Generate(context.Background(), userRequest("hi"))
			if err == nil || (tt.sentinel != nil && !errors.Is(err, tt.sentinel)) || !contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %v saying %q", err, tt.sentinel, tt.want)
			}
			if calls.Load() != tt.calls {
				t.Errorf("server saw %d requests, want %d", calls.Load(), tt.calls)
			}
			if retry := tt.calls > 1; model.Retryable(err) != retry {
				t.Errorf("model.Retryable(%v) = %v, want %v", err, !retry, retry)
			}
		})
	}
}

// TestOKFaultRetried checks that one 2xx answer that is not a completion
// costs a retry, not the request.
func TestOKFaultRetried(t *testing.T) {
	for _, f := range []openaitest.Failure{openaitest.FailNoChoices, openaitest.FailEmpty, openaitest.FailMalformed} {
		t.Run(string(f), func(t *testing.T) {
			s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{f}}})
			got, err := newClient(t, s, nil).Generate(context.Background(), userRequest("hi"))
			if err != nil || got.Text != "You said: hi" {
				t.Fatalf("Generate = %q, %v; want the second attempt's reply", got.Text, err)
			}
			if s.Requests() != 2 {
				t.Errorf("server saw %d requests, want 2", s.Requests())
			}
		})
	}
}

// TestInvalidUTF8Content checks that bytes that are not UTF-8 inside the
// content are replaced, not an error.
func TestInvalidUTF8Content(t *testing.T) {
	s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.FailInvalidUTF8}}})
	got, err := newClient(t, s, nil).Generate(context.Background(), userRequest("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(got.Text) || !strings.Contains(got.Text, "\uFFFD") {
		t.Errorf("Text = %q, want valid UTF-8 with U+FFFD for the bad bytes", got.Text)
	}
}

// TestReplyTooLarge checks the reply size cap, with and without a
// Content-Length: an error naming the limit and what to raise, not retried.
func TestReplyTooLarge(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				body := `{"choices":[{"message":{"content":"` + strings.Repeat("x", 4000) + `"}}]}`
				if !chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				for i := 0; i < len(body); i += 100 {
					io.WriteString(w, body[i:min(i+100, len(body))])
					if chunked {
						w.(http.Flusher).Flush()
					}
				}
			}))
			t.Cleanup(srv.Close)
			c, err := New(&Options{BaseURL: srv.URL + "/v1", Model: "m", MaxReplyBytes: 1000, BackoffBase: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.CloseIdleConnections)
			_, err = c.Generate(context.Background(), userRequest("hi"))
			var tl *ReplyTooLargeError
			if !errors.Is(err, ErrReplyTooLarge) || !errors.As(err, &tl) || tl.Limit != 1000 || !contains(err.Error(), "MaxReplyBytes") {
				t.Errorf("error %v, want a *ReplyTooLargeError for 1000 bytes saying what to raise", err)
			}
			if model.Retryable(err) || calls.Load() != 1 {
				t.Errorf("retried: %d requests, model.Retryable %v", calls.Load(), model.Retryable(err))
			}
			c2, err := New(&Options{BaseURL: srv.URL + "/v1", Model: "m", MaxReplyBytes: 10000})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c2.CloseIdleConnections)
			if _, err := c2.Generate(context.Background(), userRequest("hi")); err != nil {
				t.Errorf("under the limit: %v", err)
			}
		})
	}
	if _, err := New(&Options{MaxReplyBytes: MaxReplyBytesLimit + 1}); err == nil {
		t.Error("New accepted MaxReplyBytes over MaxReplyBytesLimit")
	}
}
