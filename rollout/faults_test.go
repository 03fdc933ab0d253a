package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// faultPlan injects the faults of a misbehaving OpenAI-compatible server
// into about a third of the chat requests: each request body fails at most
// once, in a way drawn from its hash and a fixed seed (so the draw does not
// depend on the order of arrival), and its retry goes through. The tasks
// whose prompt is in always get HTTP 500 every time.
type faultPlan struct {
	seed   uint64
	always map[string]bool
	huge   int // FailHuge replies left to give (each is 10 MB)

	mu    sync.Mutex
	seen  map[uint64]bool
	count map[openaitest.Failure]int
}

func (p *faultPlan) decide(_ int64, body []byte) openaitest.Failure {
	var req struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(body, &req) //nolint:errcheck // a bad body gets no fault
	for _, m := range req.Messages {
		if m.Role == "user" && p.always[m.Content] {
			return p.tally(openaitest.Fail500)
		}
	}
	fh := fnv.New64a()
	fmt.Fprint(fh, p.seed)
	fh.Write(body)
	h := fh.Sum64()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[h] {
		return openaitest.FailNone
	}
	p.seen[h] = true
	kinds := openaitest.FailureKinds()
	f := openaitest.FailNone
	if i := h % uint64(3*len(kinds)); i < uint64(len(kinds)) {
		f = kinds[i]
	}
	if f == openaitest.FailTimeout && (h>>32)%4 != 0 {
		f = openaitest.FailNone // each hang costs a request timeout: fewer of them
	}
	if f == openaitest.FailHuge {
		if p.huge == 0 {
			f = openaitest.Fail500
		} else {
			p.huge--
		}
	}
	p.count[f]++
	return f
}

func (p *faultPlan) tally(f openaitest.Failure) openaitest.Failure {
	p.mu.Lock()
	p.count[f]++
	p.mu.Unlock()
	return f
}

// TestFaultInjectionRun runs a few hundred calculator episodes through the
// real OpenAI client and Runner against a server that answers 500, 503, 429
// with Retry-After, hangs, truncated JSON, 200 without choices, empty
// bodies, dropped connections, 10 MB replies and invalid UTF-8, each at most
// once per request: no crash, every line whole, no episode lost to a single
// bad answer, and the episodes that can never pass recorded with their
// cause.
func TestFaultInjectionRun(t *testing.T) {
	const episodes = 300
	tasks := ArithmeticTasks(episodes, 7)
	plan := &faultPlan{seed: 11, always: map[string]bool{}, huge: 2,
		seen: map[uint64]bool{}, count: map[openaitest.Failure]int{}}
	doomed := map[string]bool{}
	for i := 0; i < episodes; i += 50 {
		plan.always[tasks[i].Prompt] = true
		doomed[tasks[i].ID] = true
	}
	hugeBytes := openaitest.DefaultHugeBytes
	if raceEnabled {
		hugeBytes /= 10 // still stored once (see LongReply)
	}
	client, f, w, path := calculatorRun(t, &openaitest.Options{Responder: calcResponder,
		Failures: openaitest.FailurePlan{Decide: plan.decide, RetryAfter: 20 * time.Millisecond, HugeBytes: hugeBytes}},
		openai.Options{Timeout: 10 * time.Second, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}, "faults.jsonl")
	seed := int64(3)
	sum, err := NewRunner(f, client, &RunnerOptions{Concurrency: 16, Sink: w, Seed: &seed, Retries: 1, RetryBackoff: time.Millisecond,
		Episode: Options{EnvName: "calculator", ModelName: openaitest.DefaultModel}}).Run(context.Background(), tasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	plan.mu.Lock()
	t.Logf("faults injected: %v", plan.count)
	for _, k := range openaitest.FailureKinds() {
		if plan.count[k] == 0 {
			t.Errorf("no %s fault was injected; the run does not test it", k)
		}
	}
	plan.mu.Unlock()

	lines := 0
	for line, err := range ReadLines(mustOpen(t, path)) {
		if err != nil {
			t.Fatal(err)
		}
		if line.Unterminated {
			t.Errorf("line %d has no newline", line.Number)
		}
		if len(line.Data) > hugeBytes*6/5 {
			t.Errorf("line %d is %d bytes: a %d-byte reply is stored more than once", line.Number, len(line.Data), hugeBytes)
		}
		lines++
	}
	got := map[string]bool{}
	failed, huge := 0, 0
	for tr, err := range ReadTrajectoryFile(path, nil) {
		if err != nil {
			t.Fatalf("%v", err)
		}
		if got[tr.ID] {
			t.Errorf("%s written twice", tr.ID)
		}
		got[tr.ID] = true
		for _, turn := range tr.Turns {
			if len(turn.Action.Raw) >= hugeBytes {
				huge++
			}
		}
		if !tr.Failed() {
			if doomed[tr.Task.ID] {
				t.Errorf("%s succeeded against a server that always fails it", tr.ID)
			}
			continue
		}
		failed++
		switch {
		case !doomed[tr.Task.ID]:
			t.Errorf("%s lost to a single bad answer: %s (%s)", tr.ID, tr.Error, tr.ErrorCause)
		case tr.ErrorCause != retrain.CauseModel || tr.StopReason != retrain.StopError || !strings.Contains(tr.Error, "HTTP 500") || tr.Attempts != 2:
			t.Errorf("%s: cause %q, stop %q, %d attempts, error %q; want a model error saying HTTP 500 after 2 attempts", tr.ID, tr.ErrorCause, tr.StopReason, tr.Attempts, tr.Error)
		}
	}
	if huge == 0 {
		t.Errorf("no %d-byte reply was read back", hugeBytes)
	}
	if lines != episodes || len(got) != episodes || failed != len(doomed) || sum.Failed != len(doomed) || sum.Succeeded != episodes-len(doomed) {
		t.Errorf("%d lines, %d episodes, %d failed (want %d, %d, %d); summary:\n%s", lines, len(got), failed, episodes, episodes, len(doomed), sum)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
