package dist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrain-rl/retrain/rollout"
)

// WorkerOptions configure a worker ([Work]).
type WorkerOptions struct {
	// RunID is the run whose episodes the worker plays; empty means
	// [DefaultRunID].
	RunID string
	// Concurrency bounds the episodes the worker plays at once; zero means
	// [rollout.DefaultConcurrency].
	Concurrency int
	// Prepare holds how the worker opens a job (the registry, the model's
	// options); nil means the defaults.
	Prepare *rollout.PrepareOptions
	// Log, when set, receives a line per problem the worker recovers from
	// (a bad message, a job that cannot be opened).
	Log io.Writer
}

// Work pulls the run's episodes from nc's server, plays them and sends
// their trajectories to the coordinator until ctx is done; it waits for the
// run to start when its stream does not exist yet. The coordinator acks an
// episode once its trajectory is in its output; until the coordinator has
// taken it, the worker holds the trajectory (sending it again while no
// coordinator answers) and reports the episode in progress. A worker that
// dies leaves its episodes to be delivered again after the ack wait, and
// one that is stopped (ctx) hands them back at once. It returns nil when
// ctx is done.
func Work(ctx context.Context, nc *nats.Conn, o *WorkerOptions) error {
	var opts WorkerOptions
	if o != nil {
		opts = *o
	}
	n, err := namesOf(opts.RunID)
	if err != nil {
		return err
	}
	js, err := jetStream(ctx, nc)
	if err != nil {
		return err
	}
	conc := opts.Concurrency
	if conc <= 0 {
		conc = rollout.DefaultConcurrency
	}
	var po rollout.PrepareOptions
	if opts.Prepare != nil {
		po = *opts.Prepare
	}
	if po.Model.MaxInFlight == 0 {
		po.Model.MaxInFlight = conc // the worker's concurrency, not the coordinator's
	}
	opts.Prepare = &po
	w := &worker{nc: nc, js: js, n: n, o: &opts, jobs: map[string]*openJob{}}
	defer w.close()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	return nil
}

// worker is one worker's state.
type worker struct {
	nc *nats.Conn
	js jetstream.JetStream
	n  names
	o  *WorkerOptions

	mu   sync.Mutex
	jobs map[string]*openJob // by the job's JSON, as the coordinator wrote it
}

// openJob is a job the worker has opened, shared by its episodes.
type openJob struct {
	once   sync.Once
	p      *rollout.Prepared
	player *rollout.Player
	err    error
}

func (w *worker) logf(format string, args ...any) {
	if w.o.Log != nil {
		fmt.Fprintf(w.o.Log, "worker: "+format+"\n", args...)
	}
}

// loop pulls and plays one episode at a time until ctx is done.
func (w *worker) loop(ctx context.Context) {
	var cons jetstream.Consumer
	for ctx.Err() == nil {
		if cons == nil {
			// A bounded wait: a request lost with a dead node is not
			// answered, and ctx may have no deadline soon.
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			c, err := w.js.Consumer(lctx, w.n.episodeStream, w.n.workerConsumer)
			cancel()
			if err != nil {
				// The run has not started (or has ended): wait for it.
				wait(ctx, 500*time.Millisecond)
				continue
			}
			cons = c
		}
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
				cons = nil
			}
			wait(ctx, 200*time.Millisecond)
			continue
		}
		for m := range batch.Messages() {
			w.handle(ctx, m, cons.CachedInfo().Config.AckWait)
		}
		if batch.Error() != nil && !errors.Is(batch.Error(), nats.ErrTimeout) {
			cons = nil // deleted, or the connection dropped: look it up again
		}
	}
}

// wait waits for d or until ctx is done.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// handle plays the episode of m and hands its trajectory to the
// coordinator, which acks m once the trajectory is written.
func (w *worker) handle(ctx context.Context, m jetstream.Msg, ackWait time.Duration) {
	var work rawAssignment
	if err := json.Unmarshal(m.Data(), &work); err != nil || work.Run != w.n.run {
		w.logf("dropped a message that is not an episode of run %s", w.n.run)
		m.Term()
		return
	}
	oj, err := w.open(ctx, work.Job)
	if errors.Is(err, errBadJob) {
		w.logf("dropped an episode of run %s: %v", w.n.run, err)
		m.Term()
		return
	}
	if err != nil {
		w.logf("cannot open the job of run %s: %v", w.n.run, err)
		m.NakWithDelay(5 * time.Second) // another worker may manage
		return
	}
	// Tell JetStream the episode is still being played, until the
	// coordinator holds it.
	defer every(progressEvery(ackWait), func() { m.InProgress() })()
	t := oj.player.Play(ctx, work.Episode)
	// Stopped: hand the episode back.
	if t == nil {
		m.Nak()
		return
	}
	b, err := encodeResult(t)
	if err != nil {
		w.logf("encode trajectory %s: %v", t.ID, err)
		m.Nak()
		return
	}
	// The result's message id is the episode message's: it names the
	// coordinator that published the episode (see docs/distributed.md).
	id := m.Headers().Get(jetstream.MsgIDHeader)
	if id == "" {
		id = w.n.run + "/" + t.ID
	}
	r := &nats.Msg{Subject: w.n.results, Data: b, Header: nats.Header{
		ResultFormatHeader:    {ResultFormatBinary},
		jetstream.MsgIDHeader: {id},
		EpisodeAckHeader:      {m.Reply()},
	}}
	w.deliver(ctx, m, r, t.ID)
}

// deliver sends the result r of m's episode to the coordinator until it
// answers: while no coordinator listens (it died, or a resumed one is not
// up yet) or its answer is lost (a node of the cluster died), the worker
// keeps the trajectory and sends it again, and the heartbeats go on; a
// copy the coordinator already has is dropped there. A worker stopped
// meanwhile sends it once more, then hands the episode back.
//
// A run whose stream is gone (it ended, or was deleted) takes nothing
// more: the worker then drops the trajectory.
func (w *worker) deliver(ctx context.Context, m jetstream.Msg, r *nats.Msg, id string) {
	for try, delay := 1, 100*time.Millisecond; ; try, delay = try+1, min(2*delay, 5*time.Second) {
		if try%8 == 0 && w.runGone(ctx) {
			w.logf("dropped trajectory %s: run %s has ended (its stream is gone)", id, w.n.run)
			return
		}
		// Sent even when the worker is stopping (once): a trajectory
		// finished just before Ctrl-C is not played again.
		timeout := 10 * time.Second
		if ctx.Err() != nil {
			timeout = 2 * time.Second
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		reply, err := w.nc.RequestMsgWithContext(rctx, r)
		cancel()
		switch {
		case err == nil && reply.Header.Get(ResultStatusHeader) == resultTaken:
			return
		case err == nil && reply.Header.Get(ResultStatusHeader) == resultRefused:
			w.logf("the coordinator refused trajectory %s: %s", id, reply.Data)
			return // it handed the episode back
		case err == nil:
			w.logf("send trajectory %s: an answer that is not from a coordinator of this version (run workers of the coordinator's version): %.200s", id, reply.Data)
		case errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrConnectionClosed):
			w.logf("send trajectory %s: %v", id, err)
			m.Nak()
			return
		}
		if ctx.Err() != nil { // stopping, and not taken: hand the episode back
			m.Nak()
			return
		}
		wait(ctx, delay)
	}
}

// runGone reports whether the run's episode stream no longer exists.
func (w *worker) runGone(ctx context.Context) bool {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := w.js.Stream(lctx, w.n.episodeStream)
	return errors.Is(err, jetstream.ErrStreamNotFound)
}

// rawAssignment is an [Assignment] whose job is left as JSON: the same in
// every message of a run, it is decoded once (open).
type rawAssignment struct {
	Run     string          `json:"run"`
	Job     json.RawMessage `json:"job"`
	Episode rollout.Episode `json:"episode"`
}

var errBadJob = errors.New("its job is not a job")

// open prepares the job whose JSON is raw once and returns it.
func (w *worker) open(ctx context.Context, raw json.RawMessage) (*openJob, error) {
	w.mu.Lock()
	oj := w.jobs[string(raw)]
	if oj == nil {
		oj = &openJob{}
		w.jobs[string(raw)] = oj
	}
	w.mu.Unlock()
	oj.once.Do(func() {
		var job rollout.Job
		if err := json.Unmarshal(raw, &job); err != nil {
			oj.err = fmt.Errorf("%w: %v", errBadJob, err)
			return
		}
		oj.p, oj.err = rollout.Prepare(ctx, &job, w.o.Prepare)
		if oj.err == nil {
			oj.player = oj.p.Player()
		}
	})
	return oj, oj.err
}

// close releases the jobs the worker opened.
func (w *worker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, oj := range w.jobs {
		if oj.player != nil {
			oj.player.Close()
		}
		if oj.p != nil {
			oj.p.Close()
		}
	}
}
