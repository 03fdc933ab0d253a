package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/serve"
)

func init() {
	serveModelCommand.run = runServeModel
	register(serveModelCommand)
}

var serveModelCommand = &command{
	name:    "serve-model",
	summary: "serve the built-in local model as an OpenAI-compatible endpoint (/v1/chat/completions, /v1/models)",
	usage: "[--addr HOST:PORT] [--name NAME] [--weights FILE]\n\n" +
		"Example:\n" +
		"  retrain serve-model &   # then: retrain rollout --model http://127.0.0.1:8000/v1 --token-ids",
}

func runServeModel(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(serveModelCommand, s.err)
	addr := fs.String("addr", "127.0.0.1:8000", "listen `address` (host:port; port 0 picks a free one)")
	name := fs.String("name", local.DefaultName, "the model `id` clients ask for")
	weights := fs.String("weights", "", "weights `file` to serve instead of the built-in ones (see model/local/TRAINING.md)")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	m, err := endpoint.Local(model.Endpoint{Model: *name, Weights: *weights})
	if err != nil {
		return usageErrorf("%v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	h := serve.NewHandler(m, &serve.Options{
		Name:          m.Name(),
		ContextLength: m.Config().Context,
		BadRequest:    func(err error) bool { return errors.Is(err, local.ErrContextLength) },
	})
	fmt.Fprintf(s.err, "serving %s (the built-in local model: %s parameters, trained on calculator tasks) at http://%s/v1 — Ctrl-C stops it\n",
		m.Name(), m.ParamsText(), ln.Addr())
	return serve.Serve(ctx, ln, h, 5*time.Second)
}
