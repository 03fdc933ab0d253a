package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The whole bench at tiny scale, with real child processes: both clients,
// failure injection, and the scale run; every episode written, none failed,
// every answer right.
func TestRunTiny(t *testing.T) {
	var log bytes.Buffer
	rep, err := Run(context.Background(), &Options{
		Worker:        testWorker(),
		Episodes:      30,
		Concurrency:   []int{4},
		Latency:       []time.Duration{0},
		FailureRate:   0.2,
		ScaleEpisodes: 20,
		ScaleBaseline: true,
		ScaleLatency:  500 * time.Millisecond, // long enough that all 20 are in flight at once on a loaded machine
		Dir:           t.TempDir(),
		Log:           &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("problems: %q", rep.Problems)
	}
	if len(rep.Comparisons) != 1 || len(rep.Failures) != 2 || rep.Scale == nil || rep.ScaleBaseline == nil {
		t.Fatalf("%d comparisons, %d failure runs, scale %v and %v; want 1, 2, two runs", len(rep.Comparisons), len(rep.Failures), rep.Scale, rep.ScaleBaseline)
	}
	c := rep.Comparisons[0]
	all := []Measurement{c.Retrain, c.Baseline, rep.Failures[0], rep.Failures[1], *rep.Scale, *rep.ScaleBaseline}
	for _, m := range all {
		o := m.Output
		if o.Lines != m.Episodes || o.Unique != m.Episodes || o.Failed != 0 || o.Correct != m.Episodes || o.BadTokens != 0 {
			t.Errorf("%s: output %+v for %d episodes", m.Label(), o, m.Episodes)
		}
		if m.CPUSeconds <= 0 || m.MaxRSSBytes <= 0 || m.EpisodesPerSecond <= 0 || m.CPUPer1000 <= 0 {
			t.Errorf("%s: not measured: %+v", m.Label(), m)
		}
		if m.ServerRequests < 2*m.Episodes {
			t.Errorf("%s: the server saw %d requests for %d two-turn episodes", m.Label(), m.ServerRequests, m.Episodes)
		}
	}
	if c.Retrain.Variant != Retrain || c.Baseline.Variant != Baseline || c.CPURatio <= 0 || c.RSSRatio <= 0 {
		t.Errorf("comparison %+v", c)
	}
	// With a fifth of the requests failing, both clients had to retry.
	for _, f := range rep.Failures {
		if f.ServerRequests <= 2*f.Episodes {
			t.Errorf("%s: %d requests for %d episodes: no failure was injected", f.Label(), f.ServerRequests, f.Episodes)
		}
	}
	for _, s := range []*Measurement{rep.Scale, rep.ScaleBaseline} {
		if s.ServerPeakConcurrent != s.Episodes {
			t.Errorf("%s: at most %d requests in flight, want all %d", s.Label(), s.ServerPeakConcurrent, s.Episodes)
		}
	}
	if rep.Scale.Variant != Retrain || rep.ScaleBaseline.Variant != Baseline {
		t.Errorf("scale runs of %s and %s", rep.Scale.Variant, rep.ScaleBaseline.Variant)
	}
	if got := strings.Count(log.String(), "\n"); got != 6 {
		t.Errorf("%d log lines, want one per run (6):\n%s", got, log.String())
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CPU s / 1000 ep", "retrain/baseline", "failure injection", "20 concurrent episodes (retrain", "20 concurrent episodes (baseline", "targets:", "[met ] failure injection"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestRunOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
		want string
	}{
		{"nil", nil, "Options.Worker is empty"},
		{"no worker", &Options{}, "Options.Worker is empty"},
		{"negative episodes", &Options{Worker: testWorker(), Episodes: -1}, "must be positive"},
		{"zero concurrency", &Options{Worker: testWorker(), Concurrency: []int{64, 0}}, "concurrency of 0"},
		{"negative latency", &Options{Worker: testWorker(), Latency: []time.Duration{-time.Second}}, "latency of -1s"},
		{"failure rate", &Options{Worker: testWorker(), FailureRate: 2}, "at most 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// A worker that fails is an error carrying its message.
func TestRunWorkerFails(t *testing.T) {
	_, err := Run(context.Background(), &Options{Worker: []string{testWorker()[0], workerArg, "--bogus"},
		Episodes: 2, Concurrency: []int{1}, Latency: []time.Duration{0}, FailureRate: -1, Skip10k: true})
	if err == nil || !strings.Contains(err.Error(), "worker") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("error %v, want the worker's failure", err)
	}
}

func TestMedian(t *testing.T) {
	ms := []Measurement{
		{Variant: Retrain, CPUSeconds: 3, CPUPer1000: 30, MaxRSSBytes: 300, EpisodesPerSecond: 10},
		{Variant: Retrain, CPUSeconds: 1, CPUPer1000: 10, MaxRSSBytes: 100, EpisodesPerSecond: 30},
		{Variant: Retrain, CPUSeconds: 2, CPUPer1000: 20, MaxRSSBytes: 900, EpisodesPerSecond: 20},
	}
	m := median(ms)
	if m.Runs != 3 || m.CPUSeconds != 2 || m.CPUPer1000 != 20 || m.MaxRSSBytes != 300 || m.EpisodesPerSecond != 20 {
		t.Errorf("median %+v", m)
	}
	if m := median(ms[:2]); m.CPUSeconds != 2 || m.MaxRSSBytes != 200 {
		t.Errorf("median of two %+v, want the means of the middle", m)
	}
}

func TestTargets(t *testing.T) {
	rep := &Report{
		Comparisons: []Comparison{
			{Concurrency: 64, CPURatio: 1.2, RSSRatio: 3},
			{Concurrency: 512, CPURatio: 1.6, RSSRatio: 1.5},
		},
		Scale:    &Measurement{Variant: Retrain, Episodes: 10000, MaxRSSBytes: 2 << 30},
		Failures: []Measurement{{Variant: Retrain, Episodes: 10, Output: Output{Lines: 10, Unique: 10, Correct: 10}}, {Variant: Baseline, Episodes: 10}},
	}
	var got []bool
	for _, tg := range targets(rep) {
		got = append(got, tg.Met)
	}
	// CPU at 64, CPU at 512, memory at 512 (not at 64), 10k memory, failures (retrain only).
	if diff := cmp.Diff([]bool{true, false, true, false, true}, got); diff != "" {
		t.Errorf("targets met (-want +got):\n%s", diff)
	}
}
