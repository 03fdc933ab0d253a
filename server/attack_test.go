package server

// The attack suite of what a client may make the server do: name a program
// to start, a file to read, an address to call. Each test fails on a server
// that trusts its clients' configuration (as this one did before issue 11):
// a marker file that must not appear, a loopback listener that must see no
// connection.

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/retrain-rl/retrain/bridge/gym"
	_ "github.com/retrain-rl/retrain/bridge/openenv"
	"github.com/retrain-rl/retrain/env"
	_ "github.com/retrain-rl/retrain/env/fstask"
	_ "github.com/retrain-rl/retrain/env/toolenv"
)

// builtinServer serves the built-in environments that can start programs,
// read files or call addresses.
func builtinServer(t *testing.T, opts *Options) string {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Registry = env.Default
	o.Envs = []string{"tool", "fs_task", "gym", "openenv", "calculator"}
	o.DefaultEnv = "calculator"
	_, url := start(t, &o)
	return url
}

// listenerThatMustNotBeCalled is a loopback listener; the returned func
// fails the test if anything connected to it.
func listenerThatMustNotBeCalled(t *testing.T) (addr string, check func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), func() {
		t.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(50 * time.Millisecond))
		c, err := ln.Accept()
		if err == nil {
			c.Close()
			t.Error("the server connected to an address a client named")
			return
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("accept: %v", err)
		}
	}
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestAttackClientConfigStartsNothing(t *testing.T) {
	url := builtinServer(t, nil)
	dir := t.TempDir()
	marker := filepath.Join(dir, "pwned")
	sh := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	touch := sh("touch " + marker)
	tests := []struct {
		name, path, body, wantKey string
	}{
		{"mcp command", "/envs/tool/sessions", `{"config": {"mcp": {"mcpServers": {"x": {"command": "sh", "args": ["-c", ` + touch + `]}}}}}`, `\"mcp\"`},
		{"mcp file", "/envs/tool/sessions", `{"config": {"mcp": "/etc/passwd"}}`, `\"mcp\"`},
		{"fs_task server", "/envs/fs_task/sessions", `{"config": {"server": ["sh", "-c", ` + touch + `]}}`, `\"server\"`},
		{"gym python", "/envs/gym/sessions", `{"config": {"env": "x:y", "python": "/bin/sh"}}`, `\"env\"`},
		{"gym pythonpath", "/envs/gym/sessions", `{"config": {"pythonpath": ["/tmp"]}}`, `\"pythonpath\"`},
		{"rollout env_config", "/v1/rollouts", `{"env": "tool", "env_config": {"mcp": {"mcpServers": {"x": {"command": "sh", "args": ["-c", ` + touch + `]}}}}, "tasks": [{"prompt": "x"}], "model": {"base_url": "fake"}}`, `\"mcp\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, url+tt.path, tt.body)
			if status != http.StatusForbidden || !strings.Contains(body, tt.wantKey) || !strings.Contains(body, "only by the operator") {
				t.Errorf("status %d, body %s; want 403 naming %s", status, body, tt.wantKey)
			}
			if strings.Contains(body, "root:") {
				t.Errorf("the reply leaks a file's content: %s", body)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("a client's config started a program: %s exists", marker)
			}
		})
	}
	// What a client may set still works.
	if status, body := post(t, url+"/envs/calculator/sessions", `{"config": {"max_steps": 3, "dialect": "hermes"}}`); status != http.StatusCreated {
		t.Errorf("client keys refused: %d %s", status, body)
	}
}

func TestAttackClientNamesNoAddress(t *testing.T) {
	addr, check := listenerThatMustNotBeCalled(t)
	url := builtinServer(t, nil)
	status, body := post(t, url+"/envs/openenv/sessions", `{"config": {"url": "http://`+addr+`"}}`)
	if status != http.StatusForbidden || !strings.Contains(body, `\"url\"`) {
		t.Errorf("openenv url: %d %s; want 403", status, body)
	}
	status, body = post(t, url+"/v1/rollouts", `{"env": "calculator", "tasks": [{"prompt": "2+2"}], "model": {"base_url": "http://`+addr+`/v1"}}`)
	if status != http.StatusForbidden || !strings.Contains(body, "not allowed") {
		t.Errorf("rollout model URL: %d %s; want 403", status, body)
	}
	status, body = post(t, url+"/v1/rollouts", `{"env": "calculator", "tasks": [{"prompt": "2+2"}], "model": {"base_url": "local", "weights": "/etc/passwd"}}`)
	if status != http.StatusForbidden || strings.Contains(body, "root:") {
		t.Errorf("rollout weights path: %d %s; want 403", status, body)
	}
	check()
}

// The operator's allowlist lets a client name a model URL; the local model
// and the fake are always allowed.
func TestModelAllowlist(t *testing.T) {
	addr, check := listenerThatMustNotBeCalled(t)
	url := builtinServer(t, &Options{ModelURLs: []string{"http://" + addr + "/v1/"}})
	for _, base := range []string{"local", "fake"} {
		status, lines, body := rolloutLines(t, url, `{"env": "calculator", "tasks": [{"prompt": "2+2", "answer": "4"}], "model": {"base_url": "`+base+`"}}`)
		if status != http.StatusOK || len(lines) == 0 || lines[len(lines)-1].Type != LineSummary {
			t.Errorf("%s: %d %s", base, status, body)
		}
	}
	check()
	if _, err := New(&Options{ModelURLs: []string{"file:///etc/passwd"}}); err == nil {
		t.Error("a model URL that is not http(s) was accepted")
	}
}
