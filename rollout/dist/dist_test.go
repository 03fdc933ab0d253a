package dist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain"
	_ "github.com/retrain-rl/retrain/env/toolenv"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/rollout/dist"
	_ "github.com/retrain-rl/retrain/tool/calculator"
)

func TestMain(m *testing.M) {
	if os.Getenv(nodeEnv) != "" {
		runNode() // a NATS cluster node of cluster_test.go
	}
	goleak.VerifyTestMain(m)
}

// testJob is a small job on the calculator environment with the built-in
// local model, seeded, with GRPO advantages over groups of 4.
func testJob() *rollout.Job {
	seed := int64(11)
	temp := 1.0
	return &rollout.Job{
		Env: "calculator", Generate: 4, N: 4, Concurrency: 4,
		Model:    model.Endpoint{BaseURL: model.EndpointLocal},
		Sampling: model.Sampling{Temperature: &temp, Seed: &seed},
		Seed:     &seed,
		Reward: &reward.Config{
			Rollout:   []reward.Component{{Name: "correct", Reward: "math_equal"}},
			Advantage: "grpo",
		},
	}
}

// inProcess runs job in this process and returns the trajectories by id.
func inProcess(t *testing.T, job *rollout.Job) map[string]*retrain.Trajectory {
	t.Helper()
	p, err := rollout.Prepare(t.Context(), job, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := filepath.Join(t.TempDir(), "local.jsonl")
	w, err := rollout.OpenJSONL(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(t.Context(), &rollout.RunOptions{Sink: w}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return readByID(t, out)
}

// prepareRun prepares job (closed when the test ends) and opens a fresh
// output file for it.
func prepareRun(ctx context.Context, t *testing.T, job *rollout.Job) (*rollout.Prepared, string, *rollout.JSONLWriter) {
	t.Helper()
	p, err := rollout.Prepare(ctx, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	out := filepath.Join(t.TempDir(), "dist.jsonl")
	w, err := rollout.OpenJSONL(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, out, w
}

// readByID reads a JSONL file of trajectories, failing the test on a line
// that is not a whole trajectory or on an id seen twice.
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
			t.Fatalf("%s line %d is not a whole trajectory: %v", path, i+1, err)
		}
		if byID[tr.ID] != nil {
			t.Fatalf("%s: episode %s written twice", path, tr.ID)
		}
		byID[tr.ID] = &tr
	}
	return byID
}

// sameOutcomes fails unless got holds the same episodes as want, each with
// the same answer, reward and advantage.
func sameOutcomes(t *testing.T, want, got map[string]*retrain.Trajectory) {
	t.Helper()
	nonzero := 0
	for _, w := range want {
		if advantage(w) != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("the in-process run has no nonzero advantage: the comparison would prove nothing")
	}
	if len(got) != len(want) {
		t.Fatalf("%d episodes, want %d", len(got), len(want))
	}
	for id, w := range want {
		g := got[id]
		switch {
		case g == nil:
			t.Fatalf("episode %s missing", id)
		case g.Error != "" || w.Error != "":
			t.Fatalf("episode %s failed: distributed %q, in-process %q", id, g.Error, w.Error)
		case g.Rewards == nil || w.Rewards == nil:
			t.Fatalf("episode %s has no rewards", id)
		case advantage(g) != advantage(w) || g.Rewards.Total != w.Rewards.Total:
			t.Errorf("episode %s: reward %g advantage %g, in-process %g and %g", id, g.Rewards.Total, advantage(g), w.Rewards.Total, advantage(w))
		case len(g.Messages) != len(w.Messages) || g.Messages[len(g.Messages)-1].Content != w.Messages[len(w.Messages)-1].Content:
			t.Errorf("episode %s: the conversation differs from the in-process one", id)
		}
	}
}

// advantage is t's advantage; zero when it has none (written without one).
func advantage(t *retrain.Trajectory) float64 {
	if t.Rewards == nil || t.Rewards.Advantage == nil {
		return 0
	}
	return *t.Rewards.Advantage
}

// startEmbedded starts an embedded NATS server on a free loopback port,
// with its store in a temporary directory, shut down when the test ends.
func startEmbedded(t *testing.T) *dist.Server {
	t.Helper()
	srv, err := dist.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// newJetStream returns nc's JetStream context.
func newJetStream(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// connect connects to url, closed when the test ends.
func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := dist.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// A coordinator and three in-process workers, one of them stopped after the
// run has started: every episode is written once, with the rewards and
// advantages of an in-process run of the same seed.
func TestCoordinatorAndWorkers(t *testing.T) {
	job := testJob()
	want := inProcess(t, job)

	srv := startEmbedded(t)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	doomed, kill := context.WithCancel(ctx)
	defer kill()
	for i := range 3 {
		nc := connect(t, srv.URL())
		wctx := ctx
		if i == 0 {
			wctx = doomed
		}
		wg.Go(func() {
			if err := dist.Work(wctx, nc, &dist.WorkerOptions{RunID: "t1", Concurrency: 2}); err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}

	p, out, w := prepareRun(ctx, t, job)
	var done atomic.Int32
	sum, err := dist.Run(ctx, connect(t, srv.URL()), p, job, &rollout.RunOptions{Sink: w, Progress: func(rollout.Progress) {
		if done.Add(1) == 3 {
			kill() // a worker leaves mid-run: its episodes go to the others
		}
	}}, &dist.Options{RunID: "t1", AckWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if sum.Episodes != 16 || sum.Failed != 0 {
		t.Fatalf("summary: %+v", sum)
	}
	sameOutcomes(t, want, readByID(t, out))
}

// An episode that no worker finishes in MaxDeliver deliveries (each taker
// goes silent) is recorded as failed, and the run ends.
func TestEpisodeExhausted(t *testing.T) { episodeExhausted(t, "t2") }

// episodeExhausted runs two episodes under run id run with a worker that
// takes each and never answers, and checks both are written as failed.
func episodeExhausted(t *testing.T, run string) {
	t.Helper()
	srv := startEmbedded(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	js := newJetStream(t, connect(t, srv.URL()))
	wg.Go(func() { // a worker that takes episodes and never answers
		for ctx.Err() == nil {
			cons, err := js.Consumer(ctx, "RETRAIN_"+run+"_EPISODES", "workers")
			if err != nil {
				continue
			}
			if b, err := cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond)); err == nil {
				for range b.Messages() {
				}
			}
		}
	})
	job := testJob()
	job.Generate, job.N = 2, 1
	p, err := rollout.Prepare(ctx, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var got []*retrain.Trajectory
	sink := sinkFunc(func(tr *retrain.Trajectory) error { got = append(got, tr); return nil })
	sum, err := dist.Run(ctx, connect(t, srv.URL()), p, job, &rollout.RunOptions{Sink: sink},
		&dist.Options{RunID: run, AckWait: 300 * time.Millisecond, MaxDeliver: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 2 || len(got) != 2 {
		t.Fatalf("summary %+v, %d written; want 2 failed", sum, len(got))
	}
	for _, tr := range got {
		if tr.ErrorCause != retrain.CauseTimeout || !strings.Contains(tr.Error, "no worker finished the episode in 2 deliveries") {
			t.Errorf("%s: cause %q, error %q", tr.ID, tr.ErrorCause, tr.Error)
		}
	}
}

// sinkFunc is a rollout.Sink of a function; the runner calls it one at a time
// here (no groups are written at once with N = 1 and one writer each).
type sinkFunc func(*retrain.Trajectory) error

func (f sinkFunc) Write(t *retrain.Trajectory) error { return f(t) }

// An episode longer than the ack wait is not redelivered: its worker reports
// progress. Each model request is made once, however long it takes.
func TestLongEpisodeNotRedelivered(t *testing.T) {
	fake := openaitest.NewServer(&openaitest.Options{Latency: 700 * time.Millisecond, Responder: openaitest.ArithmeticResponder})
	defer fake.Close()
	srv := startEmbedded(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 3 { // one more than the episodes: an idle worker would take a redelivery
		nc := connect(t, srv.URL())
		wg.Go(func() { dist.Work(ctx, nc, &dist.WorkerOptions{RunID: "t3", Concurrency: 1}) })
	}
	job := testJob()
	job.Generate, job.N, job.Model = 2, 1, model.Endpoint{BaseURL: fake.URL}
	p, err := rollout.Prepare(ctx, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	requestsBefore := fake.Requests() // Prepare asked for the model's name
	turns := 0
	sink := sinkFunc(func(tr *retrain.Trajectory) error { turns += len(tr.Turns); return nil })
	sum, err := dist.Run(ctx, connect(t, srv.URL()), p, job, &rollout.RunOptions{Sink: sink},
		&dist.Options{RunID: "t3", AckWait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Succeeded != 2 || turns < 2 {
		t.Fatalf("summary %+v, %d turns", sum, turns)
	}
	if got := fake.Requests() - requestsBefore; got != turns {
		t.Fatalf("%d model requests for %d turns: an episode was played twice", got, turns)
	}
}

// A server without JetStream gets an error that says so and what to do, from
// the coordinator and from a worker.
func TestJetStreamDisabled(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the server did not start")
	}
	nc := connect(t, s.ClientURL())
	werr := dist.Work(t.Context(), nc, nil)
	_, rerr := dist.Run(t.Context(), nc, nil, testJob(), nil, nil)
	for _, err := range []error{werr, rerr} {
		if err == nil || !strings.Contains(err.Error(), "JetStream disabled; start it with -js") {
			t.Errorf("err = %v; want one saying JetStream is disabled", err)
		}
	}
}

// A worker or coordinator pointed at no server says so.
func TestUnreachable(t *testing.T) {
	_, err := dist.Connect("nats://127.0.0.1:1")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("cannot reach the NATS server")) {
		t.Fatalf("err = %v", err)
	}
}
