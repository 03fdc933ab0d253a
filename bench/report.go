package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the comparison (issue 3): retrain's CPU time per episode at
// most 1.5 times the baseline's, its peak memory at most twice the
// baseline's at concurrency 512, and under 1 GiB with 10,000 concurrent
// episodes.
const (
	TargetCPURatio   = 1.5
	TargetRSSRatio   = 2.0
	TargetRSSAt512   = 512
	TargetScaleBytes = 1 << 30
)

// Report is the result of [Run]. It encodes to JSON as is.
type Report struct {
	// Started is when the run began (UTC); WallSeconds how long it took.
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	// Machine describes where it ran.
	Machine Machine `json:"machine"`
	// Episodes and Tokens are the workload: episodes per run, tokens per reply.
	Episodes int `json:"episodes"`
	Tokens   int `json:"tokens"`
	// Comparisons has one entry per concurrency and latency.
	Comparisons []Comparison `json:"comparisons"`
	// Failures has the failure-injection runs, one per client.
	Failures []Measurement `json:"failures,omitempty"`
	// Scale is the run of many concurrent episodes (retrain only).
	Scale *Measurement `json:"scale,omitempty"`
	// ScaleBaseline is the same run of the baseline, when asked for.
	ScaleBaseline *Measurement `json:"scale_baseline,omitempty"`
	// Targets says which targets were met.
	Targets []Target `json:"targets"`
	// Problems lists what the output checks found wrong: lost, failed or
	// wrong episodes. Empty when all is well.
	Problems []string `json:"problems,omitempty"`
}

// Machine describes the machine and its load.
type Machine struct {
	// CPUs, GOMAXPROCS, Go and OS describe the machine and the toolchain.
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	// FileLimit is the soft limit of open files after raising it.
	FileLimit uint64 `json:"file_limit"`
	// LoadBefore and LoadAfter are the 1, 5 and 15 minute load averages
	// (Linux only): other work on the machine makes timings noisy.
	LoadBefore []float64 `json:"load_before,omitempty"`
	LoadAfter  []float64 `json:"load_after,omitempty"`
}

// Measurement is one client's run (or the medians of several).
type Measurement struct {
	// Variant is Retrain or Baseline.
	Variant string `json:"variant"`
	// Episodes, Concurrency, LatencyMS and FailureRate are the run's shape.
	Episodes    int     `json:"episodes"`
	Concurrency int     `json:"concurrency"`
	LatencyMS   float64 `json:"latency_ms"`
	FailureRate float64 `json:"failure_rate,omitempty"`
	// Runs is the number of runs whose medians these are.
	Runs int `json:"runs"`
	// CPUSeconds is the worker process's CPU time, UserSeconds plus
	// SysSeconds; CPUPer1000 is that per 1,000 episodes.
	CPUSeconds  float64 `json:"cpu_seconds"`
	UserSeconds float64 `json:"user_seconds"`
	SysSeconds  float64 `json:"sys_seconds"`
	CPUPer1000  float64 `json:"cpu_seconds_per_1000_episodes"`
	// WallSeconds is the worker's own time for the episodes;
	// ProcessSeconds the child process's lifetime, start-up included.
	WallSeconds    float64 `json:"wall_seconds"`
	ProcessSeconds float64 `json:"process_seconds"`
	// EpisodesPerSecond is Episodes over WallSeconds.
	EpisodesPerSecond float64 `json:"episodes_per_second"`
	// MaxRSSBytes is the worker process's peak resident memory.
	MaxRSSBytes int64 `json:"max_rss_bytes"`
	// ServerRequests counts the chat requests the server received (failed
	// and retried ones included); ServerPeakConcurrent is the most it
	// handled at once.
	ServerRequests       int `json:"server_requests"`
	ServerPeakConcurrent int `json:"server_peak_concurrent"`
	// Output is what the worker's file held.
	Output Output `json:"output"`
}

// Label names the run, e.g. "retrain c=64 latency=50ms".
func (m *Measurement) Label() string {
	s := fmt.Sprintf("%s c=%d latency=%v", m.Variant, m.Concurrency, time.Duration(m.LatencyMS*float64(time.Millisecond)))
	if m.FailureRate > 0 {
		s += fmt.Sprintf(" failures=%g%%", 100*m.FailureRate)
	}
	if m.Episodes != DefaultEpisodes {
		s += fmt.Sprintf(" episodes=%d", m.Episodes)
	}
	return s
}

// Comparison sets the two clients side by side at one configuration.
type Comparison struct {
	// Concurrency and LatencyMS are the configuration.
	Concurrency int     `json:"concurrency"`
	LatencyMS   float64 `json:"latency_ms"`
	// Retrain and Baseline are the two clients' measurements.
	Retrain  Measurement `json:"retrain"`
	Baseline Measurement `json:"baseline"`
	// CPURatio, RSSRatio and ThroughputRatio are retrain's CPU time per
	// episode, peak memory and episodes per second over the baseline's.
	CPURatio        float64 `json:"cpu_ratio"`
	RSSRatio        float64 `json:"rss_ratio"`
	ThroughputRatio float64 `json:"throughput_ratio"`
}

// Target is one goal and whether the run met it.
type Target struct {
	// Name says what is measured, Want the goal, Got the result.
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// targets evaluates the goals on rep.
func targets(rep *Report) []Target {
	var ts []Target
	for _, c := range rep.Comparisons {
		cfg := fmt.Sprintf("c=%d latency=%v", c.Concurrency, time.Duration(c.LatencyMS*float64(time.Millisecond)))
		ts = append(ts, Target{
			Name: "CPU per episode, " + cfg,
			Want: fmt.Sprintf("≤ %g× baseline", TargetCPURatio),
			Got:  fmt.Sprintf("%.2f×", c.CPURatio),
			Met:  c.CPURatio <= TargetCPURatio,
		})
		if c.Concurrency == TargetRSSAt512 {
			ts = append(ts, Target{
				Name: "peak memory, " + cfg,
				Want: fmt.Sprintf("≤ %g× baseline", TargetRSSRatio),
				Got:  fmt.Sprintf("%.2f× (%.0f vs %.0f MiB)", c.RSSRatio, mib(c.Retrain.MaxRSSBytes), mib(c.Baseline.MaxRSSBytes)),
				Met:  c.RSSRatio <= TargetRSSRatio,
			})
		}
	}
	if s := rep.Scale; s != nil {
		ts = append(ts, Target{
			Name: fmt.Sprintf("peak memory, %d concurrent episodes", s.Episodes),
			Want: "< 1 GiB",
			Got:  fmt.Sprintf("%.0f MiB", mib(s.MaxRSSBytes)),
			Met:  s.MaxRSSBytes < TargetScaleBytes,
		})
	}
	for _, f := range rep.Failures {
		if f.Variant != Retrain {
			continue
		}
		ok := len(f.Output.Problems(f.Episodes)) == 0
		ts = append(ts, Target{
			Name: fmt.Sprintf("failure injection (%g%% of requests)", 100*f.FailureRate),
			Want: "no error, no lost trajectory",
			Got:  fmt.Sprintf("%d/%d written, %d failed", f.Output.Lines, f.Episodes, f.Output.Failed),
			Met:  ok,
		})
	}
	return ts
}

// WriteTable writes rep for people to read.
func (rep *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "retrain bench: calculator episodes of 2 turns, %d tokens a reply (log-probs and token ids), %d episodes a run\n", rep.Tokens, rep.Episodes)
	m := rep.Machine
	fmt.Fprintf(&b, "machine: %d CPUs (GOMAXPROCS %d), %s %s, open-file limit %d", m.CPUs, m.GOMAXPROCS, m.Go, m.OS, m.FileLimit)
	if m.LoadBefore != nil {
		fmt.Fprintf(&b, "; load average %s before, %s after", loads(m.LoadBefore), loads(m.LoadAfter))
	}
	fmt.Fprintf(&b, "\nworkers are child processes; the fake server runs in the parent and is not counted\n\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "concurrency\tlatency\tclient\tCPU s / 1000 ep\tepisodes/s\tpeak RSS\tlines ok\t")
	for _, c := range rep.Comparisons {
		lat := time.Duration(c.LatencyMS * float64(time.Millisecond)).String()
		for i, x := range []Measurement{c.Retrain, c.Baseline} {
			conc, l := fmt.Sprint(c.Concurrency), lat
			if i > 0 {
				conc, l = "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.0f\t%.1f MiB\t%d/%d\t\n", conc, l, x.Variant, x.CPUPer1000, x.EpisodesPerSecond, mib(x.MaxRSSBytes), x.Output.Lines-x.Output.Failed, x.Episodes)
		}
		fmt.Fprintf(tw, "\t\tretrain/baseline\t%.2f×\t%.2f×\t%.2f×\t\t\n", c.CPURatio, c.ThroughputRatio, c.RSSRatio)
	}
	tw.Flush()

	if len(rep.Failures) > 0 {
		fmt.Fprintf(&b, "\nfailure injection: %g%% of requests fail (500, 503 and 429 with Retry-After, malformed JSON, dropped connections), concurrency %d\n",
			100*rep.Failures[0].FailureRate, rep.Failures[0].Concurrency)
		for _, f := range rep.Failures {
			fmt.Fprintf(&b, "  %-8s %d/%d episodes written, %d failed, %d correct; %d requests for %d turns; %.2f s CPU, %.0f episodes/s\n",
				f.Variant, f.Output.Lines, f.Episodes, f.Output.Failed, f.Output.Correct, f.ServerRequests, 2*f.Episodes, f.CPUSeconds, f.EpisodesPerSecond)
		}
	}
	for _, s := range []*Measurement{rep.Scale, rep.ScaleBaseline} {
		if s == nil {
			continue
		}
		fmt.Fprintf(&b, "\n%d concurrent episodes (%s, %v latency a reply): peak RSS %.0f MiB, the server had %d requests in flight at once; %d/%d written, %d failed; %.1f s, %.1f s CPU",
			s.Episodes, s.Variant, time.Duration(s.LatencyMS*float64(time.Millisecond)), mib(s.MaxRSSBytes), s.ServerPeakConcurrent,
			s.Output.Lines, s.Episodes, s.Output.Failed, s.WallSeconds, s.CPUSeconds)
	}
	if rep.Scale != nil {
		b.WriteByte('\n')
	}
	WriteVerdict(&b, rep.Targets, rep.Problems, rep.WallSeconds)
	_, err := io.WriteString(w, b.String())
	return err
}

func loads(l []float64) string {
	if len(l) < 3 {
		return "?"
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2])
}

// WriteVerdict writes the end of a bench's table: each target met or
// missed, the problems found in the output, and how long the bench took.
func WriteVerdict(b *strings.Builder, targets []Target, problems []string, wallSeconds float64) {
	if len(targets) > 0 {
		fmt.Fprintln(b, "\ntargets:")
		for _, t := range targets {
			mark := "met "
			if !t.Met {
				mark = "MISS"
			}
			fmt.Fprintf(b, "  [%s] %s: want %s, got %s\n", mark, t.Name, t.Want, t.Got)
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(b, "\nPROBLEMS:")
		for _, p := range problems {
			fmt.Fprintf(b, "  %s\n", p)
		}
	}
	fmt.Fprintf(b, "\ntook %.0f s\n", wallSeconds)
}
