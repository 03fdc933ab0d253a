package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// TestPythonClient builds the retrain binary, starts "retrain serve" and a
// fake model server, and runs the Python client's tests
// (clients/python/test_retrain_client.py) against them.
func TestPythonClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs Python; skipped with -short")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "retrain")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	model := openaitest.NewServer(&openaitest.Options{Responder: openaitest.ArithmeticResponder})
	defer model.Close()

	ready := filepath.Join(dir, "ready")
	var serverLog bytes.Buffer
	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--ready-file", ready, "--env", "calculator", "--quiet", "--model-url", model.URL)
	srv.Env = append(os.Environ(), "RETRAIN_SERVE_TOKEN=py-token")
	srv.Stdout, srv.Stderr = &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	defer func() {
		srv.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-exited
			t.Error("retrain serve did not exit on SIGINT")
		}
	}()
	url := waitReady(t, ready, exited)

	clientDir, err := filepath.Abs(filepath.Join("..", "..", "clients", "python"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	py := exec.CommandContext(ctx, python, "-m", "unittest", "discover", "-v", "-s", clientDir, "-p", "test_*.py")
	py.Dir = clientDir
	py.Env = append(os.Environ(),
		"RETRAIN_SERVE_URL="+url,
		"RETRAIN_SERVE_TOKEN=py-token",
		"RETRAIN_FAKE_MODEL_URL="+model.URL,
		"PYTHONDONTWRITEBYTECODE=1",
	)
	out, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests failed: %v\n%s\nserver log:\n%s", err, out, serverLog.String())
	}
	if !strings.Contains(string(out), "OK") || strings.Contains(string(out), "skipped") {
		t.Errorf("python tests did not all run:\n%s", out)
	}
	t.Logf("python:\n%s", out)
}
