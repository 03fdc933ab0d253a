package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/internal/httpsec"
	wire "github.com/retrain-rl/retrain/internal/openenvwire"
	"github.com/retrain-rl/retrain/model"
)

// Defaults of [Options].
const (
	DefaultMaxSessions     = 10000
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultResumeTimeout   = time.Minute
	DefaultStepTimeout     = 5 * time.Minute
	DefaultMaxMessageBytes = 16 << 20
	DefaultMaxRollouts     = 8
	// DefaultMaxSessionBytes bounds the conversation a session holds.
	DefaultMaxSessionBytes = 16 << 20
	// DefaultMaxActionBytes bounds one step's action.
	DefaultMaxActionBytes = 1 << 20
	// DefaultMaxEpisodesPerRequest bounds the episodes (tasks × n) of one
	// /v1/rollouts request.
	DefaultMaxEpisodesPerRequest = 10000
	// DefaultEnvName is the default environment when Options.DefaultEnv is
	// empty and it is served.
	DefaultEnvName = "single_turn"
)

// Options configure a [Server]. Nil or zero values mean the defaults.
type Options struct {
	// Registry provides the environments; nil means env.Default.
	Registry *env.Registry
	// Envs limits the served environments to these names; empty means every
	// environment of Registry.
	Envs []string
	// DefaultEnv is the environment served at the root paths (/ws, /reset,
	// ...). Empty means DefaultEnvName when it is served, else the first
	// served name.
	DefaultEnv string
	// EnvConfig holds the configuration of environments, by name; an
	// environment without an entry gets its defaults.
	EnvConfig map[string]json.RawMessage
	// MaxSessions bounds the sessions open at once (default
	// DefaultMaxSessions); more are refused with CAPACITY_REACHED.
	MaxSessions int
	// IdleTimeout closes a session that has seen no request for this long,
	// connected or not (default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// ResumeTimeout is how long a WebSocket session whose connection dropped
	// waits to be resumed before it is closed (default DefaultResumeTimeout).
	ResumeTimeout time.Duration
	// StepTimeout bounds each environment call: Setup, Reset, Step
	// (default DefaultStepTimeout). A request's timeout_s may only shorten it.
	StepTimeout time.Duration
	// Token, when set, is required on every route but /health: as
	// "Authorization: Bearer Token", or for a WebSocket client that cannot
	// set headers, as the subprotocol "bearer.Token" or ?token=Token (see
	// package internal/httpsec).
	Token string
	// ModelURLs are the base URLs of OpenAI-compatible servers that
	// /v1/rollouts requests may name (model.base_url); the built-in local
	// model and the fake are always allowed, and nothing else is.
	ModelURLs []string
	// AllowOrigins lists the origins (as browsers send them:
	// "https://app.example") whose requests are served; a request with
	// another Origin header, WebSocket upgrades included, is refused with
	// 403. Empty (the default): every request with an Origin is refused.
	AllowOrigins []string
	// BodyTimeout bounds the reading of a request body (default
	// httpsec.DefaultBodyTimeout).
	BodyTimeout time.Duration
	// DataDir is the directory that datasets named by /v1/rollouts requests
	// are read from (paths may not leave it). Empty refuses dataset paths:
	// requests must then carry their tasks.
	DataDir string
	// MaxRollouts bounds the /v1/rollouts requests running at once (default
	// DefaultMaxRollouts); more get 503.
	MaxRollouts int
	// MaxMessageBytes bounds a WebSocket message or request body (default
	// DefaultMaxMessageBytes); a longer body is answered 413.
	MaxMessageBytes int64
	// MaxSessionBytes bounds the conversation a session holds: the bytes of
	// its last observation, which carries the conversation so far (default
	// DefaultMaxSessionBytes). Past it the episode is truncated (its reply
	// says why, in info.truncated_reason) and the environment is released;
	// a reset starts a new one.
	MaxSessionBytes int64
	// MaxActionBytes bounds the action of one step (default
	// DefaultMaxActionBytes); a longer one is refused with 413.
	MaxActionBytes int64
	// MaxEpisodesPerRequest bounds the episodes, tasks × n, of one
	// /v1/rollouts request (default DefaultMaxEpisodesPerRequest); more
	// are refused with 400.
	MaxEpisodesPerRequest int

	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// Server serves environments over OpenEnv's protocol. It is an
// http.Handler; Close it to end its sessions and background work.
type Server struct {
	opts    Options
	reg     *env.Registry
	log     *slog.Logger
	mux     *http.ServeMux
	front   http.Handler // mux behind the checks of every request
	metrics *metrics

	ctx    context.Context // canceled by Close; WebSocket reads use it
	cancel context.CancelFunc

	sessions *sessionTable

	factories   factoryCache    // shared factories of served environments
	httpDefault defaultSessions // the sessions of HTTP requests that name none

	rollouts  chan struct{} // slots of concurrent rollout requests
	modelURLs []string      // Options.ModelURLs, normalized

	// life is whether the server is closed, with the connections and
	// goroutines (WebSocket handlers, kicks, the reaper) Close ends.
	life *lifecycle
}

// New returns a server for opts (nil means defaults). It starts the reaper
// of idle sessions; Close stops it.
func New(opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Registry == nil {
		o.Registry = env.Default
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ResumeTimeout <= 0 {
		o.ResumeTimeout = DefaultResumeTimeout
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = DefaultStepTimeout
	}
	if o.MaxRollouts <= 0 {
		o.MaxRollouts = DefaultMaxRollouts
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.MaxSessionBytes <= 0 {
		o.MaxSessionBytes = DefaultMaxSessionBytes
	}
	if o.MaxActionBytes <= 0 {
		o.MaxActionBytes = DefaultMaxActionBytes
	}
	if o.MaxEpisodesPerRequest <= 0 {
		o.MaxEpisodesPerRequest = DefaultMaxEpisodesPerRequest
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	known := o.Registry.Names()
	for _, n := range o.Envs {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("server: environment %q is not registered; known: %s", n, strings.Join(known, ", "))
		}
	}
	served := o.Envs
	if len(served) == 0 {
		served = known
	}
	if len(served) == 0 {
		return nil, errors.New("server: no environments are registered; import an environment package (e.g. env/single)")
	}
	if o.DefaultEnv == "" {
		o.DefaultEnv = served[0]
		if slices.Contains(served, DefaultEnvName) {
			o.DefaultEnv = DefaultEnvName
		}
	} else if !slices.Contains(served, o.DefaultEnv) {
		return nil, fmt.Errorf("server: default environment %q is not served; served: %s", o.DefaultEnv, strings.Join(served, ", "))
	}
	for n := range o.EnvConfig {
		if !slices.Contains(served, n) {
			return nil, fmt.Errorf("server: configuration given for %q, which is not served; served: %s", n, strings.Join(served, ", "))
		}
	}
	var modelURLs []string
	for _, u := range o.ModelURLs {
		ep := model.Endpoint{BaseURL: u}
		if ep.Kind() != "openai" || ep.Validate() != nil {
			return nil, fmt.Errorf("server: model URL %q is not an http(s) URL (the local model and the fake are always allowed)", u)
		}
		modelURLs = append(modelURLs, normalizeURL(u))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		modelURLs: modelURLs,
		opts:      o,
		reg:       o.Registry,
		log:       o.Logger,
		metrics:   newMetrics(),
		ctx:       ctx,
		cancel:    cancel,
		rollouts:  make(chan struct{}, o.MaxRollouts),
		life:      newLifecycle(),
	}
	s.sessions = newSessionTable(o.MaxSessions)
	s.routes()
	s.front = httpsec.Handler(s.mux, &httpsec.Options{
		Token:        o.Token,
		AllowOrigins: o.AllowOrigins,
		Public:       []string{"/health"},
		MaxBodyBytes: o.MaxMessageBytes,
		BodyTimeout:  o.BodyTimeout,
		Refuse:       s.refuse,
	})
	s.life.track()
	go s.reaper()
	return s, nil
}

// DefaultEnv is the name of the environment served at the root paths.
func (s *Server) DefaultEnv() string { return s.opts.DefaultEnv }

// SessionsOpen is the number of sessions open now.
func (s *Server) SessionsOpen() int { return s.sessions.len() }

// ServeHTTP serves one request, once it passed the checks of every request
// (see package internal/httpsec): loopback Host, Origin, token, JSON body
// within the size and time limits.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.front.ServeHTTP(w, r)
}

// Error codes of the requests refused at the front door.
const (
	codeForbidden            = "FORBIDDEN"
	codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	codeBodyTooLarge         = "BODY_TOO_LARGE"
	codeBodyTimeout          = "BODY_TIMEOUT"
)

// refuse writes a request refused at the front door as OpenEnv's error
// reply.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	e := wire.HTTPError{Detail: msg}
	switch status {
	case http.StatusUnauthorized:
		e = wire.HTTPError{
			Detail: "missing or wrong bearer token: send the header \"Authorization: Bearer TOKEN\" with the token retrain serve was started with (--token or RETRAIN_SERVE_TOKEN); a WebSocket client that cannot set headers may offer the subprotocol \"bearer.TOKEN\" or add ?token=TOKEN to the URL",
			Code:   wire.CodeUnauthorized,
		}
	case http.StatusForbidden:
		e.Code = codeForbidden
	case http.StatusUnsupportedMediaType:
		e.Code = codeUnsupportedMediaType
	case http.StatusRequestEntityTooLarge:
		e.Code = codeBodyTooLarge
	case http.StatusRequestTimeout:
		e.Code = codeBodyTimeout
	}
	s.metrics.errorf(e.Code)
	writeJSON(w, status, e)
}

// routes registers the handlers, each environment route at the root (the
// default environment) and under /envs/{name}.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /health", s.handleHealth)
	m.HandleFunc("GET /metrics", s.handleMetrics)
	m.HandleFunc("GET /envs", s.handleEnvs)
	m.HandleFunc("POST /v1/rollouts", s.handleRollouts)
	for _, p := range []string{"", "/envs/{name}"} {
		m.HandleFunc("GET "+p+"/ws", s.withEnv(s.handleWS))
		m.HandleFunc("POST "+p+"/reset", s.withEnv(s.inHTTPSession(s.httpReset)))
		m.HandleFunc("POST "+p+"/step", s.withEnv(s.inHTTPSession(s.httpStep)))
		m.HandleFunc("GET "+p+"/state", s.withEnv(s.inHTTPSession(s.httpState)))
		m.HandleFunc("GET "+p+"/schema", s.withEnv(s.handleSchema))
		m.HandleFunc("GET "+p+"/metadata", s.withEnv(s.handleMetadata))
		m.HandleFunc("POST "+p+"/sessions", s.withEnv(s.handleCreateSession))
		m.HandleFunc("POST "+p+"/sessions/{id}/reset", s.withEnv(s.inPathSession(s.httpReset)))
		m.HandleFunc("POST "+p+"/sessions/{id}/step", s.withEnv(s.inPathSession(s.httpStep)))
		m.HandleFunc("GET "+p+"/sessions/{id}/state", s.withEnv(s.inPathSession(s.httpState)))
		m.HandleFunc("DELETE "+p+"/sessions/{id}", s.withEnv(s.inPathSession(s.deleteSession)))
	}
	m.HandleFunc("GET /envs/{name}/health", s.withEnv(func(w http.ResponseWriter, r *http.Request, _ string) {
		s.handleHealth(w, r)
	}))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, wire.HTTPError{Detail: fmt.Sprintf(
			"no route %s %s; see /envs for the environments, and /ws, /reset, /step, /state, /schema, /metadata, /sessions, /v1/rollouts, /health, /metrics",
			r.Method, r.URL.Path)})
	})
	s.mux = m
}

// withEnv resolves the environment of the request: the path's {name}, or
// the default environment.
func (s *Server) withEnv(h func(w http.ResponseWriter, r *http.Request, name string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if name == "" {
			name = s.opts.DefaultEnv
		} else if !s.serves(name) {
			s.metrics.errorf("UNKNOWN_ENV")
			writeJSON(w, http.StatusNotFound, wire.HTTPError{Detail: fmt.Sprintf(
				"unknown environment %q; served: %s", name, strings.Join(s.served(), ", "))})
			return
		}
		h(w, r, name)
	}
}

// served lists the served environment names.
func (s *Server) served() []string {
	if len(s.opts.Envs) > 0 {
		return s.opts.Envs
	}
	return s.reg.Names()
}

func (s *Server) serves(name string) bool { return slices.Contains(s.served(), name) }

// factory returns the shared factory of a served environment, built on
// first use with its configured options.
func (s *Server) factory(name string) (env.Factory, error) {
	return s.factories.get(name, func() (env.Factory, error) {
		if s.life.isClosed() {
			return nil, errors.New("server is closed")
		}
		return s.reg.New(name, s.opts.EnvConfig[name])
	})
}

// goTracked runs f in a goroutine that Close waits for; it reports false
// (and does not run f) once the server is closed.
func (s *Server) goTracked(f func()) bool {
	if !s.life.track() {
		return false
	}
	go func() {
		defer s.life.untrack()
		f()
	}()
	return true
}

// Close ends every session and connection, stops the reaper, and closes
// the environment factories. Requests still being served fail. It is safe
// to call more than once: a later call waits for the first to finish.
func (s *Server) Close() error {
	conns, first := s.life.close()
	if !first {
		<-s.life.done
		return nil
	}
	defer s.life.finish()
	s.cancel()
	for _, c := range conns {
		c.c.CloseNow()
	}
	s.life.wait()
	var errs []error
	for _, sess := range s.sessions.removeAll() {
		if err := sess.close(); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.factories.closeAll())
	return errors.Join(errs...)
}

// writeJSON writes v as a JSON reply with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(wire.HTTPError{Detail: "encode reply: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
