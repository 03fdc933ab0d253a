package dist

import (
	"context"
	"errors"
	"sync"
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
func publishRetry(ctx context.Context, js jetstream.JetStream, subject string, b []byte, msgID string) error {
	deadline := time.Now().Add(publishTimeout)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.Publish(pctx, subject, b, jetstream.WithMsgID(msgID))
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

// holdResults reports progress on the result messages that wait for their
// group to be written, every third of ackWait, so that JetStream does not
// redeliver them; it returns a function that stops and waits. The results
// consumer's ack wait is short so that a delivery lost with a dead node (the
// coordinator's server, or the consumer's leader) comes back soon.
func (c *coordinator) holdResults(ackWait time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(ackWait/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			c.mu.Lock()
			held := make([]jetstream.Msg, 0, len(c.unwritten))
			for _, m := range c.unwritten {
				held = append(held, m)
			}
			c.mu.Unlock()
			for _, m := range held {
				m.InProgress()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
