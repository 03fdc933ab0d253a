// Package endpoint: TEMPORARY STUB (lead's local, not committed).
package endpoint

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

type Options struct {
	MaxInFlight   int
	Notices       io.Writer
	FakeResponder func(*openaitest.ChatRequest) openaitest.Reply
}

type Opened struct {
	Model model.Model
	Name  string
	close []func()
}

func (o *Opened) Close() error {
	for _, f := range o.close {
		f()
	}
	o.close = nil
	return nil
}

func Open(ctx context.Context, ep model.Endpoint, opts *Options) (*Opened, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Notices == nil {
		o.Notices = io.Discard
	}
	op := &Opened{Name: ep.Model}
	baseURL := ep.BaseURL
	switch ep.Kind() {
	case model.EndpointLocal:
		lm, err := local.Default()
		if err != nil {
			return nil, err
		}
		op.Model = lm
		if op.Name == "" {
			op.Name = lm.Name()
		}
		fmt.Fprintf(o.Notices, "using the built-in local model\n")
		return op, nil
	case model.EndpointFake:
		srv := openaitest.NewServer(&openaitest.Options{Responder: o.FakeResponder})
		op.close = append(op.close, srv.Close)
		baseURL = srv.URL
		if op.Name == "" {
			op.Name = openaitest.DefaultModel
		}
		fmt.Fprintln(o.Notices, "using the in-process fake OpenAI server (scripted replies, not a real model)")
	}
	client, err := openai.New(&openai.Options{BaseURL: baseURL, Model: op.Name, APIKey: ep.APIKey, ReturnTokenIDs: ep.TokenIDs, MaxInFlight: o.MaxInFlight})
	if err != nil {
		op.Close()
		return nil, err
	}
	op.close = append(op.close, client.CloseIdleConnections)
	if op.Name == "" {
		names, err := client.Models(ctx)
		if err != nil {
			op.Close()
			return nil, fmt.Errorf("list the served models: %w", err)
		}
		if len(names) != 1 {
			op.Close()
			return nil, &ModelChoiceError{Served: names}
		}
		op.Name = names[0]
	}
	op.Model = client
	return op, nil
}

type ModelChoiceError struct{ Served []string }

func (e *ModelChoiceError) Error() string {
	return fmt.Sprintf("the server serves %d models (%s): name one", len(e.Served), strings.Join(e.Served, ", "))
}
