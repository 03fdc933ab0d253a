package openai

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		schedule []openaitest.Failure
	}{
		{"500", []openaitest.Failure{openaitest.Fail500}},
		{"503", []openaitest.Failure{openaitest.Fail503}},
		{"429", []openaitest.Failure{openaitest.Fail429}},
		{"dropped connection", []openaitest.Failure{openaitest.FailDrop}},
		{"malformed JSON", []openaitest.Failure{openaitest.FailMalformed}},
		{"malformed twice", []openaitest.Failure{openaitest.FailMalformed, openaitest.FailMalformed}},
		{"mixed", []openaitest.Failure{openaitest.Fail500, openaitest.FailDrop, openaitest.Fail429, openaitest.Fail503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: tt.schedule}})
			got, err := newClient(t, s, nil).Generate(context.Background(), userRequest("hi"))
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if got.Text != "You said: hi" {
				t.Errorf("Text = %q", got.Text)
			}
			if want := len(tt.schedule) + 1; s.Requests() != want {
				t.Errorf("server saw %d requests, want %d", s.Requests(), want)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		failure   openaitest.Failure
		retries   int
		attempts  int
		sentinel  error
		wantInErr string
	}{
		{"500 after MaxRetries", openaitest.Fail500, 2, 3, nil, "gave up after 3 attempts"},
		{"malformed at most twice", openaitest.FailMalformed, 5, 3, ErrMalformedResponse, "after 3 attempts"},
		{"drop", openaitest.FailDrop, 1, 2, ErrConnection, "gave up after 2 attempts"},
		{"no retries", openaitest.Fail503, -1, 1, nil, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Rates: map[openaitest.Failure]float64{tt.failure: 1}}})
			_, err := newClient(t, s, &Options{MaxRetries: tt.retries}).Generate(context.Background(), userRequest("hi"))
			if err == nil {
				t.Fatal("Generate succeeded against a failing server")
			}
			if s.Requests() != tt.attempts {
				t.Errorf("server saw %d requests, want %d", s.Requests(), tt.attempts)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not match %v", err, tt.sentinel)
			}
			if !contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not say %q", err, tt.wantInErr)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, f := range []openaitest.Failure{openaitest.Fail429, openaitest.Fail503} {
		t.Run(string(f), func(t *testing.T) {
			const wait = 150 * time.Millisecond
			s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{f}, RetryAfter: wait}})
			start := time.Now()
			if _, err := newClient(t, s, nil).Generate(context.Background(), userRequest("hi")); err != nil {
				t.Fatal(err)
			}
			// The backoff alone is at most 5ms; only Retry-After explains the wait.
			if d := time.Since(start); d < wait {
				t.Errorf("retried after %v, before Retry-After's %v", d, wait)
			}
		})
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	t.Run("400", func(t *testing.T) {
		s := newServer(t, &openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
			return openaitest.Reply{Error: &openaitest.ErrorReply{Message: "temperature must be non-negative", Type: "BadRequestError"}}
		}})
		_, err := newClient(t, s, nil).Generate(context.Background(), userRequest("hi"))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Message != "temperature must be non-negative" {
			t.Errorf("error = %v, want an *APIError with status 400 and the server's message", err)
		}
		if s.Requests() != 1 {
			t.Errorf("server saw %d requests, want 1", s.Requests())
		}
	})
	t.Run("401", func(t *testing.T) {
		s := newServer(t, &openaitest.Options{APIKey: "right"})
		_, err := newClient(t, s, &Options{APIKey: "wrong"}).Generate(context.Background(), userRequest("hi"))
		if !errors.Is(err, ErrUnauthorized) || !contains(err.Error(), "OPENAI_API_KEY") || !contains(err.Error(), "Unauthorized") {
			t.Errorf("error = %v, want ErrUnauthorized saying to set the key", err)
		}
		if s.Requests() != 1 {
			t.Errorf("server saw %d requests, want 1", s.Requests())
		}
		if _, err := newClient(t, s, &Options{APIKey: "right"}).Generate(context.Background(), userRequest("hi")); err != nil {
			t.Errorf("with the right key: %v", err)
		}
	})
}

func TestTimeout(t *testing.T) {
	t.Run("gives up", func(t *testing.T) {
		s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.FailTimeout}}})
		_, err := newClient(t, s, &Options{Timeout: 50 * time.Millisecond, MaxRetries: -1}).Generate(context.Background(), userRequest("hi"))
		if !errors.Is(err, ErrTimeout) || !contains(err.Error(), "Options.Timeout") {
			t.Errorf("error = %v, want ErrTimeout", err)
		}
	})
	t.Run("retried", func(t *testing.T) {
		s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.FailTimeout}}})
		if _, err := newClient(t, s, &Options{Timeout: 50 * time.Millisecond}).Generate(context.Background(), userRequest("hi")); err != nil {
			t.Errorf("a timed-out attempt was not retried: %v", err)
		}
		if s.Requests() != 2 {
			t.Errorf("server saw %d requests, want 2", s.Requests())
		}
	})
}

func TestMaxInFlight(t *testing.T) {
	const limit = 3
	s := newServer(t, &openaitest.Options{Latency: 20 * time.Millisecond})
	c := newClient(t, s, &Options{MaxInFlight: limit})
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for range 24 {
		wg.Go(func() {
			_, err := c.Generate(context.Background(), userRequest("hi"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.MaxConcurrent(); got > limit || got < 1 {
		t.Errorf("server saw %d concurrent requests, want between 1 and %d", got, limit)
	}
}

func TestContextCancel(t *testing.T) {
	t.Run("during a request", func(t *testing.T) {
		s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.FailTimeout}}})
		c := newClient(t, s, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Generate(ctx, userRequest("hi"))
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
			t.Errorf("error = %v, want the context's deadline (not a retryable timeout)", err)
		}
		if s.Requests() != 1 {
			t.Errorf("server saw %d requests after the context ended, want 1", s.Requests())
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.Fail429}, RetryAfter: time.Hour}})
		c := newClient(t, s, nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Generate(ctx, userRequest("hi"))
		if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
			t.Errorf("error = %v after %v, want context.Canceled promptly", err, time.Since(start))
		}
	})
	t.Run("waiting for a slot", func(t *testing.T) {
		s := newServer(t, &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.FailTimeout}}})
		c := newClient(t, s, &Options{MaxInFlight: 1})
		hang, stop := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := c.Generate(hang, userRequest("hang"))
			done <- err
		}()
		for s.Requests() == 0 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := c.Generate(ctx, userRequest("queued"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("queued request: %v, want context.DeadlineExceeded", err)
		}
		if s.Requests() != 1 {
			t.Errorf("the queued request reached the server")
		}
		stop()
		<-done
	})
}

func TestBackoff(t *testing.T) {
	c := &Client{opts: Options{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}}
	for attempt, limit := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		limit *= time.Millisecond
		for range 50 {
			if d := c.backoff(attempt); d < 0 || d > limit {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", attempt, d, limit)
			}
		}
	}
	if d := c.backoff(100); d > time.Second {
		t.Errorf("backoff(100) = %v overflows the cap", d)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"Wed, 01 Jan 2025 00:00:10 GMT", 10 * time.Second, true},
		{"Tue, 31 Dec 2024 00:00:00 GMT", 0, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
