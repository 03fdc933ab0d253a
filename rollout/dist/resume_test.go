package dist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/rollout/dist"
)

// errKilled is what a dyingSink returns once its coordinator is "killed".
var errKilled = errors.New("coordinator killed (test)")

// dyingSink writes to a JSONL file until die says so, then kills its
// coordinator at once, as SIGKILL would: the connection is closed before
// the line just written is acked, and nothing more is written.
type dyingSink struct {
	w    *rollout.JSONLWriter
	die  func(t *retrain.Trajectory) bool // after writing t
	kill func()

	mu   sync.Mutex
	dead bool
}

func (s *dyingSink) Write(t *retrain.Trajectory) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return errKilled
	}
	if err := s.w.Write(t); err != nil {
		return err
	}
	if s.die(t) {
		s.dead = true
		s.kill()
		return errKilled
	}
	return nil
}

// A coordinator killed twice and resumed over the same streams and file,
// while its workers keep playing: first after writing a whole group whose
// episodes all failed (the model was down for that task; the last line is
// written but its result not acked, so it comes back to the next
// coordinator, which must not take it for the episode played again), then
// in the middle of writing a group. In the end each (task, sample) has one
// successful line (the failed group's episodes one failed line before it),
// every line whole, with the rewards and advantages of an in-process run.
func TestCoordinatorResumed(t *testing.T) {
	// A fake model (the local one costs CPU) that answers some samples
	// wrongly, by their sampling seed, so that advantages differ. While down
	// is set, it fails the requests of the first task (sampling seeds 11 to
	// 14: testJob's seed plus the sample) and holds the others until up is
	// called: the first coordinator writes the failed group before any other.
	var down atomic.Bool
	release := make(chan struct{})
	var once sync.Once
	up := func() { once.Do(func() { down.Store(false); close(release) }) }
	firstTask := regexp.MustCompile(`"seed":\s*1[1-4][,}]`)
	fake := openaitest.NewServer(&openaitest.Options{Latency: 20 * time.Millisecond, Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		if req.Seed != nil && *req.Seed%3 == 0 {
			return openaitest.Reply{Content: "<answer>0</answer>"}
		}
		return openaitest.ArithmeticResponder(req)
	}, Failures: openaitest.FailurePlan{Decide: func(_ int64, body []byte) openaitest.Failure {
		if down.Load() {
			if firstTask.Match(body) {
				return openaitest.Fail500
			}
			<-release
		}
		return openaitest.FailNone
	}}})
	defer fake.Close()
	defer up()
	job := testJob()
	job.Model = model.Endpoint{BaseURL: fake.URL}
	want := inProcess(t, job)

	srv := startEmbedded(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	// Remote workers: they keep pulling while the coordinator is away. Their
	// 18 slots take all 16 episodes at once: those the model holds while it
	// is down cannot keep the first task's from being played.
	for range 3 {
		nc := connect(t, srv.URL())
		wg.Go(func() { dist.Work(ctx, nc, &dist.WorkerOptions{RunID: "r1", Concurrency: 6}) })
	}
	out := filepath.Join(t.TempDir(), "dist.jsonl")

	// run runs one coordinator on out until s says it dies; it returns the
	// summary and the error.
	run := func(resume bool, s *dyingSink) (rollout.Summary, error) {
		t.Helper()
		var written *dist.Written
		if resume {
			var err error
			if written, err = dist.ReadWritten(out); err != nil {
				t.Fatal(err)
			}
		}
		w, err := rollout.OpenJSONL(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		p, err := rollout.Prepare(ctx, job, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		nc, err := dist.Connect(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		cctx, kill := context.WithCancel(ctx)
		defer kill()
		var sink rollout.Sink = w
		if s != nil {
			s.w, s.kill = w, func() { kill(); nc.Close() }
			sink = s
		}
		return dist.Run(cctx, nc, p, job, &rollout.RunOptions{Sink: sink}, &dist.Options{RunID: "r1", Resume: written})
	}

	// 1: the first task's episodes fail, and the coordinator dies once
	// their group is in the file, before its last result is acked.
	down.Store(true)
	nfailed := 0
	if _, err := run(false, &dyingSink{die: func(tr *retrain.Trajectory) bool {
		if tr.Error != "" {
			nfailed++
		}
		if nfailed == job.N {
			up()
			return true
		}
		return false
	}}); err == nil {
		t.Fatal("the first coordinator ended without an error")
	}
	var failed []*retrain.Trajectory
	for _, tr := range readLines(t, out) {
		if tr.Error != "" {
			failed = append(failed, tr)
		}
	}
	if len(failed) != job.N || failed[0].Task.ID != failed[job.N-1].Task.ID {
		t.Fatalf("%d failed lines after the first coordinator, want the %d of one task", len(failed), job.N)
	}
	// 2: resumed, it dies in the middle of a group of another task.
	failedTask := failed[0].Task.ID
	var partial string
	if _, err := run(true, &dyingSink{die: func(tr *retrain.Trajectory) bool {
		if tr.Task.ID == failedTask {
			return false
		}
		if partial == tr.Task.ID {
			return true // its second line
		}
		partial = tr.Task.ID
		return false
	}}); err == nil {
		t.Fatal("the second coordinator ended without an error")
	}
	if partial == "" {
		t.Fatal("the second coordinator wrote no group of another task")
	}
	// 3: resumed again, to the end.
	sum, err := run(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 0 {
		t.Fatalf("summary: %+v", sum)
	}

	lines := readLines(t, out)
	latest := map[string]*retrain.Trajectory{}
	for _, tr := range lines {
		if prev := latest[tr.ID]; prev != nil && (prev.Error == "" || prev.Task.ID != failedTask) {
			t.Fatalf("episode %s written twice (the first line did not fail)", tr.ID)
		}
		latest[tr.ID] = tr
	}
	if len(lines) != len(want)+len(failed) {
		t.Errorf("%d lines; want %d (every episode once, and the 4 failed ones again)", len(lines), len(want)+len(failed))
	}
	sameOutcomes(t, want, latest)
	n := 0
	for _, tr := range lines {
		if tr.Task.ID == partial {
			n++
		}
	}
	if n != job.N {
		t.Errorf("the group cut by the second coordinator's death has %d lines, want %d", n, job.N)
	}
}

// readLines reads a JSONL file of trajectories in order, failing the test on
// a line that is not a whole trajectory.
func readLines(t *testing.T, path string) []*retrain.Trajectory {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []*retrain.Trajectory
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var tr retrain.Trajectory
		if err := json.Unmarshal(line, &tr); err != nil {
			t.Fatalf("%s line %d is not a whole trajectory: %v", path, i+1, err)
		}
		ts = append(ts, &tr)
	}
	return ts
}

// ReadWritten ignores a torn last line (a writer killed mid-line), keeps
// the last line of an episode written twice, and names a line that is not a
// trajectory.
func TestReadWritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(path, []byte(`{"id":"a#0","task":{"id":"a"},"sample":0,"error":"boom"}
{"id":"a#0","task":{"id":"a"},"sample":0}
{"id":"a#1","task":{"id":"a"},"sample":1,"error":"boom"}
{"id":"b#0","task":{"id":"b"},"sa`), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := dist.ReadWritten(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() != 2 {
		t.Errorf("Len = %d, want 2 (a#0 and a#1; the torn b#0 ignored)", w.Len())
	}
	if w, err := dist.ReadWritten(filepath.Join(dir, "missing.jsonl")); err != nil || w.Len() != 0 {
		t.Errorf("a missing file: %v, %v", w, err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"id\":\"a#0\",\"task\":{\"id\":\"a\"},\"sample\":0}\nnot json\n"), 0o644)
	if _, err := dist.ReadWritten(bad); err == nil || !strings.Contains(err.Error(), "line 2 is not a trajectory") {
		t.Errorf("err = %v; want one naming line 2", err)
	}
}

// A resume whose job differs from the one that started the run (another
// seed, another n) is refused before anything is played or written; the
// same job with other run settings (concurrency) resumes.
func TestResumeAnotherJobRefused(t *testing.T) {
	srv := startEmbedded(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	nc := connect(t, srv.URL())
	wg.Go(func() { dist.Work(ctx, nc, &dist.WorkerOptions{RunID: "r2", Concurrency: 4}) })
	out := filepath.Join(t.TempDir(), "dist.jsonl")

	run := func(job *rollout.Job, resume bool) (rollout.Summary, error) {
		t.Helper()
		var written *dist.Written
		if resume {
			var err error
			if written, err = dist.ReadWritten(out); err != nil {
				t.Fatal(err)
			}
		}
		p, err := rollout.Prepare(ctx, job, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		w, err := rollout.OpenJSONL(out, &rollout.JSONLOptions{Overwrite: !resume})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		// Keep: the streams stay after the run, as after a coordinator's death.
		return dist.Run(ctx, connect(t, srv.URL()), p, job, &rollout.RunOptions{Sink: w}, &dist.Options{RunID: "r2", Keep: true, Resume: written})
	}
	job := testJob()
	job.Generate, job.N = 2, 2
	if sum, err := run(job, false); err != nil || sum.Episodes != 4 {
		t.Fatalf("first run: %+v, %v", sum, err)
	}
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	other := *job
	seed := int64(12)
	other.Seed = &seed
	moreSamples := *job
	moreSamples.N = 3
	for name, j := range map[string]*rollout.Job{"another seed": &other, "another n": &moreSamples} {
		if _, err := run(j, true); err == nil || !strings.Contains(err.Error(), "started with another job") {
			t.Errorf("%s: resume gave %v; want it refused as another job", name, err)
		}
		if after, _ := os.ReadFile(out); !bytes.Equal(after, before) {
			t.Errorf("%s: the refused resume changed the output", name)
		}
	}
	same := *job
	same.Concurrency = 1
	if sum, err := run(&same, true); err != nil {
		t.Errorf("a resume of the same job at another concurrency: %+v, %v", sum, err)
	}
}
