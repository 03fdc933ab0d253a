package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/internal/httpserve"
	"github.com/retrain-rl/retrain/server"
	// Environments served besides the built-ins: OpenEnv servers, bridged.
)

func init() {
	serveCommand.run = runServe
	register(serveCommand)
}

var serveCommand = &command{
	name:    "serve",
	summary: "serve the environments over OpenEnv's protocol (WebSocket and HTTP) and rollouts as NDJSON",
	usage: "[flags]\n\n" +
		"Serves every registered environment at /envs/NAME/ (ws, reset, step, state, schema, metadata, sessions)\n" +
		"and --env at the root paths, so OpenEnv clients (e.g. TRL's) can drive it; POST /v1/rollouts runs whole\n" +
		"rollouts against a model server and streams the trajectories; /health and /metrics (Prometheus).\n" +
		"Browsers are refused (Origin, loopback Host, JSON bodies); beyond loopback a --token is required\n" +
		"(or --insecure); every connection and body is bounded. See docs/security.md.\n\n" +
		"Examples:\n" +
		"  retrain serve                                           # http://127.0.0.1:8080, single_turn at the root\n" +
		"  retrain serve --env calculator --env-config '{\"max_steps\": 5}' --max-sessions 4000\n" +
		"  RETRAIN_SERVE_TOKEN=s3cret retrain serve --addr 0.0.0.0:8080 --data-dir ./data",
}

// envConfigFlag collects --env-config values: a JSON object for --env, or
// NAME=JSON for another environment.
type envConfigFlag map[string]json.RawMessage

const defaultEnvKey = ""

func (f envConfigFlag) String() string { return "" }

func (f envConfigFlag) Set(s string) error {
	name, cfg := defaultEnvKey, strings.TrimSpace(s)
	if !strings.HasPrefix(cfg, "{") {
		n, c, ok := strings.Cut(s, "=")
		if !ok {
			return errors.New(`want a JSON object ('{"max_steps": 5}', for --env) or NAME='{...}'`)
		}
		name, cfg = strings.TrimSpace(n), strings.TrimSpace(c)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(cfg), &m); err != nil || m == nil {
		return fmt.Errorf("%q is not a JSON object; write e.g. '{\"max_steps\": 5}'", cfg)
	}
	f[name] = json.RawMessage(cfg)
	return nil
}

func runServe(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(serveCommand, s.err)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on (port 0 picks a free one)")
	defEnv := fs.String("env", "", "the `environment` served at the root paths (default single_turn)")
	envList := fs.String("envs", "", "comma-separated `names` of the environments to serve (default: all; see \"retrain envs\")")
	configs := envConfigFlag{}
	fs.Var(configs, "env-config", "environment configuration: a JSON `object` for --env, or NAME='{...}' (repeatable)")
	maxSessions := fs.Int("max-sessions", server.DefaultMaxSessions, "sessions open at once; more are refused with CAPACITY_REACHED")
	idle := fs.Duration("idle-timeout", server.DefaultIdleTimeout, "close a session after this long without a request")
	resume := fs.Duration("resume-timeout", server.DefaultResumeTimeout, "how long a session whose WebSocket dropped waits to be resumed")
	stepTimeout := fs.Duration("step-timeout", server.DefaultStepTimeout, "time limit of one reset or step")
	var modelURLs listFlag
	fs.Var(&modelURLs, "model-url", "base `URL` of an OpenAI-compatible server that /v1/rollouts requests may name (repeatable; \"local\" and \"fake\" are always allowed, nothing else is)")
	dataDir := fs.String("data-dir", "", "`directory` that /v1/rollouts may read datasets from (default: none; requests send their tasks)")
	maxRollouts := fs.Int("max-rollouts", server.DefaultMaxRollouts, "rollout requests running at once")
	maxSessionBytes := fs.Int64("max-session-bytes", server.DefaultMaxSessionBytes, "`bytes` of conversation a session may hold; past it the episode is truncated")
	maxActionBytes := fs.Int64("max-action-bytes", server.DefaultMaxActionBytes, "`bytes` of one step's action; a longer one is refused with 413")
	maxEpisodes := fs.Int("max-episodes-per-request", server.DefaultMaxEpisodesPerRequest, "episodes (tasks × n) of one /v1/rollouts request")
	readyFile := fs.String("ready-file", "", "write the server's URL to this `file` once it listens")
	quiet := fs.Bool("quiet", false, "log only warnings and errors")
	front := addFrontFlags(fs, "RETRAIN_SERVE_TOKEN")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *maxSessions < 1:
		return usageErrorf("--max-sessions is %d; it must be at least 1", *maxSessions)
	case *idle <= 0, *resume <= 0, *stepTimeout <= 0:
		return usageErrorf("--idle-timeout, --resume-timeout and --step-timeout must be positive")
	case *maxRollouts < 1:
		return usageErrorf("--max-rollouts is %d; it must be at least 1", *maxRollouts)
	case *maxSessionBytes < 1, *maxActionBytes < 1, *maxEpisodes < 1:
		return usageErrorf("--max-session-bytes, --max-action-bytes and --max-episodes-per-request must be at least 1")
	}
	if err := front.check(); err != nil {
		return err
	}
	if *dataDir != "" {
		if st, err := os.Stat(*dataDir); err != nil || !st.IsDir() {
			return usageErrorf("--data-dir %s is not a directory", *dataDir)
		}
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	opts := &server.Options{
		DefaultEnv:      *defEnv,
		MaxSessions:     *maxSessions,
		IdleTimeout:     *idle,
		ResumeTimeout:   *resume,
		StepTimeout:     *stepTimeout,
		Token:           *front.token,
		AllowOrigins:    front.allowOrigins,
		MaxMessageBytes: *front.maxBody,
		BodyTimeout:     *front.bodyTimeout,
		DataDir:         *dataDir,
		ModelURLs:       modelURLs,
		MaxRollouts:     *maxRollouts,

		MaxSessionBytes:       *maxSessionBytes,
		MaxActionBytes:        *maxActionBytes,
		MaxEpisodesPerRequest: *maxEpisodes,

		Logger: slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level})),
	}
	if *envList != "" {
		for _, n := range strings.Split(*envList, ",") {
			if n = strings.TrimSpace(n); n != "" {
				opts.Envs = append(opts.Envs, n)
			}
		}
	}
	if len(configs) > 0 {
		opts.EnvConfig = map[string]json.RawMessage{}
		for name, cfg := range configs {
			if name == defaultEnvKey {
				if *defEnv == "" {
					name = server.DefaultEnvName
				} else {
					name = *defEnv
				}
			}
			opts.EnvConfig[name] = cfg
		}
	}
	srv, err := server.New(opts)
	if err != nil {
		return usageErrorf("%s (run \"retrain envs\" to list the environments)", strings.TrimPrefix(err.Error(), "server: "))
	}
	defer srv.Close()
	// Check the configurations now rather than at the first session.
	for name, cfg := range opts.EnvConfig {
		f, err := env.New(name, cfg)
		if err != nil {
			return usageErrorf("--env-config: %v", err)
		}
		f.Close()
	}

	ln, err := front.listen(*addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if *front.token == "" && !httpsec.IsLoopbackAddr(ln.Addr()) {
		fmt.Fprintf(s.err, "warning: listening on %s without a token (--insecure): anyone who can reach it can run environments and rollouts\n", ln.Addr())
	}
	fmt.Fprintf(s.out, "listening on %s\n", url)
	fmt.Fprintf(s.err, "retrain serve: %s at the root, all environments under %s/envs/NAME (see %s/envs); %s/metrics, %s/health\n",
		srv.DefaultEnv(), url, url, url, url)
	if *readyFile != "" {
		// The listener queues connections already: they are served as soon
		// as Serve starts.
		tmp := *readyFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(url+"\n"), 0o644); err == nil {
			err = os.Rename(tmp, *readyFile)
		}
		if err != nil {
			ln.Close()
			srv.Close()
			return fmt.Errorf("--ready-file: %w", err)
		}
	}
	// The server checks each request itself (Options.Token, AllowOrigins,
	// MaxMessageBytes, BodyTimeout); httpserve bounds the connections.
	so := front.serveOptions()
	so.ErrorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)
	so.Stopping = func() { fmt.Fprintln(s.err, "retrain serve: shutting down") }
	err = httpserve.Serve(ctx, ln, srv, so)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	return err
}

// listFlag is a repeatable flag collecting its values.
type listFlag []string

func (f *listFlag) String() string { return strings.Join(*f, ",") }

func (f *listFlag) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty")
	}
	*f = append(*f, s)
	return nil
}
