package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/retrain-rl/retrain/internal/httpserve"
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
	usage: "[--addr HOST:PORT] [--name NAME] [--model local:FILE | --weights FILE] [--token TOKEN] [--max-concurrent N] [--max-prompt-tokens N]\n\n" +
		"The listener flags (--token, --insecure, --allow-origin, --max-conns, --max-body and the timeouts)\n" +
		"work as for \"retrain serve\"; see docs/security.md. Clients send the token as their API key.\n\n" +
		"Example:\n" +
		"  retrain serve-model &   # then: retrain rollout --model http://127.0.0.1:8000/v1 --token-ids",
}

func runServeModel(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(serveModelCommand, s.err)
	addr := fs.String("addr", "127.0.0.1:8000", "listen `address` (host:port; port 0 picks a free one)")
	name := fs.String("name", local.DefaultName, "the model `id` clients ask for")
	weights := fs.String("weights", "", "weights `file` to serve instead of the built-in ones (see model/local/TRAINING.md)")
	modelFlag := fs.String("model", "", "local:FILE serves the weights FILE (e.g. written by \"retrain train\"), like --weights FILE; \"local\" the built-in ones")
	maxConcurrent := fs.Int("max-concurrent", runtime.NumCPU(), "requests generating at once; more are answered 429 with Retry-After")
	maxPrompt := fs.Int("max-prompt-tokens", 0, "longest prompt in `tokens`; longer ones are answered 400 (default: the model's context window)")
	front := addFrontFlags(fs, "RETRAIN_SERVE_MODEL_TOKEN")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if *maxConcurrent < 1 || *maxPrompt < 0 {
		return usageErrorf("--max-concurrent must be at least 1 and --max-prompt-tokens not negative")
	}
	if err := front.check(); err != nil {
		return err
	}
	if *modelFlag != "" {
		ep, err := parseModelFlag(*modelFlag)
		if err != nil {
			return err
		}
		switch {
		case ep.Kind() != model.EndpointLocal:
			return usageErrorf("--model %q: serve-model serves the local model only; give local or local:FILE", *modelFlag)
		case ep.Weights != "" && *weights != "" && ep.Weights != *weights:
			return usageErrorf("--model %s and --weights %s name two weights files: give one", *modelFlag, *weights)
		case ep.Weights != "":
			*weights = ep.Weights
		}
	}
	m, err := endpoint.Local(model.Endpoint{Model: *name, Weights: *weights})
	if err != nil {
		return usageErrorf("%v", err)
	}
	ln, err := front.listen(*addr)
	if err != nil {
		return err
	}
	h := serve.NewHandler(m, &serve.Options{
		Name:          m.Name(),
		ContextLength: m.Config().Context,
		BadRequest:    func(err error) bool { return errors.Is(err, local.ErrContextLength) },

		MaxConcurrent:   *maxConcurrent,
		PromptTokens:    func(r model.Request) int { return len(local.Render(r.Messages)) },
		MaxPromptTokens: *maxPrompt,
	})
	fmt.Fprintf(s.err, "serving %s (the built-in local model: %s parameters, trained on calculator tasks) at http://%s/v1 — Ctrl-C stops it\n",
		m.Name(), m.ParamsText(), ln.Addr())
	so := front.serveOptions()
	so.Grace = 5 * time.Second
	return httpserve.Serve(ctx, ln, front.handler(h, refuseOpenAI), so)
}

// refuseOpenAI writes a request refused at the front door as an OpenAI
// error reply, as the handler writes its own.
func refuseOpenAI(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	typ := "BadRequestError"
	switch status {
	case http.StatusUnauthorized:
		typ = "AuthenticationError"
	case http.StatusForbidden:
		typ = "PermissionDeniedError"
	}
	serve.WriteError(w, status, msg, typ, "")
}
