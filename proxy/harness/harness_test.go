package harness_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/proxy/harness"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/sandbox"
)

func newEnv(t *testing.T, cfg string) retrain.Environment {
	t.Helper()
	f, err := env.New(harness.Name, json.RawMessage(cfg))
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func testModel(t *testing.T) *local.Model {
	t.Helper()
	m, err := local.Default()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The test agent on the official openai npm client, run by the harness
// through rollout.Run: the trajectory is the proxy's record (token ids and
// log-probs on every turn, the kept history matching token for token) and
// the verifier's number is the reward.
func TestNodeAgentEpisode(t *testing.T) {
	for _, stream := range []string{"0", "1"} {
		t.Run("stream="+stream, func(t *testing.T) { nodeAgentEpisode(t, stream) })
	}
}

func nodeAgentEpisode(t *testing.T, stream string) {
	agent, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "proxy-agent", "agent.mjs"))
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed (scripts/test.sh installs it)")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(agent), "node_modules", "openai")); err != nil {
		if os.Getenv("RETRAIN_SKIP_NPM") == "1" {
			t.Skip("the openai npm package is not installed (RETRAIN_SKIP_NPM=1)")
		}
		t.Fatal("the openai npm package is not installed: npm ci --prefix testdata/proxy-agent (or RETRAIN_SKIP_NPM=1)")
	}
	cfg, _ := json.Marshal(map[string]any{
		"command": "node", "args": []string{agent}, "prompt_via": "stdin",
		"env":      map[string]string{"AGENT_TURNS": "2", "AGENT_MAX_TOKENS": "6", "AGENT_MODEL": "anything", "AGENT_STREAM": stream},
		"verifier": []string{"sh", "-c", `test -n "$AGENT_ANSWER" && echo 0.75`},
	})
	e := newEnv(t, string(cfg))
	m := testModel(t)
	tr, err := rollout.Run(t.Context(), e, m, &rollout.Options{Task: retrain.Task{ID: "t1", Prompt: "What is 2 + 2?"}, ModelName: m.Name()})
	if err != nil {
		t.Fatalf("episode failed: %v (%s)", err, tr.ResetInfo["stderr_tail"])
	}
	if tr.Env != "harness" || tr.StepReward != 0.75 || tr.StopReason != retrain.StopTerminated || len(tr.Turns) != 2 {
		t.Fatalf("trajectory env %q reward %v stop %q turns %d info %v", tr.Env, tr.StepReward, tr.StopReason, len(tr.Turns), tr.ResetInfo)
	}
	for i, tu := range tr.Turns {
		if tok := tu.Action.Tokens; tok == nil || len(tok.IDs) == 0 || len(tok.IDs) != len(tok.Logprobs) || len(tu.PromptTokenIDs) == 0 {
			t.Errorf("turn %d lacks token ids or log-probs", i+1)
		}
	}
	if pm := tr.Turns[1].PrefixMatch; pm == nil || !*pm {
		t.Errorf("turn 2 prefix_match %v", pm)
	}
	if tr.Task.Prompt != "What is 2 + 2?" || tr.ResetInfo["exit_code"] != 0 || tr.ResetInfo["sandboxed"] != true {
		t.Errorf("task %+v info %v", tr.Task, tr.ResetInfo)
	}
}

// An agent that hangs is killed with its whole process tree at the
// timeout; one that floods its output is cut; one that fails is recorded
// with its cause: in the sandbox and, unsafe, as a plain process.
func TestAgentFaults(t *testing.T) {
	for _, mode := range []string{"sandbox", "unsafe"} {
		t.Run(mode, func(t *testing.T) { agentFaults(t, mode == "unsafe") })
	}
}

func agentFaults(t *testing.T, unsafe bool) {
	m := testModel(t)
	// A sleep with a duration no other process has: its command line marks
	// the agent's child in the host's process list.
	marker := fmt.Sprintf("300.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
	for _, tt := range []struct {
		name  string
		cfg   map[string]any
		cause retrain.ErrorCause
		check func(t *testing.T, tr *retrain.Trajectory)
	}{
		{"hangs", map[string]any{"command": "sh", "args": []string{"-c", "sleep " + marker + " & echo started; wait"}, "timeout": "500ms"},
			retrain.CauseTimeout, func(t *testing.T, tr *retrain.Trajectory) {
				if tr.ResetInfo["stdout_tail"] != "started\n" {
					t.Errorf("the agent did not start its child: %v", tr.ResetInfo)
				}
				if !strings.Contains(tr.Error, "timeout") {
					t.Errorf("error %q does not name the timeout", tr.Error)
				}
				noProcess(t, marker)
				noProcess(t, sandbox.ProcessName()+"\x00") // bwrap, and the forwarder with it
			}},
		{"floods", map[string]any{"command": "sh", "args": []string{"-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo done"}, "max_output_bytes": 1000},
			"", func(t *testing.T, tr *retrain.Trajectory) {
				if d, _ := tr.ResetInfo["output_dropped_bytes"].(int); d < 2_000_000 {
					t.Errorf("dropped %v bytes; info %v", tr.ResetInfo["output_dropped_bytes"], tr.ResetInfo)
				}
			}},
		{"exits 3", map[string]any{"command": "sh", "args": []string{"-c", "echo broken >&2; exit 3"}},
			retrain.CauseEnvironment, func(t *testing.T, tr *retrain.Trajectory) {
				if !strings.Contains(tr.Error, "status 3") || !strings.Contains(tr.Error, "broken") {
					t.Errorf("error %q", tr.Error)
				}
			}},
		{"no such program", map[string]any{"command": "/nonexistent/agent"}, retrain.CauseEnvironment, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := json.Marshal(tt.cfg)
			tt.cfg["unsafe_no_sandbox"] = unsafe
			cfg, _ = json.Marshal(tt.cfg)
			tr, err := rollout.Run(t.Context(), newEnv(t, string(cfg)), m, &rollout.Options{Task: retrain.Task{Prompt: "hi"}})
			var ee *rollout.EpisodeError
			if tt.cause == "" {
				if err != nil {
					t.Fatalf("episode failed: %v", err)
				}
			} else if !errors.As(err, &ee) || ee.Cause != tt.cause || tr.ErrorCause != tt.cause {
				t.Fatalf("error %v (trajectory cause %q), want cause %s", err, tr.ErrorCause, tt.cause)
			}
			if tt.check != nil {
				tt.check(t, tr)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	for _, tt := range []struct{ cfg, want string }{
		{`{}`, "command"},
		{`{"command": "sh", "prompt_via": "pipe"}`, "prompt_via"},
		{`{"command": "sh", "timeout": "0s"}`, "timeout"},
		{`{"command": "sh", "reward": "no-such-reward"}`, "reward"},
		{`{"command": "sh", "memory_mb": -1}`, "memory_mb"},
		{`{"command": "sh", "read_only": ["/no/such/path"]}`, "/no/such/path"},
	} {
		if _, err := env.New(harness.Name, json.RawMessage(tt.cfg)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %s", tt.cfg, err, tt.want)
		}
	}
	// A network client names no program: every key is the operator's.
	keys, err := env.OperatorKeys(harness.Name, json.RawMessage(`{"command": "sh", "args": ["-c", "x"], "verifier": ["sh"], "env": {},
		"read_only": ["/usr"], "unsafe_no_sandbox": false, "bwrap": "bwrap", "memory_mb": 1, "processes": 1, "file_size_mb": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"command", "args", "verifier", "env", "read_only", "unsafe_no_sandbox", "bwrap", "memory_mb", "processes", "file_size_mb"} {
		if !slices.Contains(keys, k) {
			t.Errorf("%s is not an operator key (%v)", k, keys)
		}
	}
	e := newEnv(t, `{"command": "sh"}`)
	if _, err := e.Step(context.Background(), retrain.Action{}); err == nil {
		t.Error("Step before Reset was accepted")
	}
}

// noProcess fails t when a live process has marker in its command line.
// A killed sandbox's processes are reaped by the kernel a moment after its
// init dies, so it polls for up to 5 seconds.
func noProcess(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil || !strings.Contains(string(cmdline), marker) {
				continue
			}
			if st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status")); !strings.Contains(string(st), "\nState:\tZ") {
				left = append(left, e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The sandbox's one way out is its proxy session: the agent reaches its
// OPENAI_BASE_URL, but not a server on the host's loopback (the proxy's
// own upstream is one), not a file outside its work directory and the
// read-only paths, and it cannot write outside its work directory; the
// verifier, in a sandbox of its own, sees what the agent left there.
func TestSandboxedAgentReachesOnlyItsProxy(t *testing.T) {
	var hits atomic.Int32
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer host.Close()
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret")
	os.WriteFile(secret, []byte("s3cret"), 0o644)
	tmpMark := filepath.Join(os.TempDir(), fmt.Sprintf("retrain-harness-mark-%d", time.Now().UnixNano()))
	agent := `
import os, urllib.request
base, key = os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]
req = urllib.request.Request(base + "/models", headers={"Authorization": "Bearer " + key})
print("proxy", urllib.request.urlopen(req, timeout=10).status)
try:
    urllib.request.urlopen(os.environ["HOST_URL"], timeout=5)
    print("host reached")
except OSError:
    print("host refused")
for p in [os.environ["SECRET"], "/etc/passwd", os.path.expanduser("~root/.bashrc")]:
    try:
        open(p).read()
        print("read", p)
    except OSError:
        print("hidden")
for p in [os.path.join(os.environ["SECRET_DIR"], "x"), "/usr/x"]:
    try:
        open(p, "w").write("x")
        print("wrote", p)
    except OSError:
        print("refused")
try:
    open(os.environ["TMP_MARK"], "w").write("x") # the sandbox's own tmpfs, if anything
except OSError:
    pass
open("made.txt", "w").write("0.5\n")
print(os.getcwd() == os.environ["HOME"])
`
	cfg, _ := json.Marshal(map[string]any{
		"command": "/usr/bin/python3", "args": []string{"-c", agent},
		"env":      map[string]string{"HOST_URL": host.URL, "SECRET": secret, "SECRET_DIR": secretDir, "TMP_MARK": tmpMark},
		"verifier": []string{"cat", "made.txt"},
	})
	m := testModel(t)
	tr, err := rollout.Run(t.Context(), newEnv(t, string(cfg)), m, &rollout.Options{Task: retrain.Task{Prompt: "hi"}, ModelName: m.Name()})
	if err != nil {
		t.Fatalf("episode failed: %v (%v)", err, tr.ResetInfo)
	}
	want := "proxy 200\nhost refused\nhidden\nhidden\nhidden\nrefused\nrefused\nTrue\n"
	if got := tr.ResetInfo["stdout_tail"]; got != want {
		t.Errorf("the agent printed\n%v\nwant\n%s(stderr %v)", got, want, tr.ResetInfo["stderr_tail"])
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the host's loopback server got %d requests from the sandbox", n)
	}
	for _, p := range []string{filepath.Join(secretDir, "x"), tmpMark} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("the agent wrote %s on the host", p)
		}
	}
	if tr.StepReward != 0.5 {
		t.Errorf("reward %v (the verifier read the agent's file: 0.5); info %v", tr.StepReward, tr.ResetInfo)
	}
}

// Without a usable bwrap the environment refuses to be configured, saying
// what to do; with unsafe_no_sandbox the agent runs as a plain process
// (and sees the host: its work directory is its host path, the host's
// loopback is reachable).
func TestNoBwrapAndUnsafe(t *testing.T) {
	_, err := env.New(harness.Name, json.RawMessage(`{"command": "sh", "bwrap": "/nonexistent/bwrap"}`))
	if !errors.Is(err, sandbox.ErrNoBwrap) || !strings.Contains(err.Error(), "unsafe_no_sandbox") || !strings.Contains(err.Error(), "apt-get install bubblewrap") {
		t.Fatalf("error %v, want ErrNoBwrap saying how to install it or opt out", err)
	}
	var hits atomic.Int32
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer host.Close()
	cfg, _ := json.Marshal(map[string]any{
		"command": "/usr/bin/python3", "args": []string{"-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HOST_URL'], timeout=10); print('host reached')"},
		"env": map[string]string{"HOST_URL": host.URL}, "bwrap": "/nonexistent/bwrap", "unsafe_no_sandbox": true,
	})
	tr, err := rollout.Run(t.Context(), newEnv(t, string(cfg)), testModel(t), &rollout.Options{Task: retrain.Task{Prompt: "hi"}})
	if err != nil || tr.ResetInfo["stdout_tail"] != "host reached\n" || hits.Load() != 1 {
		t.Errorf("unsafe episode: %v, info %v, host hits %d", err, tr.ResetInfo, hits.Load())
	}
}

// The sandbox's limits are the config's: an agent past memory_mb fails
// its allocation, and the episode fails saying so.
func TestSandboxLimits(t *testing.T) {
	cfg := `{"command": "/usr/bin/python3", "args": ["-c", "b = bytearray(600 << 20)"], "memory_mb": 256}`
	tr, err := rollout.Run(t.Context(), newEnv(t, cfg), testModel(t), &rollout.Options{Task: retrain.Task{Prompt: "hi"}})
	var ee *rollout.EpisodeError
	if !errors.As(err, &ee) || ee.Cause != retrain.CauseEnvironment || !strings.Contains(tr.Error, "MemoryError") {
		t.Errorf("error %v, trajectory error %q: want the agent's MemoryError", err, tr.Error)
	}
}
