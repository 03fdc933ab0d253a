package dist

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	// RunID names the run's stream, subjects and consumer (see
	// docs/distributed.md); empty means [DefaultRunID]. Workers must be
	// given the same.
	RunID string
	// AckWait is how long an episode may go without an ack or a progress
	// report (from its worker while it plays, from the coordinator once it
	// holds the trajectory) before JetStream hands it to another worker;
	// zero means [DefaultAckWait].
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of an episode; an episode no worker
	// finished in that many is recorded as failed (cause timeout). Zero
	// means [DefaultMaxDeliver].
	MaxDeliver int
	// Window bounds the episodes published and not yet collected; zero
	// means [rollout.DefaultWindow].
	Window int
	// Keep keeps the run's episode stream after it ends; by default it is
	// deleted when the run ends complete. A run that stops before its end
	// (canceled, a sink that failed) keeps it, for Resume.
	Keep bool
	// Replicas is how many servers of a NATS cluster hold the run's
	// episode stream (and its consumer); 3 survives the loss of one node.
	// Zero means 1.
	Replicas int
	// Resume, when set, continues the run of the same RunID (and the same
	// job) whose coordinator stopped before the end (killed, interrupted),
	// with what its output already holds (see [ReadWritten]): the run's
	// stream is kept, the episodes still queued are not published again,
	// the trajectories workers held while no coordinator listened are taken,
	// and failed episodes in the output are played again. It
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
		waiting: map[string]chan *retrain.Trajectory{}, unwritten: map[string][]string{}, written: map[string]bool{},
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
		if !opts.Keep && err == nil { // a run that stopped early keeps its stream, for Resume
			c.cleanup()
		}
	}()
	results, err := nc.Subscribe(n.results, c.receive)
	if err != nil {
		return rollout.Summary{}, fmt.Errorf("dist: subscribe to results: %w", err)
	}
	defer results.Unsubscribe()
	// Results wait here while one is decoded: room for a burst of them (a
	// resumed run's workers, each with the results it held); past it, a
	// worker's request goes unanswered and is sent again.
	results.SetPendingLimits(1<<16, 1<<30)
	sub, err := nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+n.episodeStream+"."+n.workerConsumer, c.exhausted)
	if err != nil {
		return rollout.Summary{}, fmt.Errorf("dist: subscribe to advisories: %w", err)
	}
	defer sub.Unsubscribe()
	if err := nc.FlushTimeout(10 * time.Second); err != nil { // subscribed at the server before any episode is out
		return rollout.Summary{}, fmt.Errorf("dist: subscribe to results: %w", err)
	}
	defer c.holdEpisodes(cmp.Or(opts.AckWait, DefaultAckWait))()
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

	jobOnce sync.Once
	jobJSON []byte // job's JSON, in every episode message
	jobErr  error
	stream  jetstream.Stream

	// gen tells this coordinator's episode messages from those of an
	// earlier one of the run (a resumed run): it ends their Nats-Msg-Id,
	// which workers give their results.
	gen string

	mu      sync.Mutex
	waiting map[string]chan *retrain.Trajectory // episode id → its player, until its trajectory arrives
	// unwritten holds the trajectories received and not yet written, each
	// with the ack subjects of its episode's deliveries: acked once it is
	// written, and told that it is in progress until then.
	unwritten map[string][]string
	written   map[string]bool    // written (or in the output before a resume): later copies are dropped
	early     map[string]arrived // arrived before their player asked (a resumed run's backlog)
	// Resume only (see resume.go):
	served map[string]*retrain.Trajectory // in the output, in a group the output holds only part of: played from there
	kept   map[string]bool                // the output holds their line already: not written again
	rerun  map[string]bool                // failed in the output: played again, results of earlier coordinators dropped
	queued map[string]bool                // still in the episode stream: not published again
}

// arrived is a trajectory received before its episode's player asked for
// it, with the ack subjects of its episode's deliveries.
type arrived struct {
	acks []string
	t    *retrain.Trajectory
}

// setup creates the run's episode stream and the workers' consumer afresh,
// or, when resuming, keeps them and what they hold: the episodes still
// queued, and the deliveries workers hold (a worker that kept a trajectory
// while no coordinator was there to take it sends it to this one, and acks
// through its delivery still work).
func (c *coordinator) setup(ctx context.Context, o *Options) error {
	var err error
	create := c.js.CreateOrUpdateStream
	if o.Resume != nil {
		// The stream must be this job's: a resume with other flags would
		// write a file that mixes two runs.
		if s, err := c.js.Stream(ctx, c.n.episodeStream); err == nil {
			if was := s.CachedInfo().Config.Metadata[jobMetadataKey]; was != "" && was != c.fingerprint {
				return fmt.Errorf("dist: resume: run %s was started with another job (its environment, tasks, --n, --seed, sampling, model or rewards differ); resume it with the command that started it, or start afresh without --resume (another --out or --run-id)", c.n.run)
			}
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("dist: resume: the stream %s: %w", c.n.episodeStream, err)
		}
	} else {
		if err := c.js.DeleteStream(ctx, c.n.episodeStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("dist: delete the old stream %s: %w", c.n.episodeStream, err)
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
	if _, err := c.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: c.n.workerConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: cmp.Or(o.AckWait, DefaultAckWait), MaxDeliver: cmp.Or(o.MaxDeliver, DefaultMaxDeliver),
		MaxAckPending: -1,
	}); err != nil {
		return fmt.Errorf("dist: create the consumer %s: %w", c.n.workerConsumer, err)
	}
	return nil
}

// cleanup deletes the run's stream.
func (c *coordinator) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.js.DeleteStream(ctx, c.n.episodeStream)
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
	if a, ok := c.early[id]; ok { // received before this player asked (a resumed run)
		delete(c.early, id)
		c.unwritten[id] = a.acks
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

// receive takes a trajectory a worker sends (a request on the results
// subject, in [ResultFormatBinary], with its episode delivery's ack subject
// in [EpisodeAckHeader]) and answers it ([ResultStatusHeader]): taken, the
// coordinator now holds the episode (it reports progress on it until the
// trajectory is written, then acks it); refused, the episode is handed
// back (Nak) for another delivery. The first trajectory of an awaited
// episode goes to its player; a copy of one already received is dropped
// (its delivery acked with the first); one that arrives before its player
// asks (a resumed run's backlog) waits for it.
func (c *coordinator) receive(m *nats.Msg) {
	ack := m.Header.Get(EpisodeAckHeader)
	if !c.ackSubject(ack) {
		answer(m, resultRefused, fmt.Sprintf("the result has no ack subject of an episode of run %s in %s: run workers of the coordinator's version", c.n.run, EpisodeAckHeader))
		return
	}
	var t *retrain.Trajectory
	var err error
	switch f := m.Header.Get(ResultFormatHeader); f {
	case ResultFormatBinary:
		t, err = decodeBinaryResult(m.Data)
	case "": // a trajectory's JSON
		t, err = decodeResult(m.Data)
	default:
		err = fmt.Errorf("result format %q is not one this coordinator reads (%s): run workers of the coordinator's version", f, ResultFormatBinary)
	}
	if err == nil && t.ID == "" {
		err = errors.New("a trajectory without an id")
	}
	if err != nil {
		c.nc.Publish(ack, ackNak) // played again (and recorded as failed once out of deliveries)
		answer(m, resultRefused, err.Error())
		return
	}
	c.mu.Lock()
	switch {
	case c.written[t.ID]:
		c.nc.Publish(ack, ackAck)
	case c.rerun[t.ID] && msgGen(m.Header) != c.gen:
		c.nc.Publish(ack, ackAck) // the failed episode the output holds, from an earlier coordinator: it is being played again
	case c.unwritten[t.ID] != nil:
		c.unwritten[t.ID] = appendNew(c.unwritten[t.ID], ack) // another delivery of one waiting for its group
	default:
		if a, ok := c.early[t.ID]; ok {
			a.acks = appendNew(a.acks, ack)
			c.early[t.ID] = a
			break
		}
		ch, ok := c.waiting[t.ID]
		if !ok {
			c.early[t.ID] = arrived{[]string{ack}, t} // its player has not asked yet: held until it does
			break
		}
		delete(c.waiting, t.ID)
		c.unwritten[t.ID] = []string{ack}
		ch <- t
	}
	c.mu.Unlock()
	answer(m, resultTaken, "")
}

// The bodies of the acks the coordinator sends for a worker's delivery of
// an episode (JetStream's ack protocol).
var (
	ackAck        = []byte("+ACK")
	ackNak        = []byte("-NAK")
	ackInProgress = []byte("+WPI")
)

// ackSubject reports whether s is the ack subject of a delivery of this
// run's episodes to the workers' consumer, the only subjects the
// coordinator publishes acks to: $JS.ACK.<stream>.<consumer> and five
// numbers, or, in the newer form, $JS.ACK.<domain>.<account>.<stream>.
// <consumer>, five numbers and a token; no token empty or a wildcard.
func (c *coordinator) ackSubject(s string) bool {
	t := strings.Split(s, ".")
	if len(t) < 9 || t[0] != "$JS" || t[1] != "ACK" {
		return false
	}
	for _, tok := range t {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return false
		}
	}
	at := 2 // the stream's token
	if len(t) >= 12 {
		at = 4
	}
	return t[at] == c.n.episodeStream && t[at+1] == c.n.workerConsumer
}

// answer replies to a worker's result request with status and, when
// refused, the reason.
func answer(m *nats.Msg, status, reason string) {
	if m.Reply == "" {
		return
	}
	r := &nats.Msg{Subject: m.Reply, Header: nats.Header{ResultStatusHeader: {status}}}
	if reason != "" {
		r.Data = []byte(reason)
	}
	m.RespondMsg(r)
}

// appendNew appends s to list unless it holds it.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// msgGen is the coordinator generation that ends the Nats-Msg-Id in h
// (see coordinator.gen); empty when it has none.
func msgGen(h nats.Header) string {
	id := h.Get(jetstream.MsgIDHeader)
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

// ackSink writes trajectories to inner, then acks their episodes: an
// episode leaves the stream only once its trajectory is in the output.
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
	acks := s.c.unwritten[t.ID]
	delete(s.c.unwritten, t.ID)
	s.c.written[t.ID] = true
	s.c.mu.Unlock()
	for _, a := range acks {
		s.c.nc.Publish(a, ackAck)
	}
	return nil
}
