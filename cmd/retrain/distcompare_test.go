package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// The helpers of the distributed tests (worker_test.go,
// worker_resume_test.go): one slow fake model, one set of rollout flags, and
// one comparison with an in-process run.

// distFakeModel starts a fake model with 300 ms latency per reply, so that
// processes can be killed mid-episode; it answers some samples wrongly (by
// their sampling seed), so that advantages differ. It is closed when the
// test ends.
func distFakeModel(t *testing.T) *openaitest.Server {
	t.Helper()
	fake := openaitest.NewServer(&openaitest.Options{Latency: 300 * time.Millisecond, Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		if req.Seed != nil && *req.Seed%3 == 0 {
			return openaitest.Reply{Content: "<answer>0</answer>"}
		}
		return openaitest.ArithmeticResponder(req)
	}})
	t.Cleanup(fake.Close)
	return fake
}

// distRolloutArgs are the rollout flags of the distributed tests: 5 tasks
// of 3 samples on the model at modelURL, seeded, with GRPO advantages (a
// rewards file written in dir); add --out and the --nats flags.
func distRolloutArgs(t *testing.T, dir, modelURL string) []string {
	t.Helper()
	rewards := filepath.Join(dir, "rewards.yaml")
	if err := os.WriteFile(rewards, []byte("rollout:\n  - name: correct\n    reward: math_equal\nadvantage: grpo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"rollout", "--model", modelURL, "--n", "3", "--tasks", "5", "--seed", "5", "--concurrency", "2", "--quiet", "--rewards", rewards}
}

// sameAsInProcess fails unless got holds exactly the episodes of want (an
// in-process run of the same flags), each with the same reward and
// advantage, and unless some advantage is nonzero (else the comparison
// proves nothing). what names the run compared.
func sameAsInProcess(t *testing.T, what string, want, got map[string]*retrain.Trajectory) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d episodes, in-process %d", what, len(got), len(want))
	}
	differ := false
	for id, w := range want {
		g := got[id]
		if g == nil || g.Rewards == nil || w.Rewards == nil {
			t.Fatalf("%s: episode %s missing, or without rewards", what, id)
		}
		if advantage(g) != advantage(w) || g.Rewards.Total != w.Rewards.Total {
			t.Errorf("%s: episode %s: reward %g advantage %g; in-process %g and %g", what, id, g.Rewards.Total, advantage(g), w.Rewards.Total, advantage(w))
		}
		differ = differ || advantage(w) != 0
	}
	if !differ {
		t.Fatal("every advantage is zero: the comparison proves nothing")
	}
}

// advantage is t's advantage; zero when it has none (written without one).
func advantage(t *retrain.Trajectory) float64 {
	if t.Rewards == nil || t.Rewards.Advantage == nil {
		return 0
	}
	return *t.Rewards.Advantage
}

// readByID reads a JSONL file by trajectory id, failing on a line
// that is not whole or an id written twice.
func readByID(t *testing.T, path string) map[string]*retrain.Trajectory {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*retrain.Trajectory{}
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var tr retrain.Trajectory
		if err := json.Unmarshal(line, &tr); err != nil {
			t.Fatalf("%s line %d is not whole: %v", path, i+1, err)
		}
		if byID[tr.ID] != nil {
			t.Fatalf("%s: %s written twice", path, tr.ID)
		}
		byID[tr.ID] = &tr
	}
	return byID
}
