package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain/internal/proctree"
	"github.com/retrain-rl/retrain/rollout/dist"
)

// A distributed run with worker processes of the built binary, one of them
// SIGKILLed in the middle of its episodes: they are redelivered after the
// ack wait, every (task, sample) is written once, every line whole, with the
// rewards and advantages of an in-process run of the same seed.
func TestDistributedWorkerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the cleanups registered below (the fake model)
	bin := buildRetrain(t)
	fake := distFakeModel(t) // slow: a worker is killed mid-episode
	srv, err := dist.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	common := distRolloutArgs(t, dir, fake.URL)

	worker := func() *exec.Cmd {
		cmd := exec.Command(bin, "worker", "--nats", srv.URL(), "--run-id", "p1", "--concurrency", "2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // no process left behind, whatever happens
			cmd.Process.Kill()
			cmd.Wait()
		})
		return cmd
	}
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCLI(t, "", append(common, "--nats", srv.URL(), "--run-id", "p1", "--ack-wait", "2s", "--out", filepath.Join(dir, "dist.jsonl"))...)
		done <- result{code, out, errOut}
	}()

	// The first worker takes episodes alone, and dies while it plays them.
	doomed := worker()
	deadline := time.Now().Add(30 * time.Second)
	for fake.Requests() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first worker asked the model nothing in 30s")
		}
		time.Sleep(5 * time.Millisecond) // polling the condition, not a guess at timing
	}
	doomed.Process.Signal(syscall.SIGKILL)
	doomed.Wait()
	if doomed.ProcessState.Success() {
		t.Fatal("the killed worker exited successfully")
	}
	others := []*exec.Cmd{worker(), worker()}

	res := <-done
	if res.code != 0 {
		t.Fatalf("coordinator: exit %d\n%s", res.code, res.stderr)
	}
	for _, w := range others {
		w.Process.Signal(os.Interrupt)
		if err := w.Wait(); err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	if code, _, errOut := runCLI(t, "", append(common, "--out", filepath.Join(dir, "local.jsonl"))...); code != 0 {
		t.Fatalf("in-process run: exit %d\n%s", code, errOut)
	}
	want := readByID(t, filepath.Join(dir, "local.jsonl"))
	if len(want) != 15 {
		t.Fatalf("%d episodes in-process; want 15", len(want))
	}
	sameAsInProcess(t, "worker killed", want, readByID(t, filepath.Join(dir, "dist.jsonl")))
	if !strings.Contains(res.stderr, "wrote 15 trajectories") {
		t.Errorf("coordinator's summary: %s", res.stderr)
	}

	// The binary alone: an embedded server and two local worker processes,
	// stopped and waited for before it exits.
	out := filepath.Join(dir, "embedded.jsonl")
	cmd := exec.Command(bin, append(common, "--nats", "embedded", "--workers", "2", "--out", out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rollout --nats embedded --workers 2: %v\n%s", err, b)
	}
	sameAsInProcess(t, "--nats embedded", want, readByID(t, out))
	if _, err := os.Stat(out + ".nats"); !os.IsNotExist(err) {
		t.Errorf("the embedded server's store %s.nats is left behind (%v)", out, err)
	}

	// A coordinator SIGKILLed mid-run leaves no worker process behind.
	cmd = exec.Command(bin, append(common, "--nats", "embedded", "--workers", "2", "--out", filepath.Join(dir, "killed.jsonl"))...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	before := fake.Requests()
	var children []int
	for deadline := time.Now().Add(30 * time.Second); fake.Requests() == before || len(children) < 2; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the workers did not start playing in 30s (%d children)", len(children))
		}
		time.Sleep(5 * time.Millisecond) // polling the condition
		children = proctree.Children(cmd.Process.Pid)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	defer func() { // whatever the outcome, none is left behind
		for _, pid := range children {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	for _, pid := range children {
		for deadline := time.Now().Add(20 * time.Second); processAlive(pid); {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d outlived its killed coordinator by 20s", pid)
			}
			time.Sleep(5 * time.Millisecond) // polling the condition
		}
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// Usage errors of the distributed flags, and an unreachable server.
func TestDistributedFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rollout", "--workers", "2"}, "--workers needs --nats"},
		{[]string{"rollout", "--nats", "nats://127.0.0.1:1"}, "cannot reach the NATS server at nats://127.0.0.1:1"},
		{[]string{"worker"}, "--nats is missing"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:1"}, "cannot reach the NATS server"},
	} {
		code, _, errOut := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args, code, errOut, c.want)
		}
	}
}
