package openai

import (
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

func newServer(t testing.TB, o *openaitest.Options) *openaitest.Server {
	t.Helper()
	s := openaitest.NewServer(o)
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client for s with fast backoff; o's zero fields get
// test defaults.
func newClient(t testing.TB, s *openaitest.Server, o *Options) *Client {
	t.Helper()
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.BaseURL == "" {
		opts.BaseURL = s.URL
	}
	if opts.Model == "" {
		opts.Model = openaitest.DefaultModel
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase = time.Millisecond
		opts.BackoffMax = 5 * time.Millisecond
	}
	c, err := New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func userRequest(text string) model.Request {
	return model.Request{Messages: []retrain.Message{{Role: retrain.RoleUser, Content: text}}}
}

func ptr[T any](v T) *T { return &v }
