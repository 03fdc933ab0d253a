package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/serve"
)

// gateModel is a model whose Generate reports that it started (on
// entered) and waits for release; calls counts its calls.
type gateModel struct {
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int32
}

func (m *gateModel) Generate(ctx context.Context, req model.Request) (model.Completion, error) {
	m.calls.Add(1)
	m.entered <- struct{}{}
	select {
	case <-m.release:
	case <-ctx.Done():
		return model.Completion{}, ctx.Err()
	}
	return model.Completion{Text: "ok"}, nil
}

func newGate() *gateModel {
	return &gateModel{entered: make(chan struct{}, 8), release: make(chan struct{})}
}

const hi = `{"model":"model","messages":[{"role":"user","content":"hi"}]}`

// TestConcurrencyCap: past MaxConcurrent, a request is answered 429 with
// Retry-After at once, in OpenAI's error layout, not queued behind the
// others.
func TestConcurrencyCap(t *testing.T) {
	m := newGate()
	srv := httptest.NewServer(serve.NewHandler(m, &serve.Options{MaxConcurrent: 1}))
	t.Cleanup(srv.Close)
	var release sync.Once
	open := func() { release.Do(func() { close(m.release) }) }
	t.Cleanup(open) // before srv.Close, should the test fail with a request waiting
	url := srv.URL + "/v1/chat/completions"
	queued := &http.Client{Timeout: 10 * time.Second} // a server that queues fails the test, not hangs it

	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(hi))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-m.entered
	resp, err := queued.Post(url, "application/json", strings.NewReader(hi))
	if err != nil {
		t.Fatalf("a second request with --max-concurrent 1: %v; want 429 at once", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second request with --max-concurrent 1: status %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	code, v := post(t, url, hi) // the body, in OpenAI's layout
	e, _ := v["error"].(map[string]any)
	if code != http.StatusTooManyRequests || e["code"] != "rate_limit_exceeded" || !strings.Contains(fmt.Sprint(e["message"]), "--max-concurrent") {
		t.Errorf("429 body %v", v)
	}
	open()
	if code := <-first; code != 200 {
		t.Errorf("the first request: %d", code)
	}
	if code, v := post(t, url, hi); code != 200 {
		t.Errorf("a request once the slot is free: %d %v", code, v)
	}
}

// TestPromptTokenLimit: a prompt over MaxPromptTokens is answered 400
// (context_length_exceeded) before the model is called.
func TestPromptTokenLimit(t *testing.T) {
	m := newGate()
	close(m.release)
	words := func(r model.Request) int {
		n := 0
		for _, msg := range r.Messages {
			n += len(strings.Fields(msg.Content))
		}
		return n
	}
	srv := httptest.NewServer(serve.NewHandler(m, &serve.Options{PromptTokens: words, MaxPromptTokens: 10}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1/chat/completions"
	long := `{"model":"model","messages":[{"role":"user","content":"` + strings.Repeat("word ", 11) + `"}]}`
	code, v := post(t, url, long)
	e, _ := v["error"].(map[string]any)
	if code != 400 || e["code"] != "context_length_exceeded" || !strings.Contains(fmt.Sprint(e["message"]), "10 tokens") {
		t.Errorf("an 11-token prompt with a 10-token limit: %d %v", code, v)
	}
	if n := m.calls.Load(); n != 0 {
		t.Errorf("the model was called %d times for a refused prompt", n)
	}
	if code, v := post(t, url, hi); code != 200 {
		t.Errorf("a short prompt: %d %v", code, v)
	}
}

// TestSamplingRanges: every sampling number is checked against its
// allowed range, which the 400 answer states.
func TestSamplingRanges(t *testing.T) {
	m := newGate()
	close(m.release)
	srv := httptest.NewServer(serve.NewHandler(m, &serve.Options{ContextLength: 512}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1/chat/completions"
	req := func(extra string) string {
		return `{"model":"model","messages":[{"role":"user","content":"hi"}],` + extra + `}`
	}
	for _, c := range []struct{ body, want string }{
		{req(`"temperature":1e308`), "temperature is 1e+308; the allowed range is [0, 2]"},
		{req(`"temperature":-1`), "temperature is -1; the allowed range is [0, 2]"},
		{req(`"top_p":0`), "top_p is 0; the allowed range is (0, 1]"},
		{req(`"top_p":1.5`), "top_p is 1.5; the allowed range is (0, 1]"},
		{req(`"max_tokens":100000000`), "max_tokens is 100000000; the allowed range is [1, 512]"},
		{req(`"max_completion_tokens":0`), "max_completion_tokens is 0; the allowed range is [1, 512]"},
	} {
		code, v := post(t, url, c.body)
		e, _ := v["error"].(map[string]any)
		if code != 400 || !strings.Contains(fmt.Sprint(e["message"]), c.want) {
			t.Errorf("%s: %d %v; want 400 with %q", c.body, code, v, c.want)
		}
	}
	if code, v := post(t, url, req(`"temperature":2,"top_p":1,"max_tokens":512`)); code != 200 {
		t.Errorf("the bounds themselves: %d %v", code, v)
	}
	if n := m.calls.Load(); n != 1 {
		t.Errorf("the model was called %d times, want 1 (refused requests never reach it)", n)
	}
}
