package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain/tool"
)

// memServer returns a server config whose Dial connects to a fresh
// in-memory test server each time, and the test server's state.
func memServer(pageSize int) (ServerConfig, *testServer, *atomic.Int64) {
	ts := &testServer{}
	dials := new(atomic.Int64)
	sc := ServerConfig{Name: "mem", Dial: func(ctx context.Context) (sdk.Transport, error) {
		dials.Add(1)
		cp, sp := net.Pipe()
		crash := func() { sp.Close() }
		if _, err := ts.newServer(pageSize, crash).Connect(ctx, &sdk.IOTransport{Reader: sp, Writer: sp}, nil); err != nil {
			return nil, err
		}
		return &sdk.IOTransport{Reader: cp, Writer: cp}, nil
	}}
	return sc, ts, dials
}

func newClient(t *testing.T, sc ServerConfig, opts *Options) *Client {
	t.Helper()
	c, err := NewClient(&sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// toolsByName lists c's tools and indexes them by name.
func toolsByName(t *testing.T, p tool.Provider) map[string]tool.Tool {
	t.Helper()
	tools, err := p.Tools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]tool.Tool{}
	for _, tl := range tools {
		m[tl.Spec().Name] = tl
	}
	return m
}

func names(m map[string]tool.Tool) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	return sortStrings(out)
}

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}

func call(t *testing.T, tl tool.Tool, args string) (tool.Result, error) {
	t.Helper()
	return tl.Call(context.Background(), json.RawMessage(args))
}

func TestToolsSchemaMapping(t *testing.T) {
	sc, _, _ := memServer(0)
	tools := toolsByName(t, newClient(t, sc, nil))
	if diff := cmp.Diff(toolNames, names(tools)); diff != "" {
		t.Fatalf("tool names (-want +got):\n%s", diff)
	}
	spec := tools["echo"].Spec()
	if spec.Description != "Echoes the text." {
		t.Errorf("description = %q", spec.Description)
	}
	var got any
	if err := json.Unmarshal(spec.Parameters, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":                 "object",
		"required":             []any{"text"},
		"additionalProperties": false,
		"properties": map[string]any{
			"text": map[string]any{"type": "string", "description": "the text to echo"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("echo schema (-want +got):\n%s", diff)
	}
}

func TestToolsAllPages(t *testing.T) {
	sc, _, _ := memServer(2) // 9 tools in 5 pages
	tools := toolsByName(t, newClient(t, sc, nil))
	if diff := cmp.Diff(toolNames, names(tools)); diff != "" {
		t.Fatalf("tool names over pages (-want +got):\n%s", diff)
	}
}

func TestPrefixAllowDeny(t *testing.T) {
	tests := []struct {
		name               string
		prefix             string
		allow, deny        []string
		want               []string
		callName, wantEcho string
	}{
		{name: "all", want: toolNames},
		{name: "prefix", prefix: "t_", allow: []string{"echo", "add"}, want: []string{"t_add", "t_echo"}},
		{name: "glob allow", allow: []string{"[a-e]*"}, want: []string{"add", "broken", "crash", "echo"}},
		{name: "deny wins", allow: []string{"e*", "a*"}, deny: []string{"add"}, want: []string{"echo"}},
		{name: "deny only", deny: []string{"crash", "broken", "reject", "fail"}, want: []string{"add", "echo", "media", "pid", "sleep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, _, _ := memServer(0)
			sc.Prefix, sc.Allow, sc.Deny = tt.prefix, tt.allow, tt.deny
			tools := toolsByName(t, newClient(t, sc, nil))
			if diff := cmp.Diff(tt.want, names(tools)); diff != "" {
				t.Fatalf("tools (-want +got):\n%s", diff)
			}
			// A prefixed tool still calls the server's tool.
			if echo, ok := tools[tt.prefix+"echo"]; ok {
				res, err := call(t, echo, `{"text":"hi"}`)
				if err != nil || res.Output != "echo: hi" {
					t.Errorf("%secho = %+v, %v", tt.prefix, res, err)
				}
			}
		})
	}
}

func TestCallResults(t *testing.T) {
	sc, ts, _ := memServer(0)
	c := newClient(t, sc, nil)
	tools := toolsByName(t, c)
	tests := []struct {
		tool, args     string
		wantOut        string
		wantStructured string
		wantToolErr    string // substring of the *tool.Error's message
		wantGoErr      string // substring of a Go error that is not a *tool.Error
		serverCalled   bool
	}{
		{tool: "echo", args: `{"text":"hello"}`, wantOut: "echo: hello", serverCalled: true},
		{tool: "add", args: `{"a":2,"b":3.5}`, wantOut: `{"sum":5.5}`, wantStructured: `{"sum":5.5}`, serverCalled: true},
		{tool: "fail", args: `{}`, wantToolErr: "it failed on purpose\nsecond line", serverCalled: true},
		{tool: "media", args: ``, serverCalled: true, wantOut: strings.Join([]string{
			"here:",
			"[image: image/png, 8 bytes]",
			"[audio: audio/wav, 8 bytes]",
			"[resource link: file:///tmp/a.txt (a.txt), text/plain]",
			"[resource: file:///tmp/b.txt, text/plain]\nhello b",
			"[resource: file:///tmp/c.bin, unknown type, 3 bytes]",
		}, "\n")},
		{tool: "reject", args: `{}`, wantToolErr: "the server does not like these arguments", serverCalled: true},
		{tool: "broken", args: `{}`, wantGoErr: "database on fire", serverCalled: true},
		// Invalid arguments never reach the server, and every problem is listed.
		{tool: "add", args: `{"a":"two","c":1}`, wantToolErr: "at /a: expected number, got string"},
		{tool: "add", args: `{"a":"two","c":1}`, wantToolErr: "at /b: missing required property"},
		{tool: "echo", args: `{"text":`, wantToolErr: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+tt.args, func(t *testing.T) {
			before := ts.calls.Load()
			res, err := call(t, tools[tt.tool], tt.args)
			if called := ts.calls.Load() > before; called != tt.serverCalled {
				t.Errorf("server called = %v, want %v", called, tt.serverCalled)
			}
			var te *tool.Error
			switch {
			case tt.wantToolErr != "":
				if !errors.As(err, &te) {
					t.Fatalf("err = %v (%T), want a *tool.Error", err, err)
				}
				if te.Tool != tt.tool || !strings.Contains(te.Message, tt.wantToolErr) {
					t.Errorf("tool error = %+v, want tool %q and message containing %q", te, tt.tool, tt.wantToolErr)
				}
			case tt.wantGoErr != "":
				if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), tt.wantGoErr) {
					t.Errorf("err = %v (%T), want a Go error containing %q", err, err, tt.wantGoErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if res.Output != tt.wantOut {
					t.Errorf("output = %q, want %q", res.Output, tt.wantOut)
				}
				if string(res.Structured) != tt.wantStructured {
					t.Errorf("structured = %s, want %s", res.Structured, tt.wantStructured)
				}
			}
		})
	}
	// A server that answered with errors is alive: no restart.
	if n := c.Starts(); n != 1 {
		t.Errorf("Starts = %d, want 1", n)
	}
}

func TestCallTimeout(t *testing.T) {
	sc, _, _ := memServer(0)
	// Long enough for the echo after it on a loaded machine (the timeout
	// bounds every call): 50 ms flaked under a parallel -race run.
	sc.Timeout = Duration(time.Second)
	c := newClient(t, sc, nil)
	tools := toolsByName(t, c)
	_, err := call(t, tools["sleep"], `{"ms":30000}`)
	var te *tool.Error
	if !errors.As(err, &te) || te.Message != "timed out after 1s" {
		t.Fatalf("err = %v, want the tool error \"timed out after 1s\"", err)
	}
	if res, err := call(t, tools["echo"], `{"text":"still here"}`); err != nil || res.Output != "echo: still here" {
		t.Fatalf("after a timeout: %+v, %v", res, err)
	}
	if n := c.Starts(); n != 1 {
		t.Errorf("Starts = %d, want 1: a slow call must not restart a live server", n)
	}
}

func TestCallCanceled(t *testing.T) {
	sc, _, _ := memServer(0)
	tools := toolsByName(t, newClient(t, sc, nil))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := tools["sleep"].Call(ctx, json.RawMessage(`{"ms":5000}`))
	var te *tool.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Fatalf("err = %v, want a Go error wrapping context.Canceled", err)
	}
}

func TestCrashDuringCallRestarts(t *testing.T) {
	sc, _, dials := memServer(0)
	c := newClient(t, sc, nil)
	tools := toolsByName(t, c)
	_, err := call(t, tools["crash"], `{}`)
	var te *tool.Error
	if err == nil || errors.As(err, &te) {
		t.Fatalf("err = %v, want an infrastructure error", err)
	}
	if want := `MCP server "mem" died during the call; it will be restarted on the next call`; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}
	res, err := call(t, tools["echo"], `{"text":"again"}`)
	if err != nil || res.Output != "echo: again" {
		t.Fatalf("after restart: %+v, %v", res, err)
	}
	if n, d := c.Starts(), dials.Load(); n != 2 || d != 2 {
		t.Errorf("Starts = %d, dials = %d, want 2 and 2", n, d)
	}
}

func TestConcurrentCalls(t *testing.T) {
	sc, ts, _ := memServer(0)
	c := newClient(t, sc, nil)
	tools := toolsByName(t, c)
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf("echo: %d", i)
			res, err := call(t, tools["echo"], fmt.Sprintf(`{"text":"%d"}`, i))
			if err != nil || res.Output != want {
				errs <- fmt.Errorf("call %d: %q, %v", i, res.Output, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := ts.calls.Load(); got != n {
		t.Errorf("server saw %d calls, want %d", got, n)
	}
	if got := c.Starts(); got != 1 {
		t.Errorf("Starts = %d, want 1", got)
	}
}

func TestCrashWithCallsInFlight(t *testing.T) {
	const n = 50
	sc, ts, _ := memServer(0)
	ts.sleeping = make(chan struct{}, n)
	c := newClient(t, sc, nil)
	tools := toolsByName(t, c)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range n {
		wg.Go(func() {
			if _, err := call(t, tools["sleep"], `{"ms":10000}`); err != nil {
				var te *tool.Error
				if !errors.As(err, &te) {
					failed.Add(1)
				}
			}
		})
	}
	for range n { // all in flight
		<-ts.sleeping
	}
	if _, err := call(t, tools["crash"], `{}`); err == nil {
		t.Error("crash call succeeded")
	}
	wg.Wait()
	if got := failed.Load(); got != n {
		t.Errorf("%d of %d calls in flight failed with an infrastructure error", got, n)
	}
	// Many callers at once after the crash share one restart.
	for range 20 {
		wg.Go(func() {
			if _, err := call(t, tools["echo"], `{"text":"x"}`); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := c.Starts(); got != 2 {
		t.Errorf("Starts = %d, want 2", got)
	}
}

func TestConnectAttemptsBounded(t *testing.T) {
	var dials atomic.Int64
	sc := ServerConfig{Name: "down", Dial: func(context.Context) (sdk.Transport, error) {
		dials.Add(1)
		return nil, errors.New("no route")
	}}
	c := newClient(t, sc, &Options{Attempts: 2})
	for want := int64(2); want <= 4; want += 2 {
		_, err := c.Tools(context.Background())
		if err == nil || !strings.Contains(err.Error(), "no route") || !strings.Contains(err.Error(), "gave up after 2 attempts") {
			t.Fatalf("err = %v", err)
		}
		if got := dials.Load(); got != want {
			t.Errorf("dials = %d, want %d", got, want)
		}
	}
}

func TestClosed(t *testing.T) {
	sc, ts, _ := memServer(0)
	ts.sleeping = make(chan struct{}, 1)
	c := newClient(t, sc, nil)
	tools := toolsByName(t, c)
	done := make(chan error, 1)
	go func() {
		_, err := call(t, tools["sleep"], `{"ms":10000}`)
		done <- err
	}()
	select {
	case <-ts.sleeping: // the call is in flight
	case err := <-done:
		t.Fatalf("the call returned before Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("call in flight at Close: err = %v, want ErrClosed", err)
	}
	if _, err := call(t, tools["echo"], `{"text":"x"}`); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: err = %v, want ErrClosed", err)
	}
	if _, err := c.Tools(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Tools after Close: err = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// stdioServer is a config that runs this test binary as a stdio server.
func stdioServer(mode string) ServerConfig {
	return ServerConfig{Name: "go", Command: os.Args[0], Env: map[string]string{serverEnv: mode}}
}

func TestStdioCrashAndRestart(t *testing.T) {
	c := newClient(t, stdioServer("stdio"), nil)
	tools := toolsByName(t, c)
	res, err := call(t, tools["pid"], `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != fmt.Sprint(c.PID()) {
		t.Errorf("the server reports pid %s, the client %d", res.Output, c.PID())
	}
	_, err = call(t, tools["crash"], `{}`)
	var te *tool.Error
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), `MCP server "go" died during the call`) {
		t.Fatalf("err = %v, want the died-during-the-call error", err)
	}
	if !strings.Contains(err.Error(), "test server starting") {
		t.Errorf("err = %v, want it to quote the server's stderr", err)
	}
	res2, err := call(t, tools["pid"], `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Output == res.Output {
		t.Errorf("same pid %s after restart", res.Output)
	}
	// A server killed between calls is restarted before the next call.
	pid := c.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return c.PID() != pid })
	if res3, err := call(t, tools["echo"], `{"text":"back"}`); err != nil || res3.Output != "echo: back" {
		t.Fatalf("after kill: %+v, %v", res3, err)
	}
	if n := c.Starts(); n != 3 {
		t.Errorf("Starts = %d, want 3", n)
	}
}

func TestStdioConcurrentCalls(t *testing.T) {
	c := newClient(t, stdioServer("stdio"), nil)
	tools := toolsByName(t, c)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			res, err := call(t, tools["add"], fmt.Sprintf(`{"a":%d,"b":1}`, i))
			if want := fmt.Sprintf(`{"sum":%d}`, i+1); err != nil || string(res.Structured) != want {
				t.Errorf("call %d: %s, %v", i, res.Structured, err)
			}
		})
	}
	wg.Wait()
}

func TestStdioCloseStopsStubbornServer(t *testing.T) {
	c, err := NewClient(&ServerConfig{Name: "go", Command: os.Args[0], Env: map[string]string{serverEnv: "stubborn"}},
		&Options{TerminateTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tools(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid := c.PID()
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("server process %d still exists after Close (kill 0: %v)", pid, err)
	}
}

func TestStdioStartErrors(t *testing.T) {
	tests := []struct {
		name string
		sc   ServerConfig
		want []string
	}{
		{"missing command", ServerConfig{Name: "x", Command: "/nonexistent/server"}, []string{`starting MCP server "x" (/nonexistent/server)`, "no such file"}},
		{"exits at once", ServerConfig{Name: "x", Command: "sh", Args: []string{"-c", "echo 'cannot open database' >&2; exit 1"}},
			[]string{`starting MCP server "x"`, "cannot open database", "gave up after 2 attempts"}},
		{"env and cwd", ServerConfig{Name: "x", Command: "sh", Args: []string{"-c", `echo "$GREETING from $(pwd)" >&2; exit 1`}, Env: map[string]string{"GREETING": "hola"}, Cwd: "/"},
			[]string{"hola from /"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.sc, &Options{Attempts: 2})
			_, err := c.Tools(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// httpServer serves the test tools over streamable HTTP on a loopback
// address; it can be stopped and started again on the same address.
type httpServer struct {
	t    *testing.T
	addr string
	ts   *testServer
	srv  *http.Server
	mcp  *sdk.Server
	done chan struct{}
}

func startHTTPServer(t *testing.T) *httpServer {
	h := &httpServer{t: t, ts: &testServer{}}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *httpServer) start() {
	addr := h.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	srv := h.ts.newServer(0, func() {})
	h.mcp = srv
	mcpHandler := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mcpHandler.ServeHTTP(w, r)
	})}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		h.srv.Serve(ln)
	}()
}

func (h *httpServer) stop() {
	if h.srv == nil {
		return
	}
	h.srv.Close()
	<-h.done
	for ss := range h.mcp.Sessions() {
		ss.Close()
	}
	h.srv = nil
}

func (h *httpServer) url() string { return "http://" + h.addr + "/mcp" }

func TestHTTPHeadersAndReconnect(t *testing.T) {
	h := startHTTPServer(t)
	c := newClient(t, ServerConfig{Name: "web", URL: h.url(), Headers: map[string]string{"Authorization": "Bearer s3cret"}}, &Options{Attempts: 1})
	tools := toolsByName(t, c)
	if diff := cmp.Diff(toolNames, names(tools)); diff != "" {
		t.Fatalf("tools (-want +got):\n%s", diff)
	}
	if res, err := call(t, tools["echo"], `{"text":"over http"}`); err != nil || res.Output != "echo: over http" {
		t.Fatalf("%+v, %v", res, err)
	}

	h.stop()
	_, err := call(t, tools["echo"], `{"text":"x"}`)
	var te *tool.Error
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), `MCP server "web" died during the call; it will be restarted on the next call`) {
		t.Fatalf("with the server down: err = %v, want the died error", err)
	}
	h.start() // a new server process: the old session is gone
	if res, err := call(t, tools["echo"], `{"text":"back"}`); err != nil || res.Output != "echo: back" {
		t.Fatalf("after the server came back: %+v, %v", res, err)
	}
	if n := c.Starts(); n != 2 {
		t.Errorf("Starts = %d, want 2", n)
	}

	// Without the header the server refuses the session.
	c2 := newClient(t, ServerConfig{Name: "web", URL: h.url()}, &Options{Attempts: 1})
	if _, err := c2.Tools(context.Background()); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("without the header: err = %v, want Unauthorized", err)
	}
}

func TestHTTPConcurrentCalls(t *testing.T) {
	h := startHTTPServer(t)
	c := newClient(t, ServerConfig{Name: "web", URL: h.url(), Headers: map[string]string{"Authorization": "Bearer s3cret"}}, nil)
	tools := toolsByName(t, c)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			res, err := call(t, tools["echo"], fmt.Sprintf(`{"text":"%d"}`, i))
			if want := fmt.Sprintf("echo: %d", i); err != nil || res.Output != want {
				t.Errorf("call %d: %q, %v", i, res.Output, err)
			}
		})
	}
	wg.Wait()
}

func TestProvider(t *testing.T) {
	a, _, _ := memServer(0)
	b, _, _ := memServer(0)
	off, _, _ := memServer(0)
	off.Disabled = true
	off.Dial = nil
	off.Command = "/nonexistent" // never started
	cfg := &Config{Servers: map[string]*ServerConfig{"a": &a, "b": &b, "off": &off}}

	p, err := NewProvider(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Tools(context.Background())
	if err == nil || !strings.Contains(err.Error(), `MCP servers "a" and "b" both offer a tool named "add"; set "prefix"`) {
		t.Errorf("clash: err = %v", err)
	}
	p.Close()

	b.Prefix = "b_"
	b.Allow = []string{"echo"}
	p, err = NewProvider(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tools := toolsByName(t, p)
	want := append(append([]string{}, toolNames...), "b_echo")
	if diff := cmp.Diff(sortStrings(want), names(tools)); diff != "" {
		t.Fatalf("tools (-want +got):\n%s", diff)
	}
	if got := len(p.Clients()); got != 2 {
		t.Errorf("%d clients, want 2 (one disabled)", got)
	}
	if p.Client("b") == nil || p.Client("off") != nil {
		t.Error("Client lookup by name")
	}
	res, err := call(t, tools["b_echo"], `{"text":"from b"}`)
	if err != nil || res.Output != "echo: from b" {
		t.Errorf("%+v, %v", res, err)
	}
	// tool.Collect works with the provider.
	set, err := tool.Collect(context.Background(), p)
	if err != nil || set.Len() != len(want) {
		t.Errorf("Collect: %v, %d tools", err, set.Len())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
