// Package endpoint opens a [model.Endpoint]: the one place that turns the
// serialisable description of a model into a [model.Model]. The CLI, the
// server, the environments that play a model opponent and (later) remote
// workers all open models here.
//
//	opened, err := endpoint.Open(ctx, model.Endpoint{BaseURL: "fake"}, &endpoint.Options{Notice: os.Stderr})
//	if err != nil { ... }
//	defer opened.Close()
//	comp, err := opened.Model.Generate(ctx, req) // opened.Name is the served model's name
//
// The kinds of endpoint (see [model.Endpoint.Kind]):
//   - "local" (or empty): the built-in local model, or the weights file
//     Endpoint.Weights (the format of model/local's EncodeWeights);
//   - "fake": an in-process fake OpenAI-compatible server (openaitest) with
//     scripted replies, by default [openaitest.ArithmeticResponder];
//   - an http(s) URL: an OpenAI-compatible server, through model/openai.
//
// # Environment
//
// Two environment variables give defaults, read in one place, by
// [openai.New], for URL endpoints only:
//   - $OPENAI_API_KEY is the API key when Endpoint.APIKey is empty;
//   - $OPENAI_BASE_URL is the base URL when Endpoint.BaseURL is empty and
//     Options.EmptyIsOpenAI is set (else an empty BaseURL is the local
//     model), falling back to openai.DefaultBaseURL.
package endpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// Options hold what opening needs beyond the serialisable description. The
// zero value (or nil) works.
type Options struct {
	// MaxInFlight caps the requests in flight to an OpenAI-compatible
	// server (default openai.DefaultMaxInFlight).
	MaxInFlight int
	// Notice, when set, receives the one-line notice printed when the
	// built-in local model or the fake server is used.
	Notice io.Writer
	// Responder scripts the fake server's replies (default
	// openaitest.ArithmeticResponder).
	Responder func(*openaitest.ChatRequest) openaitest.Reply
	// HTTPClient, when set, sends the requests to an OpenAI-compatible
	// server (see openai.Options.HTTPClient).
	HTTPClient *http.Client
	// ModelHint ends the error for a server that serves no model or several:
	// where to name one (default "name one in the endpoint's model"), e.g.
	// "name one with --model-name" for the CLI.
	ModelHint string
	// EmptyIsOpenAI makes an empty Endpoint.BaseURL mean the
	// OpenAI-compatible server at $OPENAI_BASE_URL (else
	// openai.DefaultBaseURL) instead of the local model: the older default
	// of a game's model opponent.
	EmptyIsOpenAI bool
	// RequestTimeout bounds each attempt of a request to an
	// OpenAI-compatible server (default openai.DefaultTimeout; see
	// openai.Options.Timeout).
	RequestTimeout time.Duration
	// MaxRetries is how many times a failed request to an OpenAI-compatible
	// server is retried (default openai.DefaultMaxRetries; negative means
	// never; see openai.Options.MaxRetries).
	MaxRetries int
	// MaxReplyBytes bounds the size of a reply from an OpenAI-compatible
	// server (default openai.DefaultMaxReplyBytes; see
	// openai.Options.MaxReplyBytes).
	MaxReplyBytes int
	// NoLookup makes Open do no I/O: an OpenAI-compatible server with no
	// Endpoint.Model named is asked which model it serves on the first
	// request instead, and Opened.Name is then empty.
	NoLookup bool
}

// Opened is an opened endpoint.
type Opened struct {
	// Model generates completions; safe for concurrent use.
	Model model.Model
	// Name is the served model's name: Endpoint.Model, or the one the
	// server serves, or the local model's name.
	Name string
	// Kind is the endpoint's kind (see model.Endpoint.Kind).
	Kind string
	// PolicyVersion names the policy: Endpoint.PolicyVersion, else the local
	// model's name and weights hash, else Name.
	PolicyVersion string
	// LogprobsMode is what the completions' log-probs are: model.LogprobsRaw
	// or model.LogprobsProcessed.
	LogprobsMode string

	close func()
}

// Close releases what the endpoint holds: it stops the fake server and
// closes idle connections. It is safe to call more than once.
func (o *Opened) Close() {
	if o.close != nil {
		o.close()
		o.close = nil
	}
}

// ErrInvalid is matched (errors.Is) by the errors of [Open] that the
// description's author must fix (a bad URL or weights file, a server that
// serves several models while none is named): a usage error for a CLI, a 400
// for a server. Other errors (a server that cannot be reached) are not.
var ErrInvalid = errors.New("invalid model endpoint")

// invalid marks err as ErrInvalid without changing its message.
type invalid struct{ err error }

func (e *invalid) Error() string   { return e.err.Error() }
func (e *invalid) Unwrap() []error { return []error{e.err, ErrInvalid} }

func invalidf(format string, args ...any) error {
	return &invalid{fmt.Errorf(format, args...)}
}

// Open opens ep. For an OpenAI-compatible URL with no Model named, it asks
// the server which model it serves (which also checks that it is up before
// a long run). The caller closes the result.
func Open(ctx context.Context, ep model.Endpoint, opts *Options) (*Opened, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ModelHint == "" {
		o.ModelHint = "name one in the endpoint's model"
	}
	kind := ep.Kind()
	if o.EmptyIsOpenAI && strings.TrimSpace(ep.BaseURL) == "" {
		if ep.Weights != "" {
			return nil, invalidf("model weights %q are for the local model only; set base_url to %q", ep.Weights, model.EndpointLocal)
		}
		kind = "openai"
	} else if kind != "openai" || ep.Weights != "" {
		// A URL alone is checked by openai.New, which says what to give.
		if err := ep.Validate(); err != nil {
			return nil, &invalid{err}
		}
	}
	if m := ep.LogprobsMode; m != "" && m != model.LogprobsRaw && m != model.LogprobsProcessed {
		return nil, invalidf("logprobs_mode %q is neither %q nor %q", m, model.LogprobsRaw, model.LogprobsProcessed)
	}
	switch kind {
	case model.EndpointLocal:
		return openLocal(ep, &o)
	case model.EndpointFake:
		opened, err := openFake(ctx, ep, &o)
		if err != nil {
			return nil, err
		}
		opened.LogprobsMode = cmp.Or(ep.LogprobsMode, model.LogprobsRaw)
		opened.PolicyVersion = cmp.Or(ep.PolicyVersion, opened.Name)
		return opened, nil
	}
	opened, err := openOpenAI(ctx, strings.TrimSpace(ep.BaseURL), ep, &o)
	if err != nil {
		return nil, err
	}
	opened.LogprobsMode = cmp.Or(ep.LogprobsMode, model.LogprobsRaw)
	opened.PolicyVersion = cmp.Or(ep.PolicyVersion, opened.Name)
	return opened, nil
}

// openLocal opens the built-in model or a weights file.
func openLocal(ep model.Endpoint, o *Options) (*Opened, error) {
	lm, err := Local(ep)
	if err != nil {
		return nil, err
	}
	name := ep.Model
	if name == "" {
		name = lm.Name()
	}
	if o.Notice != nil {
		if ep.Weights == "" {
			fmt.Fprintf(o.Notice, "using the built-in local model (a %s-parameter toy trained on calculator tasks; point --model at an OpenAI-compatible server for real work)\n", lm.ParamsText())
		} else {
			fmt.Fprintf(o.Notice, "using the local model with weights from %s (%s parameters)\n", ep.Weights, lm.ParamsText())
		}
	}
	return &Opened{Model: lm, Name: name, Kind: model.EndpointLocal,
		PolicyVersion: cmp.Or(ep.PolicyVersion, lm.PolicyVersion()), LogprobsMode: lm.LogprobsMode()}, nil
}

// Local loads the local model ep describes: the built-in weights (loaded
// once and shared) when ep.Weights is empty, else the weights file, named
// ep.Model (default local.DefaultName). A file that cannot be read or is not
// a weights file is an [ErrInvalid] error that says what to give instead.
func Local(ep model.Endpoint) (*local.Model, error) {
	if ep.Weights == "" {
		if ep.Model == "" || ep.Model == local.DefaultName {
			lm, err := local.Default()
			if err != nil {
				return nil, fmt.Errorf("load the built-in local model: %w", err)
			}
			return lm, nil
		}
		lm, err := local.New(&local.Options{Name: ep.Model})
		if err != nil {
			return nil, fmt.Errorf("load the built-in local model: %w", err)
		}
		return lm, nil
	}
	b, err := os.ReadFile(ep.Weights)
	if err != nil {
		return nil, invalidf("model weights: %w; give a weights file written by model/local's trainer (see model/local/TRAINING.md), or leave weights out for the built-in model", err)
	}
	lm, err := local.New(&local.Options{Name: ep.Model, Weights: b})
	if err != nil {
		return nil, invalidf("model weights %s: %w", ep.Weights, err)
	}
	return lm, nil
}

// openFake starts the in-process fake server and opens a client to it.
func openFake(ctx context.Context, ep model.Endpoint, o *Options) (*Opened, error) {
	responder := o.Responder
	if responder == nil {
		responder = openaitest.ArithmeticResponder
	}
	srv := openaitest.NewServer(&openaitest.Options{Responder: responder})
	if ep.Model == "" {
		ep.Model = openaitest.DefaultModel
	}
	if o.Notice != nil {
		fmt.Fprintln(o.Notice, "using the in-process fake OpenAI server (scripted replies, not a real model)")
	}
	opened, err := openOpenAI(ctx, srv.URL, ep, o)
	if err != nil {
		srv.Close()
		return nil, err
	}
	opened.Kind = model.EndpointFake
	closeClient := opened.close
	opened.close = func() { closeClient(); srv.Close() }
	return opened, nil
}

// openOpenAI opens a client for the OpenAI-compatible server at baseURL
// (empty: openai.New's default) and finds the served model's name.
func openOpenAI(ctx context.Context, baseURL string, ep model.Endpoint, o *Options) (*Opened, error) {
	client, err := openai.New(&openai.Options{
		BaseURL:        baseURL,
		Model:          ep.Model,
		APIKey:         ep.APIKey,
		ReturnTokenIDs: ep.TokenIDs,
		MaxInFlight:    o.MaxInFlight,
		HTTPClient:     o.HTTPClient,
		Timeout:        o.RequestTimeout,
		MaxRetries:     o.MaxRetries,
		MaxReplyBytes:  o.MaxReplyBytes,
	})
	if err != nil {
		return nil, &invalid{err}
	}
	if o.NoLookup && ep.Model == "" {
		return &Opened{Model: client, Kind: "openai", close: client.CloseIdleConnections}, nil
	}
	name, err := client.ServedModel(ctx)
	if err != nil {
		client.CloseIdleConnections()
		var sm *openai.ServedModelsError
		if errors.As(err, &sm) {
			return nil, invalidf("the server serves %d models (%s): %s", len(sm.Models), strings.Join(sm.Models, ", "), o.ModelHint)
		}
		return nil, err
	}
	return &Opened{Model: client, Name: name, Kind: "openai", close: client.CloseIdleConnections}, nil
}
