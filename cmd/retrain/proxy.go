package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain/internal/httpserve"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/serve"
	"github.com/retrain-rl/retrain/proxy"
	"github.com/retrain-rl/retrain/rollout"
)

func init() {
	proxyCommand.run = runProxy
	register(proxyCommand)
}

var proxyCommand = &command{
	name:    "proxy",
	summary: "record any agent token for token: an OpenAI-compatible proxy that writes each session as trajectories",
	usage: "[--addr HOST:PORT] [--upstream URL] [--out FILE] [flags]\n\n" +
		"Agents set their base URL to http://ADDR/sessions/ID/v1 (or send the X-Retrain-Session header to\n" +
		"http://ADDR/v1) and change nothing else. Each chat call goes to --upstream (the built-in local model,\n" +
		"in-process, when none is given) with log-probs and token ids asked for, and is recorded as a turn;\n" +
		"POST /sessions/ID/end with {\"reward\": R, \"info\": {...}} (both optional) writes the session's\n" +
		"trajectories to --out. Sessions idle past --idle-timeout are written as truncated. The listener\n" +
		"flags work as for \"retrain serve\"; see docs/security.md and docs/proxy.md.\n\n" +
		"Examples:\n" +
		"  retrain proxy --out agent.jsonl                                   # the built-in model\n" +
		"  retrain proxy --upstream http://127.0.0.1:8000/v1 --model Qwen/Qwen3-8B --out agent.jsonl\n" +
		"  OPENAI_BASE_URL=http://127.0.0.1:8100/sessions/run-1/v1 OPENAI_API_KEY=x python agent.py\n" +
		"  curl -H 'Content-Type: application/json' -d '{\"reward\": 1}' http://127.0.0.1:8100/sessions/run-1/end",
}

func runProxy(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(proxyCommand, s.err)
	addr := fs.String("addr", "127.0.0.1:8100", "listen `address` (host:port; port 0 picks a free one)")
	upstream := fs.String("upstream", "", "base `URL` of the OpenAI-compatible server to forward to, e.g. http://127.0.0.1:8000/v1 (default: the built-in local model, in-process)")
	upstreamKey := fs.String("upstream-key", "", "API `key` sent to the upstream (default $RETRAIN_UPSTREAM_KEY)")
	modelName := fs.String("model", "", "model `id` sent upstream in place of the one each agent names (default: the agent's)")
	weights := fs.String("weights", "", "weights `file` of the built-in model (without --upstream)")
	out := fs.String("out", "proxy.jsonl", "trajectories `file` (JSON lines, appended to)")
	idle := fs.Duration("idle-timeout", proxy.DefaultIdleTimeout, "write a session as truncated after this long without a call")
	maxSessions := fs.Int("max-sessions", proxy.DefaultMaxSessions, "sessions open at once; a call opening one more is answered 503")
	maxCalls := fs.Int("max-calls", proxy.DefaultMaxCalls, "calls of one session; more are answered 429")
	callTimeout := fs.Duration("call-timeout", proxy.DefaultCallTimeout, "time limit of one upstream call, a streamed reply included; slower ones are answered 504")
	verbose := fs.Bool("v", false, "print a line per call")
	front := addFrontFlags(fs, "RETRAIN_PROXY_TOKEN")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *idle <= 0 || *callTimeout <= 0:
		return usageErrorf("--idle-timeout and --call-timeout must be positive")
	case *maxSessions < 1 || *maxCalls < 1:
		return usageErrorf("--max-sessions and --max-calls must be at least 1")
	case *out == "":
		return usageErrorf("--out is empty; name the file the trajectories are written to")
	case *upstream != "" && *weights != "":
		return usageErrorf("--weights is for the built-in model; with --upstream the upstream serves its own")
	}
	if *upstream != "" && !strings.HasPrefix(*upstream, "http://") && !strings.HasPrefix(*upstream, "https://") {
		return usageErrorf("--upstream %q: give the server's base URL, e.g. http://127.0.0.1:8000/v1", *upstream)
	}
	if err := front.check(); err != nil {
		return err
	}
	if *upstreamKey == "" {
		*upstreamKey = os.Getenv("RETRAIN_UPSTREAM_KEY")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	upURL := *upstream
	what := upURL
	if upURL == "" {
		// The built-in model, served on a loopback port of its own, so the
		// proxy reaches every upstream the same way.
		m, err := endpoint.Local(model.Endpoint{Model: local.DefaultName, Weights: *weights})
		if err != nil {
			return usageErrorf("%v", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen for the built-in model: %w", err)
		}
		h := serve.NewHandler(m, &serve.Options{
			Name:          m.Name(),
			ContextLength: m.Config().Context,
			BadRequest:    func(err error) bool { return errors.Is(err, local.ErrContextLength) },
			PromptTokens:  func(r model.Request) int { return len(local.Render(r.Messages)) },
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve.Serve(ctx, ln, h, time.Second) //nolint:errcheck // stops with ctx
		}()
		upURL = "http://" + ln.Addr().String() + "/v1"
		if *modelName == "" {
			*modelName = m.Name()
		}
		what = fmt.Sprintf("the built-in local model %s (%s parameters), in-process", m.Name(), m.ParamsText())
	}
	w, err := rollout.OpenJSONL(*out, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	o := &proxy.Options{Upstream: upURL, APIKey: *upstreamKey, Model: *modelName, Sink: w,
		IdleTimeout: *idle, MaxSessions: *maxSessions, MaxCalls: *maxCalls, CallTimeout: *callTimeout}
	var printMu sync.Mutex
	if *verbose {
		o.OnCall = func(id string, c proxy.Call) {
			printMu.Lock()
			defer printMu.Unlock()
			if c.Failure != nil {
				fmt.Fprintf(s.err, "session %s call %d: failed (%s): %s\n", id, c.N, c.Failure.Cause, c.Failure.Error)
				return
			}
			pm := "unknown"
			if c.PrefixMatch != nil {
				pm = fmt.Sprint(*c.PrefixMatch)
			}
			fmt.Fprintf(s.err, "session %s call %d: branch %d turn %d, prefix_match %s\n", id, c.N, c.Branch, c.Turn, pm)
		}
	}
	p, err := proxy.New(o)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ln, err := front.listen(*addr)
	if err != nil {
		p.Close()
		return err
	}
	fmt.Fprintf(s.err, "recording agents at http://%s/sessions/ID/v1 → %s; trajectories to %s — Ctrl-C stops it\n", ln.Addr(), what, *out)
	so := front.serveOptions()
	so.Grace = 5 * time.Second
	err = httpserve.Serve(ctx, ln, front.handler(p, refuseOpenAI), so)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	cancel()
	return err
}
