package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitReady waits for retrain serve's --ready-file and returns its URL.
func waitReady(t *testing.T, path string, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		select {
		case <-exited:
			t.Fatal("retrain serve exited before it was ready")
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("retrain serve did not become ready")
	return ""
}

func TestServe(t *testing.T) {
	defer goleak.VerifyNone(t)
	ready := filepath.Join(t.TempDir(), "ready")
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	exited := make(chan struct{})
	var code int
	go func() {
		defer close(exited)
		code = run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--ready-file", ready, "--env", "calculator",
			"--env-config", `{"max_steps": 3}`, "--token", "tok", "--quiet"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	}()
	url := waitReady(t, ready, exited)
	if !strings.HasPrefix(out.String(), "listening on "+url+"\n") {
		t.Errorf("stdout %q, want it to start with the URL", out.String())
	}
	client := &http.Client{}
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/health", ""); status != 200 || !strings.Contains(body, "healthy") {
		t.Errorf("health: %d %s", status, body)
	}
	if status, _ := get("/metadata", ""); status != 401 {
		t.Errorf("metadata without the token: %d, want 401", status)
	}
	if status, body := get("/metadata", "tok"); status != 200 || !strings.Contains(body, `"name":"calculator"`) {
		t.Errorf("metadata: %d %s", status, body)
	}
	if status, body := get("/envs", "tok"); status != 200 || !strings.Contains(body, `"name":"openenv"`) {
		t.Errorf("envs lack the OpenEnv bridge: %d %s", status, body)
	}
	client.CloseIdleConnections()
	cancel()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("retrain serve did not stop when its context was canceled")
	}
	if code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", code, errOut.String())
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--env", "nope"}, `default environment "nope" is not served`},
		{[]string{"serve", "--envs", "calculator,nope"}, `"nope" is not registered`},
		{[]string{"serve", "--env-config", "max_steps=5"}, "is not a JSON object"},
		{[]string{"serve", "--env-config", "5"}, "want a JSON object"},
		{[]string{"serve", "--env", "calculator", "--env-config", `{"max_stepz": 5}`}, `unknown config key "max_stepz"`},
		{[]string{"serve", "--max-sessions", "0"}, "--max-sessions is 0"},
		{[]string{"serve", "--max-session-bytes", "0"}, "--max-session-bytes"},
		{[]string{"serve", "--max-episodes-per-request", "-1"}, "--max-episodes-per-request"},
		{[]string{"serve", "--data-dir", "/nonexistent/dir"}, "is not a directory"},
		{[]string{"serve", "extra"}, "unexpected argument"},
	} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), tc.args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}
