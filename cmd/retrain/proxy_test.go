package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/rollout"
)

// retrain proxy, with the built-in model's handler in-process (small random
// weights) and with --upstream: a session's call goes through with the
// token, is refused without it, and ending the session writes --out.
func TestProxyCommand(t *testing.T) {
	defer goleak.VerifyNone(t)
	fake := openaitest.NewServer(nil)
	defer fake.Close()
	for _, tt := range []struct {
		name  string
		args  []string
		model string
	}{
		{"in-process", []string{"--weights", writeRandomWeights(t)}, "whatever-the-agent-names"},
		{"upstream", []string{"--upstream", fake.URL}, "fake-model"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "p.jsonl")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			pr, pw := io.Pipe()
			done := make(chan int, 1)
			go func() {
				code := run(ctx, append([]string{"proxy", "--addr", "127.0.0.1:0", "--out", out, "--token", "s3cret"}, tt.args...),
					stdio{in: strings.NewReader(""), out: io.Discard, err: pw})
				pw.Close()
				done <- code
			}()
			line, err := bufio.NewReader(pr).ReadString('\n')
			if err != nil {
				t.Fatalf("no banner: %v", err)
			}
			go io.Copy(io.Discard, pr)
			addr := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(line)
			if addr == "" {
				t.Fatalf("banner %q names no address", line)
			}
			call := func(path, body, token string) int {
				req, _ := http.NewRequest(http.MethodPost, addr+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			body := `{"model":"` + tt.model + `","messages":[{"role":"user","content":"What is 2 + 2?"}],"max_tokens":4}`
			if code := call("/sessions/s1/v1/chat/completions", body, ""); code != http.StatusUnauthorized {
				t.Errorf("without the token: %d", code)
			}
			if code := call("/sessions/s1/v1/chat/completions", body, "s3cret"); code != 200 {
				t.Errorf("with the token: %d", code)
			}
			if code := call("/sessions/s1/end", `{"reward": 1}`, "s3cret"); code != 200 {
				t.Errorf("end: %d", code)
			}
			http.DefaultClient.CloseIdleConnections()
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("exit %d", code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("proxy did not stop")
			}
			var ts []*retrain.Trajectory
			for tr, err := range rollout.ReadTrajectoryFile(out, nil) {
				if err != nil {
					t.Fatal(err)
				}
				ts = append(ts, tr)
			}
			if len(ts) != 1 || len(ts[0].Turns) != 1 || ts[0].Turns[0].Action.Tokens == nil || len(ts[0].Turns[0].Action.Tokens.IDs) == 0 || ts[0].StepReward != 1 {
				t.Errorf("trajectories %+v", ts)
			}
		})
	}
}

func TestProxyCommandErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--upstream", "ftp://x"}, "base URL"},
		{[]string{"--idle-timeout", "0s"}, "--idle-timeout"},
		{[]string{"--upstream", "http://127.0.0.1:1/v1", "--weights", "w.bin"}, "--weights"},
		{[]string{"--addr", "0.0.0.0:0", "--upstream", "http://127.0.0.1:1/v1", "--out", filepath.Join(os.TempDir(), "x.jsonl")}, "without a token"},
	} {
		var errb strings.Builder
		code := run(t.Context(), append([]string{"proxy"}, tt.args...), stdio{in: strings.NewReader(""), out: io.Discard, err: &errb})
		if code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 mentioning %q", tt.args, code, errb.String(), tt.want)
		}
	}
}

// retrain rollout --env harness runs the operator's agent command per
// episode, as any environment.
func TestRolloutHarness(t *testing.T) {
	out := filepath.Join(t.TempDir(), "h.jsonl")
	var errb strings.Builder
	code := run(t.Context(), []string{"rollout", "--model", "fake", "--env", "harness", "--tasks", "2", "--out", out,
		"--env-config", `{"command": "sh", "args": ["-c", "cat > /dev/null; echo 42"], "verifier": ["sh", "-c", "echo 1"]}`},
		stdio{in: strings.NewReader(""), out: io.Discard, err: &errb})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	n := 0
	for tr, err := range rollout.ReadTrajectoryFile(out, nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if tr.Env != "harness" || tr.StepReward != 1 || tr.Failed() || !strings.HasPrefix(tr.ID, "arith-") {
			t.Errorf("trajectory %s env %q reward %v error %q", tr.ID, tr.Env, tr.StepReward, tr.Error)
		}
	}
	if n != 2 {
		t.Errorf("%d trajectories, want 2", n)
	}
}
