package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain/internal/proctree"
	"github.com/retrain-rl/retrain/rollout/dist"
)

// A coordinator of the built binary SIGKILLed mid-run and rerun with
// --resume: first on a NATS server of its own (the test's) whose two remote
// worker processes keep playing while it is gone, then with --nats embedded
// --workers 2, whose store outlives the kill and whose workers are started
// again. Each time every (task, sample) is written once, every line whole,
// with the rewards and advantages of an in-process run of the same seed.
func TestDistributedCoordinatorResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the cleanups registered below (the fake model)
	bin := buildRetrain(t)
	fake := distFakeModel(t)
	dir := t.TempDir()
	common := distRolloutArgs(t, dir, fake.URL)
	if code, _, errOut := runCLI(t, "", append(common, "--out", filepath.Join(dir, "local.jsonl"))...); code != 0 {
		t.Fatalf("in-process run: exit %d\n%s", code, errOut)
	}
	want := readByID(t, filepath.Join(dir, "local.jsonl"))

	// 1. A NATS server of its own, and remote workers that keep pulling.
	srv, err := dist.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var workers []*exec.Cmd
	for range 2 {
		cmd := exec.Command(bin, "worker", "--nats", srv.URL(), "--run-id", "k1", "--concurrency", "2")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // no process left behind, whatever happens
			cmd.Process.Kill()
			cmd.Wait()
		})
		workers = append(workers, cmd)
	}
	out := filepath.Join(dir, "ext.jsonl")
	args := append(common, "--nats", srv.URL(), "--run-id", "k1", "--ack-wait", "2s", "--out", out)
	killMidRun(t, exec.Command(bin, args...), out)
	// A line torn by the kill (if the kill did not tear one, as if it had).
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"torn","task":{"id":`)
	f.Close()
	code, _, errOut := runCLI(t, "", append(args, "--resume")...)
	if code != 0 {
		t.Fatalf("resumed coordinator: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "resuming run k1: ") || !strings.Contains(errOut, "wrote ") {
		t.Errorf("the resumed coordinator's messages: %s", errOut)
	}
	sameAsInProcess(t, "resumed on a NATS server", want, readByID(t, out))
	for _, w := range workers {
		w.Process.Signal(os.Interrupt)
		if err := w.Wait(); err != nil {
			t.Errorf("worker: %v", err)
		}
	}

	// 2. --nats embedded --workers 2: the store stays, the workers restart.
	out = filepath.Join(dir, "emb.jsonl")
	args = append(common, "--nats", "embedded", "--workers", "2", "--ack-wait", "2s", "--out", out)
	coord := exec.Command(bin, args...)
	children := killMidRun(t, coord, out)
	for _, pid := range children {
		for deadline := time.Now().Add(20 * time.Second); processAlive(pid); {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d outlived its killed coordinator by 20s", pid)
			}
			time.Sleep(5 * time.Millisecond) // polling the condition
		}
	}
	if _, err := os.Stat(out + ".nats"); err != nil {
		t.Fatalf("the embedded server's store did not outlive the kill: %v", err)
	}
	if b, err := exec.Command(bin, append(args, "--resume")...).CombinedOutput(); err != nil {
		t.Fatalf("resumed --nats embedded --workers 2: %v\n%s", err, b)
	}
	sameAsInProcess(t, "resumed --nats embedded", want, readByID(t, out))
	if _, err := os.Stat(out + ".nats"); !os.IsNotExist(err) {
		t.Errorf("the embedded server's store %s.nats is left behind after the run ended (%v)", out, err)
	}
}

// killMidRun starts the coordinator cmd, SIGKILLs it once its output out
// holds a whole group (3 lines) and before it holds all 15, and returns the
// processes it had started.
func killMidRun(t *testing.T, cmd *exec.Cmd, out string) (children []int) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		for _, pid := range children {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatalf("the coordinator wrote no whole group in 60s\n%s", stderr.String())
		}
		children = proctree.Children(cmd.Process.Pid)
		if b, _ := os.ReadFile(out); bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		time.Sleep(5 * time.Millisecond) // polling the condition
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	b, _ := os.ReadFile(out)
	if n := bytes.Count(b, []byte("\n")); n >= 15 {
		t.Fatalf("the coordinator wrote all %d lines before it was killed: nothing left to resume", n)
	}
	return children
}
