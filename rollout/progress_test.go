package rollout

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDisplayTerminal(t *testing.T) {
	var b bytes.Buffer
	d := NewDisplay(&b, &DisplayOptions{Terminal: ptr(true)})
	d.Update(Progress{Done: 1, Total: 3, Elapsed: time.Second})
	d.Update(Progress{Done: 2, Total: 3, Failed: 1, Elapsed: 2 * time.Second}) // throttled
	d.Update(Progress{Done: 3, Total: 3, Failed: 1, MeanStepReward: 0.5, Elapsed: 3 * time.Second})
	d.Finish()
	out := b.String()
	if n := strings.Count(out, "\r\x1b[K"); n != 2 {
		t.Errorf("%d redraws, want 2 (the first and the last): %q", n, out)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("the status line is not ended once: %q", out)
	}
	if !strings.Contains(out, "rollout 3/3 · 1 failed · 1.00 eps/s · mean reward 0.5 · 3s") {
		t.Errorf("last line missing: %q", out)
	}
}

func TestDisplayPlain(t *testing.T) {
	var b bytes.Buffer
	d := NewDisplay(&b, &DisplayOptions{Terminal: ptr(false), Interval: time.Hour})
	d.Update(Progress{Done: 1, Total: 10})
	d.Update(Progress{Done: 2, Total: 10}) // within the interval: not drawn yet
	if got := strings.Count(b.String(), "\n"); got != 1 {
		t.Errorf("%d lines before Finish, want 1: %q", got, b.String())
	}
	d.Finish()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "rollout 2/10") || strings.Contains(b.String(), "\r") {
		t.Errorf("plain lines: %q", b.String())
	}
}

func TestDisplayDetectsNonTerminal(t *testing.T) {
	var b bytes.Buffer
	if NewDisplay(&b, nil).terminal {
		t.Error("a buffer is taken for a terminal")
	}
}

// Once episodes are scored the line's mean reward is that of their total
// rewards, not the environment's step rewards.
func TestFormatProgressScored(t *testing.T) {
	p := Progress{Done: 4, Total: 4, MeanStepReward: -0.1, Elapsed: 2 * time.Second}
	if got := FormatProgress(p); !strings.Contains(got, "mean reward -0.1 ·") {
		t.Errorf("unscored: %q", got)
	}
	p.Scored, p.MeanReward = 4, 0.85
	if got := FormatProgress(p); !strings.Contains(got, "mean reward 0.85 ·") {
		t.Errorf("scored: %q", got)
	}
}
