package harness_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/proxy/harness"
	"github.com/retrain-rl/retrain/rollout"
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
		"env":      map[string]string{"AGENT_TURNS": "2", "AGENT_MAX_TOKENS": "6", "AGENT_MODEL": "anything"},
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
	if tr.Task.Prompt != "What is 2 + 2?" || tr.ResetInfo["exit_code"] != 0 {
		t.Errorf("task %+v info %v", tr.Task, tr.ResetInfo)
	}
}

// An agent that hangs is killed with its process group at the timeout; one
// that floods its output is cut; one that fails is recorded with its cause.
func TestAgentFaults(t *testing.T) {
	m := testModel(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	for _, tt := range []struct {
		name  string
		cfg   map[string]any
		cause retrain.ErrorCause
		check func(t *testing.T, tr *retrain.Trajectory)
	}{
		{"hangs", map[string]any{"command": "sh", "args": []string{"-c", "sleep 300 & echo $! > " + pidFile + "; wait"}, "timeout": "300ms"},
			retrain.CauseTimeout, func(t *testing.T, tr *retrain.Trajectory) {
				b, err := os.ReadFile(pidFile)
				if err != nil {
					t.Fatal(err)
				}
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				// The child was killed with the group: it is gone or a zombie
				// waiting for init; signal 0 fails, or /proc says Z.
				if err := syscall.Kill(pid, 0); err == nil {
					st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
					if !strings.Contains(string(st), ") Z") {
						t.Errorf("the agent's child %d is still running: %s", pid, st)
					}
				}
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
	} {
		if _, err := env.New(harness.Name, json.RawMessage(tt.cfg)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %s", tt.cfg, err, tt.want)
		}
	}
	// A network client names no program: every key is the operator's.
	keys, err := env.OperatorKeys(harness.Name, json.RawMessage(`{"command": "sh", "args": ["-c", "x"], "verifier": ["sh"], "env": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"command", "args", "verifier", "env"} {
		if !slices.Contains(keys, k) {
			t.Errorf("%s is not an operator key (%v)", k, keys)
		}
	}
	e := newEnv(t, `{"command": "sh"}`)
	if _, err := e.Step(context.Background(), retrain.Action{}); err == nil {
		t.Error("Step before Reset was accepted")
	}
}
