package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain/tool"
)

// resumingServer is a streamable HTTP server (the SDK's, with an event
// store) whose tool "long" outlives its first event stream: it closes the
// call's stream gracefully with a retry delay (SEP-1699) as many times as
// the call asks, waiting each time for the client to resume it with a GET
// that carries Last-Event-ID, and answers on the last stream.
type resumingServer struct {
	URL   string
	retry time.Duration

	resumed chan string   // the Last-Event-ID of each resuming GET
	stop    chan struct{} // closed when the test ends: ends calls still waiting

	mu     sync.Mutex
	closed []time.Time // when the tool closed each stream
	gets   []time.Time // when each resuming GET arrived
}

type longIn struct {
	Closes int `json:"closes" jsonschema:"how many times to close the call's stream before answering"`
}

func startResumingServer(t *testing.T, retry time.Duration) *resumingServer {
	t.Helper()
	rs := &resumingServer{retry: retry, resumed: make(chan string, 16), stop: make(chan struct{})}
	srv := sdk.NewServer(&sdk.Implementation{Name: "resuming", Version: "1"}, &sdk.ServerOptions{
		// Graceful stream closes exist in 2025-11-25; later versions drop them.
		SupportedProtocolVersions: []string{"2025-11-25"},
	})
	sdk.AddTool(srv, &sdk.Tool{Name: "long", Description: "A call longer than one stream."},
		func(ctx context.Context, req *sdk.CallToolRequest, in longIn) (*sdk.CallToolResult, any, error) {
			for i := range in.Closes {
				rs.mu.Lock()
				rs.closed = append(rs.closed, time.Now())
				rs.mu.Unlock()
				// The SDK's close is a no-op while the resumed stream is not
				// attached yet (its GET arrived, the handler has not taken
				// it), and it has no hook for "attached": so close again
				// until the client resumes. A resume is signalled before the
				// GET reaches the SDK, so a stream it attached is never closed
				// twice (the tick checks for the signal first).
				args := sdk.CloseSSEStreamArgs{RetryAfter: rs.retry}
				req.Extra.CloseSSEStream(args)
				tick := time.NewTicker(20 * time.Millisecond)
			wait:
				for {
					select {
					case <-rs.resumed:
						break wait
					case <-ctx.Done():
						tick.Stop()
						return nil, nil, fmt.Errorf("stream %d was never resumed: %w", i+1, ctx.Err())
					case <-rs.stop:
						tick.Stop()
						return nil, nil, fmt.Errorf("stream %d was never resumed", i+1)
					case <-tick.C:
						select {
						case <-rs.resumed:
							break wait
						default:
							req.Extra.CloseSSEStream(args)
						}
					}
				}
				tick.Stop()
			}
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: fmt.Sprintf("done after %d streams", in.Closes+1)}}}, nil, nil
		})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv },
		&sdk.StreamableHTTPOptions{EventStore: sdk.NewMemoryEventStore(nil)})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Last-Event-ID"); r.Method == http.MethodGet && id != "" {
			rs.mu.Lock()
			rs.gets = append(rs.gets, time.Now())
			rs.mu.Unlock()
			rs.resumed <- id
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(rs.stop)
		hs.CloseClientConnections()
		hs.Close()
		for ss := range srv.Sessions() {
			ss.Close()
		}
	})
	rs.URL = hs.URL
	return rs
}

// A call whose stream the server closes gracefully (with a retry delay)
// completes on the resumed stream, in the same session: a graceful close is
// not a dead server. The Go SDK's server sends no event on a resumed stream,
// so closing it again relies on resumeTransport (without it the 3-close call
// ends with "request terminated without response"). The client waits the
// server's retry delay before each resumption.
func TestHTTPResumesClosedStream(t *testing.T) {
	const retry = 150 * time.Millisecond
	rs := startResumingServer(t, retry)
	c := newClient(t, ServerConfig{Name: "resuming", URL: rs.URL}, nil)
	tools := toolsByName(t, c)
	for _, closes := range []int{1, 3} {
		res, err := call(t, tools["long"], fmt.Sprintf(`{"closes":%d}`, closes))
		if want := fmt.Sprintf("done after %d streams", closes+1); err != nil || res.Output != want {
			t.Fatalf("closes=%d: %+v, %v; want %q", closes, res, err, want)
		}
	}
	if n := c.Starts(); n != 1 {
		t.Errorf("Starts = %d, want 1: resuming a stream must not open a new session", n)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.gets) != 4 || len(rs.closed) != 4 {
		t.Fatalf("%d closes, %d resuming GETs; want 4 of each", len(rs.closed), len(rs.gets))
	}
	for i := range rs.gets {
		if wait := rs.gets[i].Sub(rs.closed[i]); wait < retry {
			t.Errorf("stream %d was resumed %v after it closed; the server asked for %v", i+1, wait, retry)
		}
	}
}

// A server that dies while a call's stream is open is still a dead server
// when the stream carried event ids: resuming fails, the call fails with
// the died error, and the next call opens a new session on the restarted
// server.
func TestHTTPResumeOfDeadServerFails(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{}) // ends the call still running on the dead server
	var servers []*sdk.Server
	t.Cleanup(func() {
		close(release)
		for _, srv := range servers {
			for ss := range srv.Sessions() {
				ss.Close()
			}
		}
	})
	newHandler := func() http.Handler {
		srv := sdk.NewServer(&sdk.Implementation{Name: "dying", Version: "1"}, &sdk.ServerOptions{
			SupportedProtocolVersions: []string{"2025-11-25"},
		})
		servers = append(servers, srv)
		sdk.AddTool(srv, &sdk.Tool{Name: "hang", Description: "Never answers."},
			func(ctx context.Context, req *sdk.CallToolRequest, in empty) (*sdk.CallToolResult, any, error) {
				started <- struct{}{}
				select {
				case <-ctx.Done():
				case <-release:
				}
				return nil, nil, errors.New("released")
			})
		sdk.AddTool(srv, &sdk.Tool{Name: "echo", Description: "Echoes."},
			func(ctx context.Context, req *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "echo: " + in.Text}}}, nil, nil
			})
		return sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv },
			&sdk.StreamableHTTPOptions{EventStore: sdk.NewMemoryEventStore(nil)})
	}
	hs := httptest.NewServer(newHandler())
	addr := hs.Listener.Addr().String()

	c := newClient(t, ServerConfig{Name: "dying", URL: hs.URL}, &Options{Attempts: 1})
	tools := toolsByName(t, c)
	errc := make(chan error, 1)
	go func() {
		_, err := tools["hang"].Call(context.Background(), []byte(`{}`))
		errc <- err
	}()
	<-started
	hs.CloseClientConnections()
	hs.Close()
	err := <-errc
	var te *tool.Error
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), `MCP server "dying" died during the call`) {
		t.Fatalf("server gone mid-call: err = %v, want the died error", err)
	}

	// The server comes back on the same address: a new session.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	hs = &httptest.Server{Listener: ln, Config: &http.Server{Handler: newHandler()}}
	hs.Start()
	defer func() { hs.CloseClientConnections(); hs.Close() }()
	res, err := call(t, tools["echo"], `{"text":"back"}`)
	if err != nil || res.Output != "echo: back" {
		t.Fatalf("after restart: %+v, %v", res, err)
	}
	if n := c.Starts(); n != 2 {
		t.Errorf("Starts = %d, want 2", n)
	}
}

// resumeTransport seeds only resumed event streams: a GET with
// Last-Event-ID answered 200 text/event-stream, and an id that fits on one
// line. Everything else passes through unchanged.
func TestResumeTransportSeedsOnlyResumedStreams(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.URL.Query().Get("type"))
		w.WriteHeader(map[string]int{"": http.StatusOK, "404": http.StatusNotFound}[r.URL.Query().Get("status")])
		io.WriteString(w, "data: {}\n\n")
	}))
	defer hs.Close()
	hc := &http.Client{Transport: &resumeTransport{}}
	for _, tc := range []struct {
		method, query, id string
		seeded            bool
	}{
		{"GET", "type=text/event-stream", "s_3", true},
		{"GET", "type=text/event-stream%3B+charset=utf-8", "s_3", true},
		{"GET", "type=text/event-stream", "", false},
		{"GET", "type=application/json", "s_3", false},
		{"GET", "type=text/event-stream&status=404", "s_3", false},
		{"POST", "type=text/event-stream", "s_3", false},
	} {
		req, err := http.NewRequest(tc.method, hs.URL+"/?"+tc.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.id != "" {
			req.Header["Last-Event-Id"] = []string{tc.id}
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := "data: {}\n\n"
		if tc.seeded {
			want = "id: " + tc.id + "\n\n" + want
		}
		if string(body) != want {
			t.Errorf("%s ?%s Last-Event-ID %q: body %q, want %q", tc.method, tc.query, tc.id, body, want)
		}
	}
}

// idleCounter is a RoundTripper that counts CloseIdleConnections calls.
type idleCounter struct {
	http.RoundTripper
	closed int
}

func (c *idleCounter) CloseIdleConnections() { c.closed++ }

// http.Client.CloseIdleConnections reaches the transport under
// resumeTransport.
func TestResumeTransportClosesIdleConnections(t *testing.T) {
	base := &idleCounter{}
	(&http.Client{Transport: &resumeTransport{base: base}}).CloseIdleConnections()
	if base.closed != 1 {
		t.Errorf("the base transport's CloseIdleConnections ran %d times, want 1", base.closed)
	}
}
