package dist

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishTimeout bounds publishRetry's retries: a NATS cluster elects a new
// stream leader after a lost node in seconds.
const publishTimeout = time.Minute

// publishRetry publishes b to JetStream with the message id msgID, retrying
// through a lost node or a stream leader's election (no responders, a
// timeout, a reconnection) for up to publishTimeout. A retry of a publish
// that was stored after all is dropped by JetStream (the message id).
func publishRetry(ctx context.Context, js jetstream.JetStream, subject string, b []byte, msgID string, h nats.Header) error {
	deadline := time.Now().Add(publishTimeout)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.PublishMsg(pctx, &nats.Msg{Subject: subject, Data: b, Header: h}, jetstream.WithMsgID(msgID))
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) || permanent(err) {
			return err
		}
		wait(ctx, delay)
	}
}

// permanent reports whether a publish error would recur on a retry.
func permanent(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) && api.Code != 503 && api.Code != 0 {
		return true // e.g. a message too large for the stream; 503: JetStream is electing
	}
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubject)
}

// progressEvery is how often an episode in progress is reported to
// JetStream: a third of the ack wait, so that a report or two may be lost.
func progressEvery(ackWait time.Duration) time.Duration {
	return max(ackWait/3, 10*time.Millisecond)
}

// every calls f every d, in a goroutine of its own, until the returned
// function is called; that function stops it and waits for a call under
// way to end.
func every(d time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// holdEpisodes reports progress ([progressEvery]) on the episodes whose
// trajectories the coordinator holds (received, waiting for their group to
// be written), so that JetStream does not hand them to another worker; it
// returns a function that stops and waits. A coordinator that dies stops
// reporting: its episodes are delivered again after the ack wait, and
// played again.
func (c *coordinator) holdEpisodes(ackWait time.Duration) (stop func()) {
	return every(progressEvery(ackWait), func() {
		c.mu.Lock()
		var held []string
		for _, acks := range c.unwritten {
			held = append(held, acks...)
		}
		for _, a := range c.early { // a resumed run's backlog, waiting for its players
			held = append(held, a.acks...)
		}
		c.mu.Unlock()
		for _, a := range held {
			c.nc.Publish(a, ackInProgress)
		}
	})
}

// dropAdvisories makes the coordinator ignore JetStream's max-deliveries
// advisories, as if each were lost (a test's setting: watchExhausted must
// then find the episodes).
var dropAdvisories atomic.Bool

// watchExhausted looks, every interval (the ack wait, within 1 to 30 s),
// for episodes JetStream has stopped delivering (MaxDeliver reached) whose
// advisory did not reach the coordinator: an advisory is a core NATS
// message, lost while the coordinator reconnects to another node. When the
// workers' consumer has nothing pending or awaiting an ack and the episode
// stream still holds messages, on two looks in a row, those messages are
// exhausted: each is recorded as failed as the advisory would have. It
// returns a function that stops and waits.
func (c *coordinator) watchExhausted(ackWait time.Duration, maxDeliver int) (stop func()) {
	suspects := map[uint64]bool{} // only the one goroutine of every touches it
	return every(min(max(ackWait, time.Second), 30*time.Second), func() {
		suspects = c.exhaustedNow(suspects, uint64(maxDeliver))
	})
}

// exhaustedNow is one look of watchExhausted: it returns the messages that
// look exhausted now, and gives up those that did in the previous look too.
func (c *coordinator) exhaustedNow(before map[uint64]bool, maxDeliver uint64) map[uint64]bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.stream.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return nil
	}
	cons, err := c.stream.Consumer(ctx, c.n.workerConsumer)
	if err != nil {
		return nil
	}
	if ci := cons.CachedInfo(); ci.NumPending != 0 || ci.NumAckPending != 0 {
		return nil
	}
	now := map[uint64]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && len(now) < int(info.State.Msgs); seq++ {
		m, err := c.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(c.n.episodes)) // the next one from seq
		if err != nil {
			break
		}
		seq = m.Sequence
		now[seq] = true
		if before[seq] {
			c.giveUp(seq, maxDeliver)
		}
	}
	return now
}
