package httpsec_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/internal/httpserve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// marker is a handler that counts the requests reaching it and records the
// last one's URL and body.
type marker struct {
	n          atomic.Int32
	uri, query atomic.Value
	body       atomic.Value
}

func (m *marker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m.n.Add(1)
	m.uri.Store(r.RequestURI)
	m.query.Store(r.URL.RawQuery)
	m.body.Store(string(b))
	io.WriteString(w, "ok")
}

func TestHandler(t *testing.T) {
	m := &marker{}
	ts := httptest.NewServer(httpsec.Handler(m, &httpsec.Options{
		Token:        "tok",
		AllowOrigins: []string{"https://App.example"},
		Public:       []string{"/health"},
		MaxBodyBytes: 100,
	}))
	defer ts.Close()
	defer ts.Client().CloseIdleConnections()
	port := ts.URL[strings.LastIndex(ts.URL, ":"):]
	auth := http.Header{"Authorization": {"Bearer tok"}}
	with := func(h http.Header, kv ...string) http.Header {
		out := h.Clone()
		if out == nil {
			out = http.Header{}
		}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name, method, path, host, body string
		header                         http.Header
		want                           int
		detail                         string // in the refusal
	}{
		{"health needs no token", "GET", "/health", "", "", nil, 200, ""},
		{"token absent", "GET", "/x", "", "", nil, 401, "Authorization: Bearer TOKEN"},
		{"token wrong", "GET", "/x", "", "", http.Header{"Authorization": {"Bearer nope"}}, 401, ""},
		{"token without scheme", "GET", "/x", "", "", http.Header{"Authorization": {"tok"}}, 401, ""},
		{"token", "GET", "/x", "", "", auth, 200, ""},
		{"token lower-case scheme", "GET", "/x", "", "", http.Header{"Authorization": {"bearer tok"}}, 200, ""},
		{"token upper-case scheme", "GET", "/x", "", "", http.Header{"Authorization": {"BEARER   tok"}}, 200, ""},
		{"token as subprotocol", "GET", "/x", "", "", http.Header{"Sec-Websocket-Protocol": {"chat, bearer.tok"}}, 200, ""},
		{"wrong token as subprotocol", "GET", "/x", "", "", http.Header{"Sec-Websocket-Protocol": {"bearer.nope"}}, 401, ""},
		{"token in the query", "GET", "/x?token=tok&a=1", "", "", nil, 200, ""},
		{"wrong token in the query", "GET", "/x?token=nope", "", "", nil, 401, ""},
		{"two tokens in the query", "GET", "/x?token=tok&token=nope", "", "", nil, 401, ""},
		{"rebinding Host", "GET", "/health", "evil.example" + port, "", nil, 403, "DNS rebinding"},
		{"rebinding Host without port", "GET", "/health", "evil.example", "", nil, 403, ""},
		{"localhost Host", "GET", "/health", "LOCALHOST" + port, "", nil, 200, ""},
		{"127.0.0.2 Host", "GET", "/health", "127.0.0.2", "", nil, 200, ""},
		{"[::1] Host", "GET", "/health", "[::1]" + port, "", nil, 200, ""},
		{"foreign Origin", "GET", "/health", "", "", http.Header{"Origin": {"http://evil.example"}}, 403, "--allow-origin"},
		{"same-origin Origin", "GET", "/health", "", "", http.Header{"Origin": {ts.URL}}, 403, ""},
		{"null Origin", "GET", "/health", "", "", http.Header{"Origin": {"null"}}, 403, ""},
		{"allowed Origin", "GET", "/x", "", "", with(auth, "Origin", "https://app.example"), 200, ""},
		{"text/plain POST", "POST", "/x", "", `{}`, with(auth, "Content-Type", "text/plain"), 415, "application/json"},
		{"POST without type", "POST", "/x", "", `{}`, auth, 415, ""},
		{"form POST", "POST", "/x", "", `a=1`, with(auth, "Content-Type", "application/x-www-form-urlencoded"), 415, ""},
		{"JSON POST", "POST", "/x", "", `{}`, with(auth, "Content-Type", "application/json; charset=utf-8"), 200, ""},
		{"empty POST without type", "POST", "/x", "", "", auth, 200, ""},
		{"JSON PUT as text", "PUT", "/x", "", `{}`, with(auth, "Content-Type", "text/plain"), 415, ""},
		{"body at the limit", "POST", "/x", "", strings.Repeat(" ", 100), with(auth, "Content-Type", "application/json"), 200, ""},
		{"body over the limit", "POST", "/x", "", strings.Repeat(" ", 101), with(auth, "Content-Type", "application/json"), 413, "limit of 100 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := m.n.Load()
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, body)
			req.Header = tc.header.Clone()
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.detail) {
				t.Fatalf("status %d %s, want %d with %q", resp.StatusCode, b, tc.want, tc.detail)
			}
			reached := m.n.Load() != before
			if reached != (tc.want == 200) {
				t.Errorf("handler reached: %v with status %d", reached, resp.StatusCode)
			}
			if tc.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if reached && tc.body != "" && m.body.Load() != tc.body {
				t.Errorf("handler read body %q, want %q", m.body.Load(), tc.body)
			}
			if strings.Contains(tc.name, "subprotocol") && tc.want == 200 && resp.Header.Get("Sec-Websocket-Protocol") != "bearer.tok" {
				t.Errorf("subprotocol not echoed: %v", resp.Header)
			}
		})
	}
	// The token in the query is removed before the handler (and any log of
	// it) sees the URL.
	resp, err := ts.Client().Get(ts.URL + "/x?a=1&token=tok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if uri, q := m.uri.Load().(string), m.query.Load().(string); strings.Contains(uri, "tok") || q != "a=1" {
		t.Errorf("handler saw %q (query %q): the token was not removed", uri, q)
	}
}

// Without options, a request with an Origin is refused and a JSON POST
// served; no token is needed.
func TestHandlerDefaults(t *testing.T) {
	m := &marker{}
	ts := httptest.NewServer(httpsec.Handler(m, nil))
	defer ts.Close()
	defer ts.Client().CloseIdleConnections()
	resp, err := ts.Client().Post(ts.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("JSON POST: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", ts.URL, nil)
	req.Header.Set("Origin", "http://evil.example")
	resp, err = ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.HasPrefix(string(b), `{"detail":"cross-origin`) {
		t.Errorf("Origin: %d %s", resp.StatusCode, b)
	}
}

// serve serves h with httpserve (the listener bounds) and the front door
// until the test ends.
func serve(t *testing.T, h http.Handler, fo *httpsec.Options, so *httpserve.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpserve.Serve(ctx, ln, httpsec.Handler(h, fo), so) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// readUntilEOF reads c until the server closes it, failing after limit.
func readUntilEOF(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server did not close the connection within %s: %v (read %q)", limit, err, b)
	}
	return string(b)
}

// A half-open connection, headers or body never finished, is closed by the
// server within its timeout.
func TestHalfOpenConnectionsClosed(t *testing.T) {
	addr := serve(t, &marker{}, &httpsec.Options{BodyTimeout: 100 * time.Millisecond},
		&httpserve.Options{ReadHeaderTimeout: 100 * time.Millisecond})
	for _, tc := range []struct{ name, send, want string }{
		{"nothing", "", ""},
		{"half the headers", "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty", ""},
		{"half the body", "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":", "408 Request Timeout"},
		{"half a chunked body", "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":", "408 Request Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tc.send)
			got := readUntilEOF(t, c, 10*time.Second)
			if !strings.Contains(got, tc.want) {
				t.Errorf("reply %q, want %q", got, tc.want)
			}
		})
	}
}

// The body deadline ends with the body: a response streamed for longer
// than the body timeout is not cut, nor is its request's context canceled.
func TestBodyTimeoutSparesStreams(t *testing.T) {
	const timeout = 50 * time.Millisecond
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		for i := range 3 {
			time.Sleep(2 * timeout) // the point: outlast the body's deadline
			if r.Context().Err() != nil {
				return
			}
			io.WriteString(w, strings.Repeat("x", i+1)+"\n")
			http.NewResponseController(w).Flush()
		}
	})
	addr := serve(t, h, &httpsec.Options{BodyTimeout: timeout}, nil)
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer http.DefaultClient.CloseIdleConnections()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "x\nxx\nxxx\n" {
		t.Errorf("stream %q, %v: cut by the body deadline", b, err)
	}
}

// Past the connection cap, a connection is answered 503 with Retry-After
// and closed; once a connection closes, a new one is served.
func TestConnectionCap(t *testing.T) {
	addr := serve(t, &marker{}, nil, &httpserve.Options{MaxConns: 2})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	get := func() (*http.Response, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			io.ReadAll(resp.Body)
		}
		return resp, err
	}
	resp, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past the cap: %d %v, want 503 with Retry-After", resp.StatusCode, resp.Header)
	}
	held[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := get()
		if err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a connection closed: %v, %v", resp, err)
		}
	}
}

// A non-loopback listener needs a token, or insecure.
func TestCheckExposure(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	any := &net.TCPAddr{IP: net.IPv4zero, Port: 80}
	pub := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 80}
	for _, tc := range []struct {
		addr     net.Addr
		token    string
		insecure bool
		bad      bool
	}{
		{lo, "", false, false}, {any, "", false, true}, {pub, "", false, true},
		{any, "t", false, false}, {any, "", true, false},
		{&net.TCPAddr{IP: net.IPv6loopback}, "", false, false},
	} {
		err := httpsec.CheckExposure(tc.addr, tc.token, tc.insecure)
		if (err != nil) != tc.bad {
			t.Errorf("CheckExposure(%v, %q, %v) = %v", tc.addr, tc.token, tc.insecure, err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true}, {"bearer abc", "abc", true}, {"BeArEr \t abc ", "abc", true},
		{"Bearerabc", "", false}, {"Bearer ", "", false}, {"Basic abc", "", false}, {"abc", "", false}, {"", "", false},
	} {
		got, ok := httpsec.BearerToken(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost:8080": true, "127.0.0.1": true, "127.1.2.3:9": true, "[::1]:80": true, "[::1]": true, "::1": true,
		"[::ffff:127.0.0.1]:80": true,
		"evil.example":          false, "evil.example:8080": false, "localhost.evil.example": false, "10.0.0.1": false, "": false,
		"[fe80::1%lo]:80": false, "0.0.0.0": false,
	} {
		if got := httpsec.IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer\tx", "Bearer", "", "BEARER  y "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, ok := httpsec.BearerToken(s)
		if ok && (tok == "" || strings.TrimSpace(tok) != tok) {
			t.Errorf("BearerToken(%q) = %q", s, tok)
		}
		if ok {
			if again, ok2 := httpsec.BearerToken("Bearer " + tok); !ok2 || again != tok {
				t.Errorf("round trip of %q: %q, %v", tok, again, ok2)
			}
		}
	})
}

func FuzzIsLoopbackHost(f *testing.F) {
	for _, s := range []string{"localhost:1", "127.0.0.1", "[::1]:8", "evil.example", "[", "::ffff:7f00:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !httpsec.IsLoopbackHost(s) {
			return
		}
		// A loopback host stays one with a port.
		h := s
		if _, _, err := net.SplitHostPort(s); err == nil {
			return
		}
		if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
			h = "[" + h + "]"
		}
		if !httpsec.IsLoopbackHost(h + ":80") {
			t.Errorf("%q is loopback, %q is not", s, h+":80")
		}
	})
}
