package dist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrain-rl/retrain/rollout"
)

// Written is what the output file of a run being resumed holds: each
// episode it has a line for, and whether its last line failed. [ReadWritten]
// reads it; [Options].Resume takes it.
type Written struct {
	path   string
	failed map[rollout.Key]bool // every episode in the file → whether its last line failed
}

// ReadWritten reads the JSONL output of a run to resume (see
// [Options].Resume). A missing file holds nothing. A last line without a
// newline (a writer killed mid-line) is ignored, as [rollout.OpenJSONL]
// truncates it away; any other line that is not a trajectory is an error
// naming it.
func ReadWritten(path string) (*Written, error) {
	w := &Written{path: path, failed: map[rollout.Key]bool{}}
	err := w.lines(func(k rollout.Key, failed bool, _ []byte) error {
		w.failed[k] = failed // a later line (a failed episode run again) wins
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Len is the number of episodes the file holds.
func (w *Written) Len() int { return len(w.failed) }

// lines calls f with each whole line of the file, decoding only its
// identity: resuming a file of a million trajectories must not decode a
// million conversations.
func (w *Written) lines(f func(k rollout.Key, failed bool, line []byte) error) error {
	return rollout.ScanWritten(w.path, f)
}

// resumeFrom sets the coordinator up to continue from what the output
// holds, and returns the episodes the runner skips:
//   - an episode that succeeded is skipped, and any result of it dropped;
//   - one that failed, in a group the output holds whole, is played again
//     (as an in-process --resume does), and results of it published by an
//     earlier coordinator are dropped;
//   - when the run computes group rewards or advantages, a group the output
//     holds only part of (its coordinator was killed while writing it) is
//     completed: the lines it holds are given to the runner again as they
//     are (not played, not written again), so that the advantages of the
//     missing samples are computed over the whole group, as they were for
//     the lines already written.
func (c *coordinator) resumeFrom(w *Written, p *rollout.Prepared, job *rollout.Job) (map[rollout.Key]bool, error) {
	n := max(job.N, 1)
	grouped := n > 1 && p.Rewards() != nil && (p.RewardConfig() != nil && p.RewardConfig().Advantage != "" || p.Rewards().GroupLevel())
	have := map[string]int{} // task id → samples in the file
	for k := range w.failed {
		have[k.TaskID]++
	}
	partial := func(k rollout.Key) bool { return grouped && have[k.TaskID] < n }
	done := map[rollout.Key]bool{}
	for k, failed := range w.failed {
		id := rollout.EpisodeID(k.TaskID, k.Sample)
		switch {
		case partial(k):
			c.written[id], c.kept[id] = true, true
		case failed:
			c.rerun[id] = true
		default:
			c.written[id] = true
			done[k] = true
		}
	}
	if len(c.kept) == 0 {
		return done, nil
	}
	err := w.lines(func(k rollout.Key, _ bool, line []byte) error {
		if !partial(k) {
			return nil
		}
		t, err := rollout.DecodeTrajectory(line)
		if err != nil {
			return fmt.Errorf("dist: resume: %s: episode %s: %w", w.path, rollout.EpisodeID(k.TaskID, k.Sample), err)
		}
		c.served[t.ID] = t // a later line of the same episode wins
		return nil
	})
	return done, err
}

// scanQueued reads the episode stream of the run being resumed: an episode
// still queued (or being played) is not published again, and its result is
// awaited; the message of an episode the output holds is deleted (it would
// be played for nothing), and so is that of a failed one, which is
// published again. A deletion that fails is no error: see below.
func (c *coordinator) scanQueued(ctx context.Context) error {
	for seq := uint64(1); ; seq++ {
		raw, err := c.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(c.n.episodes))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dist: resume: read the stream %s: %w", c.n.episodeStream, err)
		}
		seq = raw.Sequence
		var a Assignment
		if json.Unmarshal(raw.Data, &a) != nil {
			continue // not an episode: the workers drop it
		}
		id := rollout.EpisodeID(a.Episode.Task.ID, a.Episode.Sample)
		if c.written[id] || c.rerun[id] {
			// Best effort: the message may be gone already (a worker acked
			// it meanwhile); one left is played for nothing, its result
			// dropped by id.
			c.stream.DeleteMsg(ctx, seq)
			continue
		}
		c.queued[id] = true
	}
}
