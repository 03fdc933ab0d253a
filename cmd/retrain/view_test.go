package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// retrain view serves the file retrain rollout wrote, on a free loopback
// port whose URL it prints, and --open hands that URL to $BROWSER.
func TestView(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	rewards := writeFile(t, dir, "rewards.yaml", rewardsYAML)
	if code, _, stderr := rolloutCLI(t, "rollout", "--n", "2", "--limit", "3", "--rewards", rewards, "--quiet", "--out", out); code != 0 {
		t.Fatalf("rollout: exit %d\n%s", code, stderr)
	}
	opened := filepath.Join(dir, "opened") // a FIFO: reading it waits for the browser
	if err := syscall.Mkfifo(opened, 0o600); err != nil {
		t.Fatal(err)
	}
	browser := writeFile(t, dir, "browser.sh", "#!/bin/sh\nprintf '%s' \"$1\" > "+opened+"\n")
	if err := os.Chmod(browser, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROWSER", browser)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"view", "--open", out}, stdio{in: strings.NewReader(""), out: pw, err: &stderr})
		pw.Close()
		done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL printed: %v", err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(line)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0/") {
		t.Fatalf("printed %q, want a loopback URL with a port", line)
	}
	resp, err := http.Get(url + "f/0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<dd id="sum-episodes">6</dd>`) || !strings.Contains(string(body), "pass@2") {
		t.Errorf("run page: %d\n%.1500s", resp.StatusCode, body)
	}
	// The browser script ran with the URL.
	if got, err := os.ReadFile(opened); err != nil || string(got) != url {
		t.Errorf("$BROWSER was given %q (%v), want %q", got, err, url)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "r.jsonl: 6 episodes") {
		t.Errorf("stderr lacks the file's count:\n%s", stderr.String())
	}
}

// Each bad invocation is a usage error (exit 2) that says what to do.
func TestViewErrors(t *testing.T) {
	dir := t.TempDir()
	tasks := writeFile(t, dir, "tasks.jsonl", twoTasks)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"view"}, "name the files to view"},
		{[]string{"view", filepath.Join(dir, "missing.jsonl")}, "no such file"},
		{[]string{"view", tasks}, "neither trajectories (retrain rollout's output) nor a training log"},
		{[]string{"view", "--page-size", "0", tasks}, "--page-size is 0"},
		{[]string{"view", "--addr", "0.0.0.0:0", writeFile(t, dir, "train.jsonl", `{"type":"step","step":1}`+"\n")}, "without a token"},
	} {
		code, _, stderr := rolloutCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, want 2 with %q:\n%s", c.args, code, c.want, stderr)
		}
	}
	code, out, stderr := rolloutCLI(t, "view", "--help")
	if code != 0 || !strings.Contains(out+stderr, "Usage: retrain view") || !strings.Contains(out+stderr, "--open") {
		t.Errorf("--help: exit %d\n%s%s", code, out, stderr)
	}
}
