package mcp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTimeoutBoundsConnect checks that a server's own timeout bounds
// starting it and the MCP handshake, for a stdio server and an HTTP one that
// never answer, and that such a server is not tried again in the same call.
// The call's context has a deadline far past the timeout: the error must
// come from the timeout, not from that deadline.
func TestTimeoutBoundsConnect(t *testing.T) {
	const limit = 300 * time.Millisecond
	hang := make(chan struct{})
	var initializes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"initialize"`) {
			http.Error(w, "no session", http.StatusNotFound)
			return
		}
		initializes.Add(1)
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	t.Cleanup(func() { close(hang); srv.Close() })

	for _, cfg := range []*ServerConfig{
		{Name: "silent-stdio", Command: os.Args[0], Env: map[string]string{serverEnv: "silent"}, Timeout: Duration(limit)},
		{Name: "silent-http", URL: srv.URL, Timeout: Duration(limit)},
	} {
		t.Run(cfg.Name, func(t *testing.T) {
			c, err := NewClient(cfg, &Options{TerminateTimeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(t.Context(), limit+20*time.Second)
			defer cancel()
			start := time.Now()
			_, err = c.Tools(ctx)
			t.Logf("Tools failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if ctx.Err() != nil {
				t.Fatalf("the call waited past its own deadline (%v): the server's timeout did not bound the handshake", err)
			}
			if err == nil || !strings.Contains(err.Error(), "no answer within "+limit.String()) || strings.Contains(err.Error(), "attempts") {
				t.Errorf("error %v, want one attempt with no answer within %v", err, limit)
			}
		})
	}
	if n := initializes.Load(); n != 1 {
		t.Errorf("the HTTP server saw %d initialize requests, want 1 (no retry after no answer)", n)
	}
}
