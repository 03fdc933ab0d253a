package dist_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/rollout/dist"
)

// episodeStream creates run's episode stream and workers' consumer as a
// coordinator does, and publishes one episode of job (the task "2+3").
func episodeStream(ctx context.Context, t *testing.T, js jetstream.JetStream, run string, job *rollout.Job, ackWait time.Duration) jetstream.Consumer {
	t.Helper()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RETRAIN_" + run + "_EPISODES", Subjects: []string{"retrain." + run + ".episodes"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "workers", AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxDeliver: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(dist.Assignment{Run: run, Job: dist.WorkerJob(job), Episode: rollout.Episode{
		Task: retrain.Task{ID: "a", Prompt: "What is 2+3?", Answer: "5"}, Seed: retrain.Seed(1), SamplingSeed: retrain.Seed(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "retrain."+run+".episodes", b, jetstream.WithMsgID(run+"/a#0@g1")); err != nil {
		t.Fatal(err)
	}
	return cons
}

// consumerInfo returns cons's state from the server.
func consumerInfo(ctx context.Context, t *testing.T, cons jetstream.Consumer) *jetstream.ConsumerInfo {
	t.Helper()
	ci, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

// A worker that finishes an episode while no coordinator listens keeps the
// trajectory and the episode (it reports progress, past the ack wait), and
// hands the trajectory to the coordinator that comes: the episode is
// delivered once and played once. A worker that handed it back (Nak) or
// stopped reporting progress would have it delivered again.
func TestWorkerHoldsResultUntilTaken(t *testing.T) {
	srv := startEmbedded(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	nc := connect(t, srv.URL())
	js := newJetStream(t, nc)
	const ackWait = 300 * time.Millisecond
	cons := episodeStream(ctx, t, js, "h1", testJob(), ackWait)
	wnc := connect(t, srv.URL())
	wg.Go(func() { dist.Work(ctx, wnc, &dist.WorkerOptions{RunID: "h1", Concurrency: 1}) })

	// The worker takes the episode; the local model plays it in
	// milliseconds, and then no coordinator answers for 5 ack waits.
	for consumerInfo(ctx, t, cons).NumAckPending != 1 {
		if ctx.Err() != nil {
			t.Fatal("the worker never took the episode")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(5 * ackWait) // what is checked is that nothing happens meanwhile

	got := make(chan *nats.Msg, 4)
	sub, err := nc.Subscribe("retrain.h1.results", func(m *nats.Msg) {
		got <- m
		m.RespondMsg(&nats.Msg{Subject: m.Reply, Header: nats.Header{dist.ResultStatusHeader: {"taken"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var m *nats.Msg
	select {
	case m = <-got:
	case <-ctx.Done():
		t.Fatal("the worker did not send its trajectory to the coordinator that came")
	}
	if f := m.Header.Get(dist.ResultFormatHeader); f != dist.ResultFormatBinary {
		t.Errorf("result format %q", f)
	}
	if id := m.Header.Get(jetstream.MsgIDHeader); id != "h1/a#0@g1" {
		t.Errorf("the result's message id is %q, want the episode message's", id)
	}
	ack := m.Header.Get(dist.EpisodeAckHeader)
	if !strings.HasPrefix(ack, "$JS.ACK.RETRAIN_h1_EPISODES.workers.") {
		t.Fatalf("episode ack subject %q", ack)
	}
	ci := consumerInfo(ctx, t, cons)
	if ci.NumRedelivered != 0 || ci.Delivered.Consumer != 1 || ci.NumAckPending != 1 {
		t.Fatalf("while the worker held the trajectory: %d redelivered, %d deliveries, %d awaiting an ack; want 0, 1, 1",
			ci.NumRedelivered, ci.Delivered.Consumer, ci.NumAckPending)
	}
	// The coordinator acks the episode once the trajectory is written.
	if err := nc.Publish(ack, []byte("+ACK")); err != nil {
		t.Fatal(err)
	}
	for consumerInfo(ctx, t, cons).NumAckPending != 0 {
		if ctx.Err() != nil {
			t.Fatal("the coordinator's ack did not ack the episode")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case m := <-got:
		t.Fatalf("the trajectory was sent again after it was taken: %s", m.Header)
	default:
	}
}

// The coordinator acks an episode only once its trajectory is in the
// output, and until then reports progress on it: while the sink is slow
// (longer than the ack wait) nothing is delivered again or played twice.
func TestEpisodeAckedAfterWrite(t *testing.T) {
	fake := openaitest.NewServer(&openaitest.Options{Responder: openaitest.ArithmeticResponder})
	defer fake.Close()
	srv := startEmbedded(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 2 { // an idle worker would take a redelivery
		nc := connect(t, srv.URL())
		wg.Go(func() { dist.Work(ctx, nc, &dist.WorkerOptions{RunID: "w1", Concurrency: 2}) })
	}
	job := testJob()
	job.Generate, job.Model = 1, model.Endpoint{BaseURL: fake.URL} // one group of 4, written together
	p, err := rollout.Prepare(ctx, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	requestsBefore := fake.Requests()
	const ackWait = 300 * time.Millisecond
	js := newJetStream(t, connect(t, srv.URL()))
	var turns, writes int
	sink := sinkFunc(func(tr *retrain.Trajectory) error {
		turns += len(tr.Turns)
		writes++
		if writes > 1 {
			return nil
		}
		// The group's four trajectories are received; none is written.
		cons, err := js.Consumer(ctx, "RETRAIN_w1_EPISODES", "workers")
		if err != nil {
			t.Error(err)
			return nil
		}
		if ci := consumerInfo(ctx, t, cons); ci.NumAckPending != 4 {
			t.Errorf("%d episodes await an ack while their group is written, want 4", ci.NumAckPending)
		}
		time.Sleep(5 * ackWait) // a slow disk: what is checked is that nothing happens meanwhile
		if ci := consumerInfo(ctx, t, cons); ci.NumRedelivered != 0 || ci.NumAckPending != 4 {
			t.Errorf("after a write of 5 ack waits: %d redelivered, %d awaiting an ack; want 0 and 4", ci.NumRedelivered, ci.NumAckPending)
		}
		return nil
	})
	sum, err := dist.Run(ctx, connect(t, srv.URL()), p, job, &rollout.RunOptions{Sink: sink}, &dist.Options{RunID: "w1", AckWait: ackWait, Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Succeeded != 4 || writes != 4 {
		t.Fatalf("summary %+v, %d written", sum, writes)
	}
	if got := fake.Requests() - requestsBefore; got != turns {
		t.Fatalf("%d model requests for %d turns: an episode was played twice", got, turns)
	}
	cons, err := js.Consumer(ctx, "RETRAIN_w1_EPISODES", "workers")
	if err != nil {
		t.Fatal(err)
	}
	for ci := consumerInfo(ctx, t, cons); ci.NumAckPending != 0; ci = consumerInfo(ctx, t, cons) {
		if ctx.Err() != nil {
			t.Fatalf("%d episodes never acked after the write", ci.NumAckPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The coordinator takes results only with the ack subject of one of its
// run's episode deliveries (it publishes acks nowhere else), and refuses a
// result it cannot read, handing its episode back: a real worker then
// plays it and the run completes.
func TestCoordinatorRefusesBadResults(t *testing.T) {
	srv := startEmbedded(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	job := testJob()
	job.Generate, job.N = 1, 1
	p, err := rollout.Prepare(ctx, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var got []*retrain.Trajectory
	sink := sinkFunc(func(tr *retrain.Trajectory) error { got = append(got, tr); return nil })
	type result struct {
		sum rollout.Summary
		err error
	}
	done := make(chan result, 1)
	wg.Go(func() {
		sum, err := dist.Run(ctx, connect(t, srv.URL()), p, job, &rollout.RunOptions{Sink: sink}, &dist.Options{RunID: "b1", AckWait: 30 * time.Second})
		done <- result{sum, err}
	})

	// A bad worker takes the episode and sends what the coordinator must refuse.
	nc := connect(t, srv.URL())
	js := newJetStream(t, nc)
	var ep jetstream.Msg
	for ep == nil && ctx.Err() == nil {
		cons, err := js.Consumer(ctx, "RETRAIN_b1_EPISODES", "workers")
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if b, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second)); err == nil {
			for m := range b.Messages() {
				ep = m
			}
		}
	}
	if ep == nil {
		t.Fatal("no episode published")
	}
	refused := func(h nats.Header, data, want string) {
		t.Helper()
		r, err := nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: "retrain.b1.results", Header: h, Data: []byte(data)})
		if err != nil {
			t.Fatal(err)
		}
		if s := r.Header.Get(dist.ResultStatusHeader); s != "refused" || !strings.Contains(string(r.Data), want) {
			t.Errorf("answer %q %q, want refused with %q", s, r.Data, want)
		}
	}
	refused(nats.Header{}, "{}", "no ack subject of an episode of run b1")
	refused(nats.Header{dist.EpisodeAckHeader: {"$JS.ACK.OTHER_RUN.workers.1.1.1.1.0"}}, "{}", "no ack subject")
	refused(nats.Header{dist.EpisodeAckHeader: {"retrain.b1.episodes"}}, "{}", "no ack subject")
	refused(nats.Header{dist.EpisodeAckHeader: {"$JS.ACK.RETRAIN_b1_EPISODES.>"}}, "{}", "no ack subject")
	refused(nats.Header{dist.EpisodeAckHeader: {"$JS.ACK.RETRAIN_b1_EPISODES.workers.*.1.1.1.0"}}, "{}", "no ack subject")
	refused(nats.Header{dist.EpisodeAckHeader: {"$JS.ACK.RETRAIN_b1_EPISODES.other.1.1.1.1.0"}}, "{}", "no ack subject")
	refused(nats.Header{dist.EpisodeAckHeader: {"$JS.API.STREAM.DELETE.RETRAIN_b1_EPISODES.workers.1.1"}}, "{}", "no ack subject")
	refused(nats.Header{dist.EpisodeAckHeader: {ep.Reply()}, dist.ResultFormatHeader: {"xml/9"}}, "<t/>", `result format "xml/9" is not one this coordinator reads`)
	// The last refusal handed the episode back at once (the ack wait is
	// 30 s): a real worker plays it.
	wnc := connect(t, srv.URL())
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	wg.Go(func() { dist.Work(wctx, wnc, &dist.WorkerOptions{RunID: "b1", Concurrency: 1}) })
	select {
	case r := <-done:
		if r.err != nil || r.sum.Succeeded != 1 || len(got) != 1 {
			t.Fatalf("run: %v, %+v, %d written", r.err, r.sum, len(got))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the refused episode was not handed back at once")
	}
	stop()
}

// A worker stopped (Ctrl-C) while it sends a finished trajectory still
// delivers it instead of handing the episode back to be played again.
func TestStoppingWorkerDeliversFinished(t *testing.T) {
	srv := startEmbedded(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	nc := connect(t, srv.URL())
	js := newJetStream(t, nc)
	cons := episodeStream(ctx, t, js, "s1", testJob(), 30*time.Second)
	arrived, stopped := make(chan string, 1), make(chan struct{})
	sub, err := nc.Subscribe("retrain.s1.results", func(m *nats.Msg) {
		arrived <- m.Header.Get(dist.EpisodeAckHeader)
		<-stopped // the worker is told to stop while it waits for this answer
		m.RespondMsg(&nats.Msg{Subject: m.Reply, Header: nats.Header{dist.ResultStatusHeader: {"taken"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	wnc := connect(t, srv.URL())
	wg.Go(func() { dist.Work(wctx, wnc, &dist.WorkerOptions{RunID: "s1", Concurrency: 1}) })
	var ack string
	select {
	case ack = <-arrived:
	case <-ctx.Done():
		t.Fatal("no trajectory sent")
	}
	stop()
	close(stopped)
	wg.Wait() // the worker has returned: it handed the episode back, or not
	if err := wnc.Flush(); err != nil {
		t.Fatal(err)
	}
	// An episode handed back (Nak) is delivered again at once: a pull
	// gets it. One the coordinator holds stays with it (a 30 s ack wait).
	b, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range b.Messages() {
		t.Fatalf("the stopped worker handed back the episode whose trajectory was taken (delivered again: %s)", m.Subject())
	}
	if err := nc.Publish(ack, []byte("+ACK")); err != nil {
		t.Fatal(err)
	}
}
