package openenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// Wire types, shared with retrain serve.
type (
	// Result is a reset's or step's reply: the observation object, the
	// reward (nil after a reset), done, and the metadata (the step's info).
	Result = wire.Result
	// Schema is the reply of GET /schema: the JSON Schemas of actions,
	// observations and state.
	Schema = wire.Schema
	// Metadata is the reply of GET /metadata.
	Metadata = wire.Metadata
)

// Transports of a session.
const (
	// TransportAuto uses the WebSocket session, and the HTTP routes when
	// the server refuses the upgrade to /ws with a 4xx (other than 429) or
	// 501: a server without /ws (Starlette answers 403, others 404, 405 or
	// 426). When HTTP fails too, the error says both.
	TransportAuto = "auto"
	// TransportWebSocket uses the WebSocket session /ws only.
	TransportWebSocket = "websocket"
	// TransportHTTP uses retrain serve's HTTP sessions (/sessions), or
	// OpenEnv's /reset and /step (which current OpenEnv servers run on a
	// fresh environment each: one-step episodes only).
	TransportHTTP = "http"
)

// Defaults of [ClientOptions].
const (
	DefaultTimeout        = 60 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxReconnects  = 3
	// maxMessage bounds a reply (OpenEnv's client allows 100 MB).
	maxMessage = 100 << 20
)

// Errors of the client, matched with errors.Is.
var (
	// ErrCapacity means the server refused a session because it holds as
	// many as it may (OpenEnv's CAPACITY_REACHED).
	ErrCapacity = errors.New("openenv: the server is at capacity")
	// ErrConnectionLost means the connection dropped and the session could
	// not be resumed.
	ErrConnectionLost = errors.New("openenv: connection lost")
	// ErrSessionNotFound means the server no longer has the session (it
	// expired or was closed).
	ErrSessionNotFound = errors.New("openenv: session not found")
)

// ServerError is an error reply of the server: an error frame, or an HTTP
// error status.
type ServerError struct {
	// Op is the request: reset, step, state, connect, schema ...
	Op string
	// Code is the OpenEnv error code (e.g. VALIDATION_ERROR), when given.
	Code string
	// Status is the HTTP status, for HTTP replies.
	Status int
	// Message is the server's message.
	Message string
	// ActiveSessions and MaxSessions come with CAPACITY_REACHED.
	ActiveSessions, MaxSessions int
	// Body is the start of the server's reply (at most maxErrorBody
	// bytes) when it holds more than Message: a traceback, other fields.
	Body string
}

// maxErrorBody bounds ServerError.Body.
const maxErrorBody = 1 << 10

// errorBody returns the start of b as valid UTF-8 on one line, at most
// maxErrorBody bytes.
func errorBody(b []byte) string {
	b = bytes.TrimSpace(b)
	cut := len(b) > maxErrorBody
	if cut {
		b = b[:maxErrorBody]
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
	if cut {
		s += " ..."
	}
	return s
}

// extraKeys reports whether the JSON object b has keys besides known.
func extraKeys(b []byte, known ...string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return true
	}
	for k := range m {
		if !slices.Contains(known, k) {
			return true
		}
	}
	return false
}

func (e *ServerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "openenv: %s: server error", e.Op)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	if e.Body != "" {
		fmt.Fprintf(&b, " (the server's reply: %s)", e.Body)
	}
	if e.Code == wire.CodeCapacityReached {
		if e.MaxSessions > 0 {
			fmt.Fprintf(&b, " (%d of %d sessions in use)", e.ActiveSessions, e.MaxSessions)
		}
		b.WriteString("; lower the rollout concurrency, or raise the server's session limit (OpenEnv: max_concurrent_envs; retrain serve: --max-sessions)")
	}
	return b.String()
}

// Is matches ErrCapacity and ErrSessionNotFound by code.
func (e *ServerError) Is(target error) bool {
	switch target {
	case ErrCapacity:
		return e.Code == wire.CodeCapacityReached || (e.Code == "" && e.Status == http.StatusServiceUnavailable)
	case ErrSessionNotFound:
		return e.Code == wire.CodeSessionNotFound
	}
	return false
}

// ClientOptions configure a [Client]. Nil or zero values mean defaults.
type ClientOptions struct {
	// Header is sent with every request (and the WebSocket upgrade).
	Header http.Header
	// Token, when set, is sent as "Authorization: Bearer Token".
	Token string
	// Transport is TransportAuto (default), TransportWebSocket or
	// TransportHTTP.
	Transport string
	// Timeout bounds the wait for each reply (default DefaultTimeout).
	Timeout time.Duration
	// ConnectTimeout bounds connecting (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// MaxReconnects is how many times in a row a dropped WebSocket is
	// reconnected to resume its session (default DefaultMaxReconnects;
	// negative means never).
	MaxReconnects int
	// HTTPClient sends the requests; nil means a client of its own.
	HTTPClient *http.Client
}

// Client talks to one OpenEnv environment server (or one environment of
// retrain serve, at http://HOST/envs/NAME). It is safe for concurrent use;
// each [Session] is one episode stream.
type Client struct {
	base   *url.URL // without a trailing slash
	opts   ClientOptions
	header http.Header
	http   *http.Client
}

// NewClient returns a client of the server at baseURL (http, https, ws or
// wss; a trailing /ws is dropped). It does no I/O.
func NewClient(baseURL string, opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("openenv: url %q is not a URL; want e.g. http://127.0.0.1:8000", baseURL)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("openenv: url %q: scheme %q is not http, https, ws or wss", baseURL, u.Scheme)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/ws")
	u.RawQuery, u.Fragment = "", ""
	switch o.Transport {
	case "":
		o.Transport = TransportAuto
	case TransportAuto, TransportWebSocket, TransportHTTP:
	default:
		return nil, fmt.Errorf("openenv: transport %q: use %q, %q or %q", o.Transport, TransportAuto, TransportWebSocket, TransportHTTP)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxReconnects == 0 {
		o.MaxReconnects = DefaultMaxReconnects
	}
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if o.Token != "" {
		h.Set("Authorization", "Bearer "+o.Token)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return &Client{base: u, opts: o, header: h, http: hc}, nil
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// CloseIdleConnections closes the client's idle HTTP connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

func (c *Client) endpoint(path string) string { return c.base.String() + path }

// do sends an HTTP request and decodes a 2xx JSON reply into out (nil:
// discard). An error status is a *ServerError.
func (c *Client) do(ctx context.Context, op, method, path string, body any, out any, header http.Header) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("openenv: %s: encode request: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), rd)
	if err != nil {
		return nil, fmt.Errorf("openenv: %s: %w", op, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("openenv: %s %s: %w", op, c.endpoint(path), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMessage))
	if err != nil {
		return nil, fmt.Errorf("openenv: %s: read reply: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		return resp.Header, httpError(op, resp.StatusCode, b)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, fmt.Errorf("openenv: %s: the reply is not the expected JSON: %w", op, err)
		}
	}
	return resp.Header, nil
}

// httpError decodes an HTTP error body: FastAPI's {"detail": ...}, with
// retrain serve's code.
func httpError(op string, status int, body []byte) *ServerError {
	e := &ServerError{Op: op, Status: status}
	var he struct {
		Detail         json.RawMessage `json:"detail"`
		Code           string          `json:"code"`
		ActiveSessions int             `json:"active_sessions"`
		MaxSessions    int             `json:"max_sessions"`
	}
	if json.Unmarshal(body, &he) == nil && len(he.Detail) > 0 {
		var s string
		if json.Unmarshal(he.Detail, &s) == nil {
			e.Message = s
		} else {
			e.Message = string(he.Detail)
		}
		e.Code, e.ActiveSessions, e.MaxSessions = he.Code, he.ActiveSessions, he.MaxSessions
		if extraKeys(body, "detail", "code", "active_sessions", "max_sessions") {
			e.Body = errorBody(body)
		}
	} else {
		e.Message = errorBody(body)
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		e.Message += " (set the bridge's token or headers)"
	}
	return e
}

// Health checks GET /health.
func (c *Client) Health(ctx context.Context) error {
	var h wire.Health
	if _, err := c.do(ctx, "health", http.MethodGet, "/health", nil, &h, nil); err != nil {
		return err
	}
	if h.Status != "" && h.Status != "healthy" {
		return fmt.Errorf("openenv: %s reports status %q", c.URL(), h.Status)
	}
	return nil
}

// Schema fetches GET /schema.
func (c *Client) Schema(ctx context.Context) (*Schema, error) {
	var s Schema
	if _, err := c.do(ctx, "schema", http.MethodGet, "/schema", nil, &s, nil); err != nil {
		return nil, err
	}
	return &s, nil
}

// Metadata fetches GET /metadata.
func (c *Client) Metadata(ctx context.Context) (*Metadata, error) {
	var m Metadata
	if _, err := c.do(ctx, "metadata", http.MethodGet, "/metadata", nil, &m, nil); err != nil {
		return nil, err
	}
	return &m, nil
}

// Connect opens a session: a WebSocket session (/ws), or an HTTP one per
// ClientOptions.Transport.
func (c *Client) Connect(ctx context.Context) (*Session, error) {
	switch c.opts.Transport {
	case TransportHTTP:
		return c.connectHTTP(ctx)
	case TransportWebSocket:
		return c.connectWS(ctx)
	}
	s, err := c.connectWS(ctx)
	var se *ServerError
	if errors.As(err, &se) && se.Op == "connect" && upgradeRefused(se.Status) {
		hs, herr := c.connectHTTP(ctx)
		if herr != nil {
			return nil, fmt.Errorf("openenv: %s refused the WebSocket upgrade (HTTP %d), and the HTTP routes failed too: %w", c.wsURL(), se.Status, herr)
		}
		return hs, nil
	}
	return s, err
}

// upgradeRefused reports whether a refused WebSocket upgrade with this
// status may mean a server without /ws, so that TransportAuto tries its
// HTTP routes: any 4xx but 429 (Starlette answers a route it lacks with
// 403, others with 404, 405 or 426), and 501. A full server (503) has a
// /ws.
func upgradeRefused(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusTooManyRequests || status == http.StatusNotImplemented
}

// Session is one environment session on the server: reset, step and state
// requests in order. It is not safe for concurrent use.
type Session struct {
	t   transport
	seq int
	// prefix makes this session's request ids unique.
	prefix string
}

// transport carries a session's requests.
type transport interface {
	// call sends a reset, step or state request and returns the reply's
	// data (an error frame or status is a *ServerError).
	call(ctx context.Context, typ string, data json.RawMessage, requestID string) (json.RawMessage, error)
	// id is the server's session id, or "" when it gave none.
	id() string
	close() error
}

// ID is the server's id of the session, or "" when the server gives none
// (OpenEnv's servers; such sessions cannot be resumed).
func (s *Session) ID() string { return s.t.id() }

func (s *Session) nextID() string {
	s.seq++
	return fmt.Sprintf("%s-%d", s.prefix, s.seq)
}

// Reset starts an episode; params are the reset's keyword arguments (seed,
// episode_id, ...; nil means none).
func (s *Session) Reset(ctx context.Context, params map[string]any) (*Result, error) {
	if params == nil {
		params = map[string]any{}
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("openenv: reset: encode parameters: %w", err)
	}
	return s.result(ctx, wire.TypeReset, b)
}

// Step sends an action (a JSON object matching the server's action schema).
func (s *Session) Step(ctx context.Context, action json.RawMessage) (*Result, error) {
	return s.result(ctx, wire.TypeStep, action)
}

func (s *Session) result(ctx context.Context, typ string, data json.RawMessage) (*Result, error) {
	raw, err := s.t.call(ctx, typ, data, s.nextID())
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("openenv: %s: the reply's data is not an observation: %w", typ, err)
	}
	if len(r.Observation) == 0 || string(r.Observation) == "null" {
		r.Observation = json.RawMessage(`{}`)
	}
	return &r, nil
}

// State fetches the session's state.
func (s *Session) State(ctx context.Context) (map[string]any, error) {
	raw, err := s.t.call(ctx, wire.TypeState, nil, s.nextID())
	if err != nil {
		return nil, err
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("openenv: state: the reply is not an object: %w", err)
	}
	return st, nil
}

// Close ends the session on the server and closes the connection. It is
// safe to call more than once.
func (s *Session) Close() error { return s.t.close() }
