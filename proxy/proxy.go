package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/serve"
	"github.com/retrain-rl/retrain/rollout"
)

// Defaults of [Options].
const (
	// DefaultIdleTimeout is how long a session may go without a call before
	// it is written as truncated.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultMaxSessions bounds the sessions open at once.
	DefaultMaxSessions = 100_000
	// DefaultMaxCalls bounds the calls of one session.
	DefaultMaxCalls = 10_000
	// DefaultCallTimeout bounds one upstream call, streamed reply included.
	DefaultCallTimeout = 10 * time.Minute
	// DefaultMaxReplyBytes bounds an upstream reply (and one streamed event).
	DefaultMaxReplyBytes = 64 << 20
)

// SessionHeader names the session of a call to the routes without a
// /sessions/{id} prefix.
const SessionHeader = "X-Retrain-Session"

// Options configure a [Proxy]. Upstream is required; a zero field means
// its default.
type Options struct {
	// Upstream is the base URL of the OpenAI-compatible server the calls go
	// to, ending in /v1 (e.g. http://127.0.0.1:8000/v1). It is the
	// operator's: nothing an agent sends changes where calls go.
	Upstream string
	// APIKey is sent upstream as the bearer token. The agent's own
	// Authorization header (the proxy's token) is never forwarded.
	APIKey string
	// Model, when set, replaces the model every agent asks for (agents
	// often name a model of their own).
	Model string
	// Client sends the upstream calls (default: a client of its own whose
	// connections are kept for many concurrent sessions).
	Client *http.Client
	// Sink receives the trajectories of each session that ends, is idle
	// past IdleTimeout, or is open when the proxy closes. Nil: they are
	// only returned by [Proxy.End].
	Sink rollout.Sink
	// IdleTimeout: a session without a call for this long (and none in
	// flight) is written as truncated (default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxSessions bounds the sessions open at once (default
	// DefaultMaxSessions); a call that would open one more is answered 503.
	MaxSessions int
	// MaxCalls bounds the calls of one session (default DefaultMaxCalls);
	// more are answered 429.
	MaxCalls int
	// CallTimeout bounds one upstream call, a streamed reply included
	// (default DefaultCallTimeout); a slower one is answered 504.
	CallTimeout time.Duration
	// MaxReplyBytes bounds an upstream reply, and each event of a stream
	// (default DefaultMaxReplyBytes).
	MaxReplyBytes int64
	// OnCall, when set, is called after each chat call of a session has
	// been recorded, as a turn or as a failure. It is called concurrently
	// and must not block.
	OnCall func(session string, c Call)
}

// Call is what [Options.OnCall] is told about one recorded call.
type Call struct {
	// N numbers the session's calls from 1.
	N int
	// Branch and Turn locate the recorded turn (Turn from 1); zero when
	// the call failed.
	Branch, Turn int
	// PrefixMatch is the turn's prefix check (see retrain.Turn).
	PrefixMatch *bool
	// Failure is set when the call did not become a turn.
	Failure *Failure
}

// Failure is one call of a session that did not become a turn: the
// upstream was down, slow or refused it, or the agent went away.
type Failure struct {
	// Call numbers the session's call from 1.
	Call int `json:"call"`
	// Cause classifies it: model (the upstream failed or refused the
	// call), timeout (CallTimeout passed), canceled (the agent went away),
	// environment (the agent's request was malformed).
	Cause retrain.ErrorCause `json:"cause"`
	// Status is the HTTP status the agent was answered with.
	Status int `json:"status,omitempty"`
	// Error says what happened.
	Error string `json:"error"`
}

// Proxy records the chat calls of agents, by session, on their way to an
// upstream server. It is an http.Handler; put it behind internal/httpsec's
// front door as every listener of the project. Safe for concurrent use.
type Proxy struct {
	o        Options
	upstream *url.URL
	client   *http.Client
	ownTr    *http.Transport // the transport of the client made here, closed by Close

	mu       sync.Mutex // guards sessions, closed
	sessions map[string]*session
	closed   bool

	mux       *http.ServeMux
	stop      chan struct{}
	reaperEnd chan struct{}
}

// ErrClosed is returned by the methods of a closed Proxy.
var ErrClosed = errors.New("proxy: closed")

// ErrNoSession is returned by [Proxy.End] and [Proxy.State] for a session
// that is not open.
var ErrNoSession = errors.New("proxy: no such open session")

// New returns a Proxy forwarding to opts.Upstream. Close it when done: it
// writes the sessions still open.
func New(opts *Options) (*Proxy, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(strings.TrimRight(o.Upstream, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("proxy: upstream %q is not an http(s) URL; give the server's base URL, e.g. http://127.0.0.1:8000/v1", o.Upstream)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxCalls <= 0 {
		o.MaxCalls = DefaultMaxCalls
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.MaxReplyBytes <= 0 {
		o.MaxReplyBytes = DefaultMaxReplyBytes
	}
	p := &Proxy{o: o, upstream: u, sessions: map[string]*session{}, stop: make(chan struct{}), reaperEnd: make(chan struct{})}
	p.client = o.Client
	if p.client == nil {
		p.ownTr = &http.Transport{
			Proxy:               nil, // the upstream is reached directly, never through $HTTP_PROXY
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   false,
		}
		p.client = &http.Client{Transport: p.ownTr}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sessions/{id}/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { p.chat(w, r, r.PathValue("id")) })
	mux.HandleFunc("GET /sessions/{id}/v1/models", p.models)
	mux.HandleFunc("POST /sessions/{id}/end", p.end)
	mux.HandleFunc("GET /sessions/{id}", p.state)
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(SessionHeader)
		if id == "" {
			writeError(w, http.StatusBadRequest, "no session: set the "+SessionHeader+" header, or use the base URL http://HOST/sessions/ID/v1", "")
			return
		}
		p.chat(w, r, id)
	})
	mux.HandleFunc("GET /v1/models", p.models)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s: agents use the base URL http://HOST/sessions/ID/v1", r.Method, r.URL.Path), "NotFoundError")
	})
	p.mux = mux
	go p.reap()
	return p, nil
}

// ServeHTTP serves the proxy's routes:
//
//	POST /sessions/{id}/v1/chat/completions  a call of session id, recorded
//	GET  /sessions/{id}/v1/models            the upstream's models
//	POST /sessions/{id}/end                  end the session: {"reward": R, "info": {...}}, both optional
//	GET  /sessions/{id}                      the session's state
//	POST /v1/chat/completions                a call of the session named by the X-Retrain-Session header
//	GET  /v1/models, GET /health
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// idPattern is what a session id may be.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// checkID returns an error saying what a session id may be.
func checkID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("session id %.40q: use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", id)
	}
	return nil
}

// open returns the open session id, opening it when new; the error is
// ErrClosed, a bad id, or too many sessions.
func (p *Proxy) open(id string) (*session, int, error) {
	if err := checkID(id); err != nil {
		return nil, http.StatusBadRequest, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, http.StatusServiceUnavailable, ErrClosed
	}
	s := p.sessions[id]
	if s == nil {
		if len(p.sessions) >= p.o.MaxSessions {
			return nil, http.StatusServiceUnavailable, fmt.Errorf("%d sessions are open, this proxy's limit (--max-sessions); end some (POST /sessions/ID/end)", p.o.MaxSessions)
		}
		now := time.Now()
		s = &session{id: id, created: now, last: now}
		p.sessions[id] = s
	}
	return s, 0, nil
}

// take removes session id from the open ones, or returns nil.
func (p *Proxy) take(id string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sessions[id]
	delete(p.sessions, id)
	return s
}

// EndOptions are what ends a session: its reward and any info to keep.
type EndOptions struct {
	// Reward is the session's reward, given to the last turn of each of its
	// branches.
	Reward float64 `json:"reward"`
	// Info is kept in each trajectory's reset_info under "info".
	Info map[string]any `json:"info,omitempty"`
}

// End ends session id: its trajectories (one per branch, see package doc)
// are written to Options.Sink and returned. Calls of the session still in
// flight are not recorded. The error is ErrNoSession, ErrClosed, or the
// sink's.
func (p *Proxy) End(id string, opts *EndOptions) ([]*retrain.Trajectory, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	s := p.take(id)
	if s == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	var o EndOptions
	if opts != nil {
		o = *opts
	}
	return p.write(s, retrain.StopTerminated, &o, "")
}

// Open opens session id without a call (an open session is otherwise made
// by its first call), so that [Proxy.End] finds it even when the agent made
// no call. Opening an open session does nothing.
func (p *Proxy) Open(id string) error {
	_, _, err := p.open(id)
	return err
}

// write turns s into trajectories and writes them to the sink.
func (p *Proxy) write(s *session, stop retrain.StopReason, o *EndOptions, why string) ([]*retrain.Trajectory, error) {
	ts := s.trajectories(stop, o, why)
	if p.o.Sink != nil {
		for _, t := range ts {
			if err := p.o.Sink.Write(t); err != nil {
				return ts, fmt.Errorf("proxy: write session %q: %w", s.id, err)
			}
		}
	}
	return ts, nil
}

// State returns the state of open session id.
func (p *Proxy) State(id string) (SessionState, error) {
	p.mu.Lock()
	s := p.sessions[id]
	p.mu.Unlock()
	if s == nil {
		return SessionState{}, fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	return s.state(), nil
}

// Sessions returns the number of open sessions.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

// reap writes the sessions idle past IdleTimeout as truncated.
func (p *Proxy) reap() {
	defer close(p.reaperEnd)
	every := min(max(p.o.IdleTimeout/4, time.Millisecond), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			var idle []*session
			p.mu.Lock()
			for id, s := range p.sessions {
				if s.idleSince(now) >= p.o.IdleTimeout {
					delete(p.sessions, id)
					idle = append(idle, s)
				}
			}
			p.mu.Unlock()
			for _, s := range idle {
				p.write(s, retrain.StopTruncated, &EndOptions{}, fmt.Sprintf("idle for %s (--idle-timeout) without being ended", p.o.IdleTimeout)) //nolint:errcheck // nobody to tell but the sink
			}
		}
	}
}

// Close stops the proxy: calls get 503, and the sessions still open are
// written as truncated. It returns the first error of the sink. Closing
// twice does nothing.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	open := p.sessions
	p.sessions = map[string]*session{}
	p.mu.Unlock()
	close(p.stop)
	<-p.reaperEnd
	var first error
	for _, s := range open {
		if _, err := p.write(s, retrain.StopTruncated, &EndOptions{}, "open when the proxy closed"); err != nil && first == nil {
			first = err
		}
	}
	if p.ownTr != nil {
		p.ownTr.CloseIdleConnections()
	}
	return first
}

// end serves POST /sessions/{id}/end.
func (p *Proxy) end(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var o EndOptions
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "the body of /end is optional; when sent it is {\"reward\": NUMBER, \"info\": {...}}: "+err.Error(), "")
		return
	}
	ts, err := p.End(id, &o)
	switch {
	case errors.Is(err, ErrNoSession):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no open session %q (it made no call, was ended already, or was written after --idle-timeout)", id), "NotFoundError")
		return
	case errors.Is(err, ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "the proxy is shutting down", "")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error(), "InternalServerError")
		return
	}
	sum := struct {
		ID           string `json:"id"`
		Trajectories int    `json:"trajectories"`
		Turns        int    `json:"turns"`
		Failures     int    `json:"failures"`
		Error        string `json:"error,omitempty"`
	}{ID: id, Trajectories: len(ts)}
	for _, t := range ts {
		sum.Turns += len(t.Turns)
		sum.Error = t.Error
	}
	if len(ts) > 0 {
		if f, ok := ts[0].ResetInfo["failures"].([]Failure); ok {
			sum.Failures = len(f)
		}
	}
	writeJSON(w, http.StatusOK, sum)
}

// state serves GET /sessions/{id}.
func (p *Proxy) state(w http.ResponseWriter, r *http.Request) {
	st, err := p.State(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no open session %q", r.PathValue("id")), "NotFoundError")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// models serves GET /v1/models from the upstream.
func (p *Proxy) models(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), p.o.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.upstream.String()+"/models", nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "InternalServerError")
		return
	}
	p.authorize(req)
	resp, err := p.client.Do(req)
	if err != nil {
		writeError(w, http.StatusBadGateway, "the upstream server did not answer: "+redact(err), "APIConnectionError")
		return
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, p.o.MaxReplyBytes)
	if err != nil {
		writeError(w, http.StatusBadGateway, "reading the upstream's answer: "+err.Error(), "APIConnectionError")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	w.Write(body) //nolint:errcheck // the agent went away
}

func (p *Proxy) authorize(req *http.Request) {
	if p.o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.o.APIKey)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "InternalServerError")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

// writeError writes an error in OpenAI's layout, as the upstream would.
func writeError(w http.ResponseWriter, status int, msg, typ string) {
	if typ == "" {
		typ = "BadRequestError"
	}
	serve.WriteError(w, status, msg, typ, "")
}
