package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain/internal/procenv"
	"github.com/retrain-rl/retrain/tool"
)

// Defaults for [Options].
const (
	DefaultTimeout          = 60 * time.Second
	DefaultConnectTimeout   = 30 * time.Second
	DefaultAttempts         = 3
	DefaultTerminateTimeout = 500 * time.Millisecond
)

// pingTimeout bounds the health check made after a failed call.
const pingTimeout = 3 * time.Second

// streamResumes is how many times in a row the streamable HTTP transport
// resumes a call's event stream (a GET with Last-Event-ID) without receiving
// a new event before it fails the session; it is also how many times it tries
// each resumption. A server that closes a stream gracefully and keeps sending
// events is resumed as often as it likes; a dead one costs two tries with
// the SDK's backoff (the first after the server's retry delay, or about
// 1-2s; the second about 1.5-3s later).
const streamResumes = 2

// ErrClosed is wrapped by the errors of a [Client] or [Provider] used after
// Close.
var ErrClosed = errors.New("mcp: client is closed")

// Options configure clients and providers. A nil *Options means defaults.
type Options struct {
	// Timeout bounds each tool call of servers whose config sets none;
	// zero means DefaultTimeout (60s). A call that runs out of time is a
	// tool error the model sees, unless the server stopped answering
	// altogether.
	Timeout time.Duration
	// ConnectTimeout bounds starting a server and the MCP handshake; zero
	// means DefaultConnectTimeout (30s). A server config's own Timeout,
	// when shorter, bounds them too.
	ConnectTimeout time.Duration
	// Attempts is how many times a server is started (or an HTTP session
	// opened) before a call gives up; zero means DefaultAttempts (3). A server
	// that died is started again on the next call, with the same bound. A
	// server that gave no answer within the connect time limit is not tried
	// again for that call: waiting longer is the job of the limit.
	Attempts int
	// TerminateTimeout is how long Close waits for a stdio server to exit
	// after its stdin is closed before it is sent SIGTERM (and, as long
	// again later, SIGKILL); zero means DefaultTerminateTimeout (500ms).
	TerminateTimeout time.Duration
	// Stderr receives the stderr of stdio servers; nil discards it. The last
	// lines are kept either way and quoted in errors.
	Stderr io.Writer
	// HTTPClient is the base client for HTTP servers; nil means a client
	// of its own per server. Configured headers are added on top of it.
	HTTPClient *http.Client
	// Logger receives the MCP SDK's logs and warnings about servers (such as
	// a tool schema that cannot be compiled); nil discards them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = DefaultConnectTimeout
	}
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.TerminateTimeout <= 0 {
		r.TerminateTimeout = DefaultTerminateTimeout
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// Client is a connection to one MCP server that offers the server's tools.
// It connects on first use, serves any number of concurrent calls over one
// session, and starts the server again (stdio) or opens a new session (HTTP)
// on the next call after the server died. It is safe for concurrent use.
type Client struct {
	cfg     ServerConfig
	opts    Options
	client  *sdk.Client
	http    *http.Client    // for URL servers
	ownHTTP *http.Transport // the transport of http when this client made it

	ctx    context.Context // cancelled by Close; parent of connection attempts
	cancel context.CancelFunc
	wg     sync.WaitGroup // connection attempts, session watchers and closers

	mu sync.Mutex
	st clientState // guarded by mu
}

// clientState is all of a Client's mutable state.
type clientState struct {
	sess    *session // the live session, or nil
	pending *attempt // the connection being made, or nil
	closed  bool
	starts  int // sessions opened so far
}

// attempt is one connection in progress; callers wait on done.
type attempt struct {
	done chan struct{}
	sess *session
	err  error
}

// session is one MCP session (and, for stdio, one server process).
type session struct {
	cs     *sdk.ClientSession
	ended  chan struct{} // closed when the connection has ended
	stderr *tail         // stdio servers only
	cmd    *exec.Cmd     // stdio servers only
}

func (s *session) isEnded() bool {
	select {
	case <-s.ended:
		return true
	default:
		return false
	}
}

// NewClient returns a client for the server cfg describes. It does no I/O:
// the server starts on the first call to Tools or to one of its tools.
// Call Close to stop it.
func NewClient(cfg *ServerConfig, opts *Options) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("mcp: NewClient: nil ServerConfig")
	}
	c := &Client{cfg: *cfg, opts: opts.withDefaults()}
	if c.cfg.Name == "" {
		c.cfg.Name = "mcp"
	}
	if err := c.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("MCP server %q: %w", c.cfg.Name, err)
	}
	if c.cfg.URL != "" {
		base := c.opts.HTTPClient
		if base == nil {
			c.ownHTTP = http.DefaultTransport.(*http.Transport).Clone()
			base = &http.Client{Transport: c.ownHTTP}
		}
		hc := *base
		if len(c.cfg.Headers) > 0 {
			h := make(http.Header, len(c.cfg.Headers))
			for k, v := range c.cfg.Headers {
				h.Set(k, v)
			}
			hc.Transport = &headerTransport{base: base.Transport, headers: h}
		}
		hc.Transport = &resumeTransport{base: hc.Transport}
		c.http = &hc
	}
	c.client = sdk.NewClient(&sdk.Implementation{Name: "retrain", Version: "dev"}, &sdk.ClientOptions{
		Logger: c.opts.Logger,
		// No roots: the servers are driven by the model through tools.
		Capabilities: &sdk.ClientCapabilities{},
	})
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Name is the server's name.
func (c *Client) Name() string { return c.cfg.Name }

// Starts is how many sessions the client has opened: 1 after the first
// connection, one more for each restart.
func (c *Client) Starts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.starts
}

// PID is the process id of a running stdio server, or 0.
func (c *Client) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.st.sess; s != nil && s.cmd != nil && s.cmd.Process != nil && !s.isEnded() {
		return s.cmd.Process.Pid
	}
	return 0
}

// Tools connects if needed and returns the server's tools, every page of
// them, filtered by the server's allow and deny lists and named with its
// prefix. It implements [tool.Provider].
func (c *Client) Tools(ctx context.Context) ([]tool.Tool, error) {
	s, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	var out []tool.Tool
	for t, err := range s.cs.Tools(ctx, nil) {
		if err != nil {
			if ctx.Err() == nil && !c.healthy(ctx, s) {
				c.markDead(s)
			}
			return nil, fmt.Errorf("listing the tools of MCP server %q: %w%s", c.cfg.Name, err, s.stderrNote())
		}
		if !c.cfg.keeps(t.Name) {
			continue
		}
		out = append(out, c.newTool(t))
	}
	return out, nil
}

// Ping checks that the server answers, connecting first if needed.
func (c *Client) Ping(ctx context.Context) error {
	s, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	if err := s.cs.Ping(ctx, nil); err != nil {
		return fmt.Errorf("MCP server %q: ping: %w", c.cfg.Name, err)
	}
	return nil
}

// Close ends the session and stops a stdio server: its stdin is closed,
// then it is sent SIGTERM and SIGKILL if it does not exit within
// [Options.TerminateTimeout]. Calls in flight fail with an error wrapping
// [ErrClosed]. Close is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.st.closed {
		c.mu.Unlock()
		return nil
	}
	c.st.closed = true
	s := c.st.sess
	c.st.sess = nil
	c.mu.Unlock()

	c.cancel()
	if s != nil {
		// The exit status of a server we stopped is not an error of Close.
		_ = s.cs.Close()
	}
	c.wg.Wait()
	if c.ownHTTP != nil {
		c.ownHTTP.CloseIdleConnections()
	}
	return nil
}

// acquire returns the live session, connecting (or reconnecting) first if
// there is none. Concurrent callers share one connection attempt.
func (c *Client) acquire(ctx context.Context) (*session, error) {
	c.mu.Lock()
	if c.st.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("MCP server %q: %w", c.cfg.Name, ErrClosed)
	}
	if s := c.st.sess; s != nil {
		if !s.isEnded() {
			c.mu.Unlock()
			return s, nil
		}
		c.st.sess = nil
		c.retireLocked(s)
	}
	a := c.st.pending
	if a == nil {
		a = &attempt{done: make(chan struct{})}
		c.st.pending = a
		c.wg.Add(1)
		go c.connect(a)
	}
	c.mu.Unlock()

	select {
	case <-a.done:
		return a.sess, a.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for MCP server %q to start: %w", c.cfg.Name, ctx.Err())
	}
}

// connect makes up to Attempts connection attempts and publishes the result
// in a. It runs in its own goroutine so that callers can give up waiting.
func (c *Client) connect(a *attempt) {
	defer c.wg.Done()
	var (
		s   *session
		err error
	)
	for i := range c.opts.Attempts {
		if i > 0 {
			delay := min(200*time.Millisecond<<(i-1), 2*time.Second)
			select {
			case <-time.After(delay):
			case <-c.ctx.Done():
			}
		}
		if c.ctx.Err() != nil {
			err = ErrClosed
			break
		}
		s, err = c.dial()
		if err == nil || errors.Is(err, errNoAnswer) {
			break
		}
	}
	if err != nil && c.opts.Attempts > 1 && !errors.Is(err, ErrClosed) && !errors.Is(err, errNoAnswer) {
		err = fmt.Errorf("%w (gave up after %d attempts)", err, c.opts.Attempts)
	}

	c.mu.Lock()
	c.st.pending = nil
	if err == nil {
		if c.st.closed {
			c.retireLocked(s)
			s, err = nil, ErrClosed
		} else {
			c.st.starts++
			c.st.sess = s
		}
	}
	if errors.Is(err, ErrClosed) {
		err = fmt.Errorf("MCP server %q: %w", c.cfg.Name, ErrClosed)
	}
	a.sess, a.err = s, err
	close(a.done)
	c.mu.Unlock()
}

// errNoAnswer marks a connection attempt that got no answer within the
// connect time limit.
var errNoAnswer = errors.New("no answer")

// noAnswerError is the error of such an attempt; it matches errNoAnswer
// and the SDK's error.
type noAnswerError struct {
	limit time.Duration
	err   error
}

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("no answer within %v: %v", e.limit, e.err)
}
func (e *noAnswerError) Unwrap() []error { return []error{errNoAnswer, e.err} }

// connectTimeout bounds one connection attempt: Options.ConnectTimeout,
// or the server's own Timeout when that is shorter.
func (c *Client) connectTimeout() time.Duration {
	if t := time.Duration(c.cfg.Timeout); t > 0 && t < c.opts.ConnectTimeout {
		return t
	}
	return c.opts.ConnectTimeout
}

// dial opens one session: it starts the server (stdio) or opens an HTTP
// session, and completes the MCP handshake.
func (c *Client) dial() (*session, error) {
	limit := c.connectTimeout()
	ctx, cancel := context.WithTimeout(c.ctx, limit)
	defer cancel()
	s := &session{ended: make(chan struct{})}
	var (
		t    sdk.Transport
		what string
	)
	switch {
	case c.cfg.Dial != nil:
		what = "connecting to"
		var err error
		if t, err = c.cfg.Dial(ctx); err != nil {
			return nil, fmt.Errorf("connecting to MCP server %q: %w", c.cfg.Name, err)
		}
	case c.cfg.Command != "":
		what = "starting"
		cmd := exec.Command(c.cfg.Command, c.cfg.Args...)
		cmd.Dir = c.cfg.Cwd
		// A minimal environment and what the config's env names, never
		// the rest of this process's (the server's secrets).
		var extra []string
		for _, k := range slices.Sorted(maps.Keys(c.cfg.Env)) {
			extra = append(extra, k+"="+c.cfg.Env[k])
		}
		cmd.Env = procenv.Minimal(extra...)
		s.stderr = &tail{}
		cmd.Stderr = s.stderr
		if c.opts.Stderr != nil {
			cmd.Stderr = io.MultiWriter(s.stderr, c.opts.Stderr)
		}
		// A grandchild that keeps stderr open must not hold up Wait.
		cmd.WaitDelay = c.opts.TerminateTimeout
		s.cmd = cmd
		t = &sdk.CommandTransport{Command: cmd, TerminateDuration: c.opts.TerminateTimeout}
	default:
		what = "connecting to"
		t = &sdk.StreamableClientTransport{
			Endpoint:   c.cfg.URL,
			HTTPClient: c.http,
			// A server may end a call's stream early, after sending event
			// ids, and deliver the result on a GET stream resumed with
			// Last-Event-ID (SEP-1699: how long calls outlive proxies).
			// The SDK resumes such a stream, waiting what the server's
			// retry field asks; streamResumes bounds the tries that bring
			// no new event, so that a dead server still fails the session
			// soon, and this client's restart logic takes over.
			MaxRetries:           streamResumes,
			DisableStandaloneSSE: true,
		}
	}
	cs, err := c.client.Connect(ctx, t, nil)
	if err != nil {
		if ctx.Err() != nil && c.ctx.Err() == nil {
			err = &noAnswerError{limit: limit, err: err}
		}
		return nil, fmt.Errorf("%s MCP server %q (%s): %w%s", what, c.cfg.Name, c.describe(), err, s.stderrNote())
	}
	s.cs = cs
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = cs.Wait()
		close(s.ended)
	}()
	return s, nil
}

// describe says how the server is reached, for error messages.
func (c *Client) describe() string {
	switch {
	case c.cfg.Dial != nil:
		return "custom transport"
	case c.cfg.Command != "":
		return strings.Join(append([]string{c.cfg.Command}, c.cfg.Args...), " ")
	default:
		return c.cfg.URL
	}
}

// retireLocked closes s in the background; c.mu must be held.
func (c *Client) retireLocked(s *session) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = s.cs.Close()
	}()
}

// markDead forgets s, so that the next call connects again.
func (c *Client) markDead(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.sess == s {
		c.st.sess = nil
		if !c.st.closed {
			c.retireLocked(s)
		}
	}
}

// healthy reports whether s still answers a ping.
func (c *Client) healthy(ctx context.Context, s *session) bool {
	if s.isEnded() {
		return false
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
	defer cancel()
	err := s.cs.Ping(pctx, nil)
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) && rpcErr.Code == jsonrpc.CodeMethodNotFound {
		return true // alive, just without ping
	}
	return err == nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.closed
}

// timeout is the per-call time limit.
func (c *Client) timeout() time.Duration {
	if c.cfg.Timeout > 0 {
		return time.Duration(c.cfg.Timeout)
	}
	return c.opts.Timeout
}

// call calls the server's tool remote (offered to the model as name).
func (c *Client) call(ctx context.Context, name, remote string, args json.RawMessage) (tool.Result, error) {
	s, err := c.acquire(ctx)
	if err != nil {
		return tool.Result{}, fmt.Errorf("tool %q: %w", name, err)
	}
	limit := c.timeout()
	callCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// Close ends the calls in flight, so that it does not wait for them.
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	res, err := s.cs.CallTool(callCtx, &sdk.CallToolParams{Name: remote, Arguments: args})
	if err == nil {
		if slot, ok := ctx.Value(resultSlotKey{}).(*resultSlot); ok {
			slot.Store(res)
		}
		return convertResult(name, res)
	}

	var rpcErr *jsonrpc.Error
	switch {
	case ctx.Err() != nil:
		return tool.Result{}, fmt.Errorf("tool %q: %w", name, ctx.Err())
	case c.ctx.Err() != nil || c.isClosed():
		return tool.Result{}, fmt.Errorf("tool %q: MCP server %q: %w", name, c.cfg.Name, ErrClosed)
	case errors.As(err, &rpcErr) && rpcErr.Code == jsonrpc.CodeInvalidParams:
		// The server rejected the call itself (unknown tool, bad arguments):
		// the model's to fix.
		return tool.Result{}, &tool.Error{Tool: name, Message: rpcErr.Message, Err: err}
	}
	if c.healthy(ctx, s) {
		if callCtx.Err() != nil {
			return tool.Result{}, &tool.Error{Tool: name, Message: fmt.Sprintf("timed out after %v", limit), Err: err}
		}
		return tool.Result{}, fmt.Errorf("tool %q: MCP server %q failed the call: %w", name, c.cfg.Name, err)
	}
	c.markDead(s)
	if callCtx.Err() != nil {
		return tool.Result{}, fmt.Errorf("tool %q: MCP server %q stopped responding (a call timed out after %v and a ping got no answer); it will be restarted on the next call%s",
			name, c.cfg.Name, limit, s.stderrNote())
	}
	return tool.Result{}, fmt.Errorf("tool %q: MCP server %q died during the call; it will be restarted on the next call: %w%s",
		name, c.cfg.Name, err, s.stderrNote())
}

// stderrNote quotes the end of a stdio server's stderr, if any.
func (s *session) stderrNote() string {
	if s == nil || s.stderr == nil {
		return ""
	}
	t := strings.TrimSpace(s.stderr.String())
	if t == "" {
		return ""
	}
	return "\nserver stderr (last lines):\n" + t
}

// headerTransport adds configured headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers http.Header
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range t.headers {
		req.Header[k] = v
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// tail keeps the last bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 2048

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if len(t.buf) == tailSize {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:] // drop the partial first line
		}
	}
	return s
}
