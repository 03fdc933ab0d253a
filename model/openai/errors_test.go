package openai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// TestOKBodies checks 200 answers that are not completions: they are not
// retried and say what is wrong.
func TestOKBodies(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		sentinel error
		want     string
	}{
		{"error object", `{"error":{"message":"This model's maximum context length is 8 tokens","type":"invalid_request_error"}}`, ErrContextLength, "maximum context length is 8"},
		{"other JSON", `{"status":"ok"}`, ErrNotOpenAI, "JSON without the expected fields"},
		{"plain text", `OK`, ErrNotOpenAI, "a non-JSON body"},
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
			if !errors.Is(err, tt.sentinel) || !contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %v saying %q", err, tt.sentinel, tt.want)
			}
			if calls.Load() != 1 {
				t.Errorf("server saw %d requests, want 1", calls.Load())
			}
		})
	}
}
