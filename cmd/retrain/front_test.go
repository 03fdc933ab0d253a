package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listener is one of the commands that listen, with a request that does
// work (creates a session, generates, initializes an MCP session).
type listener struct {
	name string
	args func(t *testing.T) []string
	path string // of the POST
	body string
}

var listeners = []listener{
	{"serve", func(*testing.T) []string { return []string{"serve", "--env", "calculator", "--quiet"} },
		"/sessions", `{}`},
	{"serve-model", func(t *testing.T) []string {
		return []string{"serve-model", "--name", "toy", "--weights", writeRandomWeights(t)}
	}, "/v1/chat/completions", `{"model":"toy","messages":[{"role":"user","content":"hi"}],"max_tokens":1}`},
	{"proxy", func(t *testing.T) []string {
		return []string{"proxy", "--weights", writeRandomWeights(t), "--out", filepath.Join(t.TempDir(), "p.jsonl")}
	}, "/sessions/s1/v1/chat/completions", `{"model":"any","messages":[{"role":"user","content":"hi"}],"max_tokens":1}`},
	{"mcp serve --http", func(*testing.T) []string { return []string{"mcp", "serve", "--tools", "calculator", "--http"} },
		"/mcp", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`},
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

// startListener runs l on a free loopback port with extra flags until the
// test ends, and returns its base URL.
func startListener(t *testing.T, l listener, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	exited := make(chan struct{})
	args := append(l.args(t), extra...)
	if l.name == "mcp serve --http" {
		args = append(args, "127.0.0.1:0")
	} else {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	go func() {
		defer close(exited)
		run(ctx, args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if u := urlRE.FindString(out.String() + errOut.String()); u != "" {
			return u
		}
		select {
		case <-exited:
			t.Fatalf("%v exited: %s", args, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("%v did not start: %s", args, errOut.String())
	return ""
}

// post sends the listener's POST with the headers and returns the status
// and body.
func post(t *testing.T, base string, l listener, body string, header http.Header, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+l.path, strings.NewReader(body))
	req.Header = header.Clone()
	req.Header.Set("Accept", "application/json, text/event-stream") // as MCP clients send it
	if host != "" {
		req.Host = host
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sessions returns the sessions open on retrain serve (its public /health).
func sessions(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return regexp.MustCompile(`"sessions":\d+`).FindString(string(b))
}

// The attacks of a web page, against every listener: a cross-origin simple
// POST (text/plain, no preflight) does nothing, a body that is not JSON is
// refused, and a rebinding Host is refused.
func TestListenersRefuseBrowsers(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			base := startListener(t, l)
			for _, tc := range []struct {
				name   string
				header http.Header
				host   string
				want   int
			}{
				{"cross-origin text/plain", http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"text/plain"}}, "", http.StatusForbidden},
				{"cross-origin JSON", http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"application/json"}}, "", http.StatusForbidden},
				{"text/plain", http.Header{"Content-Type": {"text/plain"}}, "", http.StatusUnsupportedMediaType},
				{"rebinding Host", json, "evil.example", http.StatusForbidden},
			} {
				status, body := post(t, base, l, l.body, tc.header, tc.host)
				if status != tc.want {
					t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.want)
				}
			}
			if l.name == "serve" {
				if got := sessions(t, base); got != `"sessions":0` {
					t.Errorf("refused requests created sessions: %s", got)
				}
			}
			if status, body := post(t, base, l, l.body, json, ""); status >= 300 {
				t.Errorf("a JSON POST from no browser: %d %s", status, body)
			}
		})
	}
}

// With --token, every listener requires it, the Bearer scheme in any case
// or ?token=.
func TestListenersToken(t *testing.T) {
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			base := startListener(t, l, "--token", "tok")
			for _, tc := range []struct {
				name, auth, query string
				ok                bool
			}{
				{"absent", "", "", false},
				{"wrong", "Bearer nope", "", false},
				{"no scheme", "tok", "", false},
				{"Bearer", "Bearer tok", "", true},
				{"bearer", "bearer tok", "", true},
				{"BEARER", "BEARER tok", "", true},
				{"query", "", "?token=tok", true},
				{"wrong query", "", "?token=nope", false},
			} {
				h := http.Header{"Content-Type": {"application/json"}}
				if tc.auth != "" {
					h.Set("Authorization", tc.auth)
				}
				lq := l
				lq.path += tc.query
				status, body := post(t, base, lq, l.body, h, "")
				if (status == http.StatusUnauthorized) == tc.ok || (tc.ok && status >= 300) {
					t.Errorf("%s: %d %s", tc.name, status, body)
				}
			}
		})
	}
}

// A non-loopback listener without a token does not start, and says how to
// fix it.
func TestListenersRefuseExposure(t *testing.T) {
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			args := l.args(t)
			if l.name == "mcp serve --http" {
				args = append(args, "0.0.0.0:0")
			} else {
				args = append(args, "--addr", "0.0.0.0:0")
			}
			var out, errOut syncBuffer
			// A listener that starts is stopped after a while: the test fails.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			code := run(ctx, args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
			if code != 2 || !strings.Contains(errOut.String(), "--token") || !strings.Contains(errOut.String(), "--insecure") {
				t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
			}
		})
	}
}

// Every listener is bounded: half-open connections are closed within the
// timeouts, a body over --max-body is answered 413 naming the limit, and
// connections past --max-conns are answered 503.
func TestListenersBounds(t *testing.T) {
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			base := startListener(t, l, "--header-timeout", "200ms", "--body-timeout", "200ms", "--max-body", "1000")
			addr := strings.TrimPrefix(base, "http://")
			for _, half := range []string{
				"POST " + l.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
				"POST " + l.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":",
			} {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(c, half)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if b, err := io.ReadAll(c); err != nil {
					t.Errorf("half-open connection (%q) not closed: %v (read %q)", half, err, b)
				}
				c.Close()
			}
			big := `{"x":"` + strings.Repeat("a", 2000) + `"}`
			if status, body := post(t, base, l, big, http.Header{"Content-Type": {"application/json"}}, ""); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "1000") {
				t.Errorf("oversized body: %d %s", status, body)
			}
		})
		t.Run(l.name+" cap", func(t *testing.T) {
			base := startListener(t, l, "--max-conns", "2")
			addr := strings.TrimPrefix(base, "http://")
			for range 2 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Errorf("past the cap: %d %v", resp.StatusCode, resp.Header)
			}
		})
	}
}

func TestListenerFlagErrors(t *testing.T) {
	for _, l := range listeners {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--max-conns", "0"}, "--max-conns is 0"},
			{[]string{"--max-body", "-1"}, "--max-body is -1"},
			{[]string{"--body-timeout", "0s"}, "must be positive"},
			{[]string{"--allow-origin", "app.example"}, "scheme and host"},
		} {
			var out, errOut syncBuffer
			args := append(l.args(t), tc.args...)
			if code := run(t.Context(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); code != 2 || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, code, errOut.String(), tc.want)
			}
		}
	}
}
