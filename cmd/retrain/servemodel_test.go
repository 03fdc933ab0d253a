package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local/localtest"
	"github.com/retrain-rl/retrain/model/openai"
)

// writeRandomWeights writes a small random weights file, quicker to load and
// run than the built-in one.
func writeRandomWeights(t *testing.T) string {
	t.Helper()
	path, err := localtest.WriteRandomWeights(t.TempDir(), localtest.Tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// serve-model serves the model until its context ends; the project's
// OpenAI client talks to it over loopback.
func TestServeModel(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := t.Context()
	base, stop := startServeModel(t, ctx, "serving toy", "--name", "toy", "--weights", writeRandomWeights(t))
	c, err := openai.New(&openai.Options{BaseURL: base, ReturnTokenIDs: true, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	comp, err := c.Generate(ctx, model.Request{
		Messages: []retrain.Message{{Role: "user", Content: "What is 2 * 3?"}},
		Sampling: model.Sampling{MaxTokens: 8, Seed: new(int64)},
	})
	c.CloseIdleConnections()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(comp.Tokens.IDs); n == 0 || n != len(comp.Tokens.Logprobs) || len(comp.PromptTokenIDs) == 0 {
		t.Errorf("completion %+v lacks token ids or log-probs", comp)
	}
	stop()
}

func TestServeModelErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.bin")
	os.WriteFile(bad, []byte("not weights"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--weights", filepath.Join(t.TempDir(), "none.bin")}, "none.bin"},
		{[]string{"--weights", bad}, "not a valid weights file"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--max-concurrent", "0"}, "--max-concurrent must be at least 1"},
		{[]string{"--addr", "256.0.0.1:0", "--weights", writeRandomWeights(t)}, "listen on 256.0.0.1:0"},
	}
	for _, tt := range tests {
		code, _, stderr := rolloutCLI(t, append([]string{"serve-model"}, tt.args...)...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want failure mentioning %q", tt.args, code, stderr, tt.want)
		}
	}
}

// startServeModel runs `retrain serve-model --addr 127.0.0.1:0 ARGS...` in
// this process until ctx ends. It returns the served base URL (from the
// banner, which must contain bannerHas) and stop, which cancels ctx's run
// and fails the test unless the command ends with exit code 0 within 10 s.
func startServeModel(t *testing.T, ctx context.Context, bannerHas string, args ...string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"serve-model", "--addr", "127.0.0.1:0"}, args...),
			stdio{in: strings.NewReader(""), out: io.Discard, err: pw})
		pw.Close()
		done <- code
	}()
	stop = func() {
		t.Helper()
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve-model exit %d after cancel", code)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve-model did not stop")
		}
	}
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		stop()
		t.Fatalf("serve-model: no banner: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base = regexp.MustCompile(`http://127\.0\.0\.1:\d+/v1`).FindString(line)
	if base == "" || !strings.Contains(line, bannerHas) {
		stop()
		t.Fatalf("serve-model banner %q names no URL (or lacks %q)", line, bannerHas)
	}
	return base, stop
}
