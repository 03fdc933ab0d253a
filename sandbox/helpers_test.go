package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

// newSandbox returns a sandbox with opts, failing the test (with the
// install hint) when bwrap is not usable, and checking at the end that no
// process of the sandbox is left.
func newSandbox(t testing.TB, opts *sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	t.Cleanup(func() { checkNoLeftovers(t) })
	return sb
}

func run(t testing.TB, sb *sandbox.Sandbox, code string) sandbox.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := sb.Run(ctx, sandbox.Request{Code: code})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// sandboxProcesses lists the host's live processes that belong to this
// process's sandboxes: those named sandbox.ProcessName() (bwrap, outside
// and as the init of the sandbox's PID namespace, which takes every process
// inside down with it), and the descendants of this process (the unsafe
// mode's plain children). Zombies are left out: they have exited, and an
// orphan's exit status waits for the host's init to collect it (a
// container's init may take a second or two).
func sandboxProcesses() []string {
	self := os.Getpid()
	name := sandbox.ProcessName()
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil || strings.Contains(string(b), "\nState:\tZ") {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "PPid:" {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
		if cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); strings.HasPrefix(string(cmdline), name+"\x00") {
			found = append(found, e.Name()+" "+name)
		}
	}
	for pid := range parent {
		for p, n := parent[pid], 0; p > 1 && n < 64; p, n = parent[p], n+1 {
			if p == self {
				found = append(found, strconv.Itoa(pid)+" (descendant)")
				break
			}
		}
	}
	return found
}

// checkNoLeftovers fails t when a sandbox process is still alive. A
// killed process group may take a moment to be reaped by the kernel, so it
// polls for up to 5 seconds.
func checkNoLeftovers(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := sandboxProcesses()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left behind: %v", left)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
