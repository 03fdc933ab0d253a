package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// The attacks of a web page on a server on loopback are refused before
// anything is created: a cross-origin "simple" POST (text/plain, no
// preflight), a POST body that is not JSON, and WebSocket upgrades with an
// Origin, even one that matches the Host (which the WebSocket library alone
// accepts).
func TestFrontDoorRefusesBrowsers(t *testing.T) {
	srv, url := start(t, nil)
	host := strings.TrimPrefix(url, "http://")
	const body = `{"config":{"steps":2}}`
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
		code   string
	}{
		{"cross-origin text/plain", http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"text/plain"}}, http.StatusForbidden, "FORBIDDEN"},
		{"cross-origin JSON", http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"application/json"}}, http.StatusForbidden, "FORBIDDEN"},
		{"text/plain", http.Header{"Content-Type": {"text/plain"}}, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{"rebinding Host", http.Header{"Host": {"evil.example"}, "Content-Type": {"application/json"}}, http.StatusForbidden, "FORBIDDEN"},
	} {
		req, _ := http.NewRequest("POST", url+"/envs/counter/sessions", strings.NewReader(body))
		req.Header = tc.header
		if h := tc.header.Get("Host"); h != "" {
			req.Host = h
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e wire.HTTPError
		decodeBody(t, resp, &e)
		if resp.StatusCode != tc.want || e.Code != tc.code || e.Detail == "" {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, resp.StatusCode, e, tc.want, tc.code)
		}
		if n := srv.SessionsOpen(); n != 0 {
			t.Fatalf("%s: %d sessions were created", tc.name, n)
		}
	}
	for _, origin := range []string{"http://evil.example", url} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		c, resp, err := websocket.Dial(ctx, "ws://"+host+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		cancel()
		if err == nil {
			c.CloseNow()
			t.Errorf("WebSocket with Origin %s accepted", origin)
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("WebSocket with Origin %s: %v, want 403", origin, err)
		}
		if n := srv.SessionsOpen(); n != 0 {
			t.Fatalf("WebSocket with Origin %s: %d sessions were created", origin, n)
		}
	}
}

// An allowed origin is served, WebSocket included.
func TestFrontDoorAllowedOrigin(t *testing.T) {
	_, url := start(t, &Options{AllowOrigins: []string{"https://app.example"}})
	c := dial(t, url+"/ws", http.Header{"Origin": {"https://app.example"}})
	result(t, c.call(wire.TypeReset, nil, "a"))
}

// A WebSocket client that cannot set headers passes the token as the
// subprotocol "bearer.TOKEN", echoed by the server, or as ?token=.
func TestTokenForWebSocketClients(t *testing.T) {
	_, url := start(t, &Options{Token: "s3cret"})
	ws := "ws" + strings.TrimPrefix(url, "http")
	for _, tc := range []struct {
		name, path string
		protos     []string
		ok         bool
	}{
		{"subprotocol", "/ws", []string{"bearer.s3cret"}, true},
		{"wrong subprotocol", "/ws", []string{"bearer.nope"}, false},
		{"query", "/ws?token=s3cret", nil, true},
		{"wrong query", "/ws?token=nope", nil, false},
		{"none", "/ws", nil, false},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		c, resp, err := websocket.Dial(ctx, ws+tc.path, &websocket.DialOptions{Subprotocols: tc.protos})
		cancel()
		if !tc.ok {
			if err == nil {
				c.CloseNow()
				t.Errorf("%s: connected", tc.name)
			} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: %v, want 401", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(tc.protos) > 0 && c.Subprotocol() != tc.protos[0] {
			t.Errorf("%s: subprotocol %q not echoed", tc.name, c.Subprotocol())
		}
		cl := &client{t: t, c: c, resp: resp}
		result(t, cl.call(wire.TypeReset, nil, "a"))
		c.Close(websocket.StatusNormalClosure, "")
	}
}

// A body over MaxMessageBytes is answered 413 naming the limit.
func TestBodyLimit(t *testing.T) {
	srv, url := start(t, &Options{MaxMessageBytes: 1000})
	status, _, body := httpDo(t, "POST", url+"/envs/counter/sessions", `{"config":{"steps":2},"x":"`+strings.Repeat("a", 2000)+`"}`, nil)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "1000 bytes") || !strings.Contains(body, "BODY_TOO_LARGE") {
		t.Errorf("oversized body: %d %s", status, body)
	}
	if n := srv.SessionsOpen(); n != 0 {
		t.Errorf("%d sessions were created", n)
	}
}

func decodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
}
