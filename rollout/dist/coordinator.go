package dist

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
)

// Defaults of [Options].
const (
	DefaultAckWait    = 30 * time.Second
	DefaultMaxDeliver = 3
)

// Options configure a distributed run ([Run]).
type Options struct {
	// RunID names the run's streams, subjects and consumers (see
	// docs/distributed.md); empty means [DefaultRunID]. Workers must be
	// given the same.
	RunID string
	// AckWait is how long an episode may go without a worker's ack or
	// progress report before JetStream hands it to another worker; zero
	// means [DefaultAckWait].
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of an episode; an episode no worker
	// finished in that many is recorded as failed (cause timeout). Zero
	// means [DefaultMaxDeliver].
	MaxDeliver int
	// Window bounds the episodes published and not yet collected; zero
	// means [rollout.DefaultWindow].
	Window int
	// Keep keeps the run's streams after it ends; by default they are
	// deleted when the run ends complete. A run that stops before its end
	// (canceled, a sink that failed) keeps them, for Resume.
	Keep bool
	// Replicas is how many servers of a NATS cluster hold each of the run's
	// streams (and their consumers); 3 survives the loss of one node. Zero
	// means 1.
	Replicas int
	// Resume, when set, continues the run of the same RunID (and the same
	// job) whose coordinator stopped before the end (killed, interrupted),
	// with what its output already holds (see [ReadWritten]): the run's
	// streams are kept, the trajectories they hold that are not in the
	// output yet are written, the episodes still queued are not published
	// again, and failed episodes in the output are played again. It
	// replaces the RunOptions' Done. docs/distributed.md says how.
	Resume *Written
}

// Assignment is the message of one episode on the work queue: everything a worker
// needs to play it.
type Assignment struct {
	// Run is the run id.
	Run string `json:"run"`
	// Job is the run's job without its tasks (see [WorkerJob]).
	Job rollout.Job `json:"job"`
	// Episode is the episode to play.
	Episode rollout.Episode `json:"episode"`
}

// WorkerJob returns job as workers receive it: the tasks travel with each
// episode, so the job names none (one generated task stands in, for
// validation), and the rewards are computed by the coordinator, so it names
// none either. The model's API key is left out: a secret does not travel
// through NATS, and each worker sends its own ($OPENAI_API_KEY).
func WorkerJob(job *rollout.Job) rollout.Job {
	j := *job
	j.Model.APIKey = ""
	j.Tasks, j.Dataset, j.PromptField, j.AnswerField, j.IDField, j.Limit = nil, "", "", "", "", 0
	j.Generate = 1
	j.Reward = &reward.Config{}
	return j
}

// Run runs the prepared job on the workers listening on nc's server under
// o.RunID and returns the summary, as [rollout.Prepared.Run] does for an
// in-process run: ro's Sink receives each trajectory exactly once, scored
// and with group advantages. job is the job p was prepared from.
func Run(ctx context.Context, nc *nats.Conn, p *rollout.Prepared, job *rollout.Job, ro *rollout.RunOptions, o *Options) (_ rollout.Summary, err error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	n, err := namesOf(opts.RunID)
	if err != nil {
		return rollout.Summary{}, err
	}
	js, err := jetStream(ctx, nc)
	if err != nil {
		return rollout.Summary{}, err
	}
	if opts.Replicas > 1 && nc.ConnectedClusterName() == "" {
		return rollout.Summary{}, fmt.Errorf("dist: %d replicas need a NATS cluster, and the server at %s is a single node: give --nats-replicas 1 (the default), or connect to a cluster", opts.Replicas, nc.ConnectedUrlRedacted())
	}
	c := &coordinator{nc: nc, js: js, n: n, job: WorkerJob(job), fingerprint: jobFingerprint(job, p), gen: strconv.FormatInt(time.Now().UnixNano(), 36),
		waiting: map[string]chan *retrain.Trajectory{}, unwritten: map[string]jetstream.Msg{}, written: map[string]bool{},
		early: map[string]arrived{}, served: map[string]*retrain.Trajectory{}, kept: map[string]bool{}, rerun: map[string]bool{}, queued: map[string]bool{}}
	var r rollout.RunOptions
	if ro != nil {
		r = *ro
	}
	if opts.Resume != nil {
		if r.Done, err = c.resumeFrom(opts.Resume, p, job); err != nil {
			return rollout.Summary{}, err
		}
	}
	if err := c.setup(ctx, &opts); err != nil {
		return rollout.Summary{}, err
	}
	if opts.Resume != nil {
		if err := c.scanQueued(ctx); err != nil {
			return rollout.Summary{}, err
		}
	}
	defer func() {
		if !opts.Keep && err == nil { // a run that stopped early keeps its streams, for Resume
			c.cleanup()
		}
	}()
	// Short pulls with frequent heartbeats: a pull request lost (the
	// consumer's leader not yet known to our server, or dead) is noticed
	// in seconds rather than the default 30.
	cc, err := c.results.Consume(c.collect, jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return rollout.Summary{}, fmt.Errorf("dist: consume results: %w", err)
	}
	defer cc.Stop()
	sub, err := nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+n.episodeStream+"."+n.workerConsumer, c.exhausted)
	if err != nil {
		return rollout.Summary{}, fmt.Errorf("dist: subscribe to advisories: %w", err)
	}
	defer sub.Unsubscribe()
	defer c.holdResults(cmp.Or(opts.AckWait, DefaultAckWait))()
	defer c.watchExhausted(cmp.Or(opts.AckWait, DefaultAckWait), cmp.Or(opts.MaxDeliver, DefaultMaxDeliver))()

	r.Remote = c.play
	r.Window = opts.Window
	if r.Sink != nil {
		r.Sink = &ackSink{c: c, inner: r.Sink}
	} else {
		r.Sink = &ackSink{c: c}
	}
	return p.Run(ctx, &r)
}

// coordinator is one distributed run's state.
type coordinator struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	n   names
	job rollout.Job
	// fingerprint identifies the job (jobFingerprint), kept in the episode
	// stream's metadata so that a resume with another job is refused.
	fingerprint string
	results     jetstream.Consumer

	jobOnce sync.Once
	jobJSON []byte // job's JSON, in every episode message
	jobErr  error
	stream  jetstream.Stream

	// gen tells this coordinator's episode messages from those of an
	// earlier one of the run (a resumed run): it ends their Nats-Msg-Id,
	// which workers give their results.
	gen string

	mu        sync.Mutex
	waiting   map[string]chan *retrain.Trajectory // episode id → its player, until its trajectory arrives
	unwritten map[string]jetstream.Msg            // arrived, not yet written: acked once written
	written   map[string]bool                     // written (or in the output before a resume): later copies are dropped
	early     map[string]arrived                  // arrived before their player asked (a resumed run's backlog)
	// Resume only (see resume.go):
	served map[string]*retrain.Trajectory // in the output, in a group the output holds only part of: played from there
	kept   map[string]bool                // the output holds their line already: not written again
	rerun  map[string]bool                // failed in the output: played again, results of earlier coordinators dropped
	queued map[string]bool                // still in the episode stream: not published again
}

// arrived is a trajectory received before its episode's player asked for it.
type arrived struct {
	m jetstream.Msg
	t *retrain.Trajectory
}

// setup creates the run's streams and consumers afresh, or, when resuming,
// keeps the streams and their messages and recreates the consumers (so that
// what the earlier coordinator and its workers held is delivered at once).
func (c *coordinator) setup(ctx context.Context, o *Options) error {
	var err error
	create := c.js.CreateOrUpdateStream
	if o.Resume != nil {
		// The streams must be this job's: a resume with other flags would
		// write a file that mixes two runs.
		if s, err := c.js.Stream(ctx, c.n.episodeStream); err == nil {
			if was := s.CachedInfo().Config.Metadata[jobMetadataKey]; was != "" && was != c.fingerprint {
				return fmt.Errorf("dist: resume: run %s was started with another job (its environment, tasks, --n, --seed, sampling, model or rewards differ); resume it with the command that started it, or start afresh without --resume (another --out or --run-id)", c.n.run)
			}
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("dist: resume: the stream %s: %w", c.n.episodeStream, err)
		}
	} else {
		for _, s := range []string{c.n.episodeStream, c.n.resultStream} {
			if err := c.js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				return fmt.Errorf("dist: delete the old stream %s: %w", s, err)
			}
		}
		create = c.js.CreateStream
	}
	c.stream, err = create(ctx, jetstream.StreamConfig{
		Name: c.n.episodeStream, Subjects: []string{c.n.episodes},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: o.Replicas,
		Metadata: map[string]string{jobMetadataKey: c.fingerprint},
	})
	if err != nil {
		return fmt.Errorf("dist: create the stream %s: %w", c.n.episodeStream, err)
	}
	if o.Resume != nil {
		if err := c.stream.DeleteConsumer(ctx, c.n.workerConsumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("dist: delete the consumer %s: %w", c.n.workerConsumer, err)
		}
	}
	if _, err := c.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: c.n.workerConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: cmp.Or(o.AckWait, DefaultAckWait), MaxDeliver: cmp.Or(o.MaxDeliver, DefaultMaxDeliver),
		MaxAckPending: -1,
	}); err != nil {
		return fmt.Errorf("dist: create the consumer %s: %w", c.n.workerConsumer, err)
	}
	rs, err := create(ctx, jetstream.StreamConfig{
		Name: c.n.resultStream, Subjects: []string{c.n.results},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, MaxMsgSize: 8 << 20, Replicas: o.Replicas,
	})
	if err != nil {
		return fmt.Errorf("dist: create the stream %s: %w", c.n.resultStream, err)
	}
	if o.Resume != nil {
		if err := rs.DeleteConsumer(ctx, c.n.coordConsumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("dist: delete the consumer %s: %w", c.n.coordConsumer, err)
		}
	}
	c.results, err = rs.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: c.n.coordConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		// Held until its group is written, with progress reports (holdResults);
		// a delivery lost with a dead node comes back after the ack wait.
		AckWait: cmp.Or(o.AckWait, DefaultAckWait), MaxAckPending: -1,
	})
	if err != nil {
		return fmt.Errorf("dist: create the consumer %s: %w", c.n.coordConsumer, err)
	}
	return nil
}

// cleanup deletes the run's streams.
func (c *coordinator) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.js.DeleteStream(ctx, c.n.episodeStream)
	c.js.DeleteStream(ctx, c.n.resultStream)
}

// play publishes ep and waits for its trajectory ([rollout.RunOptions].Remote).
func (c *coordinator) play(ctx context.Context, ep rollout.Episode) (*retrain.Trajectory, error) {
	id := rollout.EpisodeID(ep.Task.ID, ep.Sample)
	ch := make(chan *retrain.Trajectory, 1)
	c.mu.Lock()
	if t := c.served[id]; t != nil { // in the output already, in a group it holds only part of
		delete(c.served, id)
		c.mu.Unlock()
		return t, nil
	}
	if a, ok := c.early[id]; ok { // collected before this player asked (a resumed run)
		delete(c.early, id)
		c.unwritten[id] = a.m
		c.mu.Unlock()
		return a.t, nil
	}
	c.waiting[id] = ch
	queued := c.queued[id]
	delete(c.queued, id)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	if !queued { // not still in the stream from an earlier coordinator of the run
		b, err := c.assignment(ep)
		if err != nil {
			return nil, fmt.Errorf("dist: encode episode %s: %w", id, err)
		}
		if err := publishRetry(ctx, c.js, c.n.episodes, b, c.n.run+"/"+id+"@"+c.gen, nil); err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, fmt.Errorf("dist: publish episode %s: %w", id, err)
		}
	}
	select {
	case t := <-ch:
		return t, nil
	case <-ctx.Done():
		return nil, nil
	}
}

// assignment returns the message of ep: json.Marshal of its [Assignment],
// with the job's JSON (the same in every message of the run) encoded once.
func (c *coordinator) assignment(ep rollout.Episode) ([]byte, error) {
	c.jobOnce.Do(func() { c.jobJSON, c.jobErr = json.Marshal(c.job) })
	if c.jobErr != nil {
		return nil, c.jobErr
	}
	e, err := json.Marshal(ep)
	if err != nil {
		return nil, err
	}
	run, _ := json.Marshal(c.n.run)
	b := make([]byte, 0, len(run)+len(c.jobJSON)+len(e)+26)
	b = append(append(append(b, `{"run":`...), run...), `,"job":`...)
	b = append(append(append(b, c.jobJSON...), `,"episode":`...), e...)
	return append(b, '}'), nil
}

// collect receives a trajectory from the results stream and hands it to its
// episode's player; a copy of one already received is dropped, and one that
// arrives before its player asks (a resumed run's backlog) waits for it.
func (c *coordinator) collect(m jetstream.Msg) {
	var t *retrain.Trajectory
	var err error
	switch f := m.Headers().Get(ResultFormatHeader); f {
	case ResultFormatBinary:
		t, err = decodeBinaryResult(m.Data())
	case "": // a trajectory's JSON
		t, err = decodeResult(m.Data())
	default:
		err = fmt.Errorf("result format %q is not one this coordinator reads (%s): run workers of the coordinator's version", f, ResultFormatBinary)
	}
	if err == nil && t.ID == "" {
		err = errors.New("a trajectory without an id")
	}
	if err != nil {
		m.TermWithReason("retrain: " + err.Error()) // not a trajectory: never redeliver it
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.written[t.ID]:
		m.Ack()
	case c.rerun[t.ID] && msgGen(m) != c.gen:
		m.Ack() // the failed episode the output holds, from an earlier coordinator: it is being played again
	case c.unwritten[t.ID] != nil:
		c.unwritten[t.ID] = m // a redelivery of one waiting for its group
	default:
		ch, ok := c.waiting[t.ID]
		if !ok {
			c.early[t.ID] = arrived{m, t} // its player has not asked yet: kept (unacked) until it does
			return
		}
		delete(c.waiting, t.ID)
		c.unwritten[t.ID] = m
		ch <- t
	}
}

// msgGen is the coordinator generation that ends m's Nats-Msg-Id (see
// coordinator.gen); empty when it has none.
func msgGen(m jetstream.Msg) string {
	id := m.Headers().Get(jetstream.MsgIDHeader)
	if i := strings.LastIndexByte(id, '@'); i >= 0 {
		return id[i+1:]
	}
	return ""
}

// exhausted receives JetStream's advisory that an episode was delivered
// MaxDeliver times without an ack, and records the episode as failed.
func (c *coordinator) exhausted(m *nats.Msg) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if dropAdvisories.Load() || json.Unmarshal(m.Data, &adv) != nil {
		return
	}
	c.giveUp(adv.StreamSeq, adv.Deliveries)
}

// giveUp records the episode of the message seq of the episode stream,
// delivered deliveries times, as failed, and removes the message.
func (c *coordinator) giveUp(seq, deliveries uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := c.stream.GetMsg(ctx, seq)
	if err != nil {
		return
	}
	var w Assignment
	if json.Unmarshal(raw.Data, &w) != nil {
		return
	}
	c.stream.DeleteMsg(ctx, seq)
	id := rollout.EpisodeID(w.Episode.Task.ID, w.Episode.Sample)
	t := &retrain.Trajectory{ID: id, Task: w.Episode.Task, Sample: w.Episode.Sample, Env: w.Job.Env, Seed: w.Episode.Seed,
		Messages: []retrain.Message{}, Turns: []retrain.Turn{}, Attempts: int(deliveries),
		Error:      fmt.Sprintf("no worker finished the episode in %d deliveries (each worker died or went silent for the ack wait)", deliveries),
		ErrorCause: retrain.CauseTimeout, StopReason: retrain.StopDeadline}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.waiting[id]; ok && !c.written[id] && c.unwritten[id] == nil {
		delete(c.waiting, id)
		ch <- t
	}
}

// ackSink writes trajectories to inner, then acks their result messages:
// a trajectory leaves the results stream only once it is in the output.
type ackSink struct {
	c     *coordinator
	inner rollout.Sink
}

func (s *ackSink) Write(t *retrain.Trajectory) error {
	s.c.mu.Lock()
	kept := s.c.kept[t.ID]
	s.c.mu.Unlock()
	if s.inner != nil && !kept {
		if err := s.inner.Write(t); err != nil {
			return err
		}
	}
	s.c.mu.Lock()
	m := s.c.unwritten[t.ID]
	delete(s.c.unwritten, t.ID)
	s.c.written[t.ID] = true
	s.c.mu.Unlock()
	if m != nil {
		m.Ack()
	}
	return nil
}
