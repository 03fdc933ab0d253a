package rollout

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// DisplayOptions configure a [Display]. The zero value detects a terminal.
type DisplayOptions struct {
	// Terminal forces the redrawn status line (true) or plain periodic lines
	// (false); nil means a status line when the writer is a terminal.
	Terminal *bool
	// Interval is the time between plain lines; zero means 5s. A terminal's
	// status line is redrawn at most ten times a second.
	Interval time.Duration
}

// Display shows a run's progress: on a terminal a status line redrawn in
// place; elsewhere (a log file, CI) a plain line every Interval. Its Update
// method suits [RunnerOptions.Progress]. It is safe for concurrent use.
type Display struct {
	w        io.Writer
	terminal bool
	interval time.Duration

	mu      sync.Mutex
	last    time.Time // when a line was last drawn
	pending *Progress // the latest update not drawn yet
	drawn   bool      // a terminal status line is on screen
}

// NewDisplay returns a display writing to w.
func NewDisplay(w io.Writer, opts *DisplayOptions) *Display {
	d := &Display{w: w, interval: 5 * time.Second}
	if opts != nil && opts.Interval > 0 {
		d.interval = opts.Interval
	}
	switch {
	case opts != nil && opts.Terminal != nil:
		d.terminal = *opts.Terminal
	default:
		if f, ok := w.(*os.File); ok {
			d.terminal = term.IsTerminal(int(f.Fd()))
		}
	}
	if d.terminal {
		d.interval = 100 * time.Millisecond
	}
	return d
}

// Update records p and draws it if the last drawing is old enough.
func (d *Display) Update(p Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p.Last = nil // not kept
	d.pending = &p
	if now := time.Now(); now.Sub(d.last) >= d.interval || p.Done == p.Total {
		d.draw(now)
	}
}

// Finish draws the latest update if it was not drawn yet and ends the
// status line, so that what is printed next starts on a line of its own.
func (d *Display) Finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending != nil {
		d.draw(time.Now())
	}
	if d.drawn {
		fmt.Fprintln(d.w)
		d.drawn = false
	}
}

func (d *Display) draw(now time.Time) {
	p := d.pending
	d.pending = nil
	d.last = now
	line := FormatProgress(*p)
	if d.terminal {
		fmt.Fprint(d.w, "\r\x1b[K"+line)
		d.drawn = true
		return
	}
	fmt.Fprintln(d.w, line)
}

// FormatProgress formats p as one line: done/total, failures, episodes per
// second, mean reward and elapsed time. The mean reward is that of the
// total rewards once episodes are scored, else the mean step reward.
func FormatProgress(p Progress) string {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Done) / s
	}
	mean := p.MeanStepReward
	if p.Scored > 0 {
		mean = p.MeanReward
	}
	return fmt.Sprintf("rollout %d/%d · %d failed · %.2f eps/s · mean reward %.3g · %s",
		p.Done, p.Total, p.Failed, rate, mean, p.Elapsed.Round(time.Second))
}
