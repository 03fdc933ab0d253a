package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// Defaults of [Options].
const (
	DefaultEpisodes      = 2000
	DefaultTokens        = 200
	DefaultFailureRate   = 0.05
	DefaultScaleEpisodes = 10_000
	DefaultScaleLatency  = 5 * time.Second
	// failureConcurrency is the concurrency of the failure-injection runs.
	failureConcurrency = 64
)

// Default lists of [Options].
var (
	DefaultConcurrency = []int{64, 512}
	DefaultLatency     = []time.Duration{0, 50 * time.Millisecond}
)

// Options configure [Run]. Worker is required; the zero value of every
// other field means its default.
type Options struct {
	// Worker is the command line that starts a worker (a process calling
	// [RunWorker] with its arguments): the program and its leading
	// arguments, e.g. {"/usr/local/bin/retrain", "bench"}. Run appends
	// "--worker VARIANT --url URL --episodes N --concurrency C --out FILE".
	Worker []string
	// Episodes is the number of episodes of each run (default 2000).
	Episodes int
	// Concurrency lists the concurrencies compared (default 64 and 512).
	Concurrency []int
	// Latency lists the latencies the server adds to each reply (default 0
	// and 50ms); each is run at each concurrency.
	Latency []time.Duration
	// Tokens is the number of tokens of each reply (default 200).
	Tokens int
	// Repeat runs each comparison this many times, alternating which client
	// goes first, and reports the medians (default 1).
	Repeat int
	// FailureRate is the fraction of requests that fail in the
	// failure-injection runs of both clients (default 0.05, at concurrency
	// 64); negative skips them.
	FailureRate float64
	// Skip10k skips the run of ScaleEpisodes concurrent episodes (retrain
	// only).
	Skip10k bool
	// ScaleBaseline runs the baseline at ScaleEpisodes too, for comparison.
	ScaleBaseline bool
	// ScaleEpisodes and ScaleLatency shape that run: all episodes at once,
	// replies delayed so that all are in flight together (defaults 10,000
	// and 5s: on a busy 2-core machine, sending 10,000 requests takes more
	// than 2s, and the first replies would come back before the last
	// requests left).
	ScaleEpisodes int
	ScaleLatency  time.Duration
	// Dir holds the workers' output files while they are checked; default a
	// temporary directory. The files are removed once checked.
	Dir string
	// Log, when set, gets a line as each run finishes.
	Log io.Writer
}

// Run measures both clients on every configuration, then, unless skipped,
// their behaviour under failure injection and retrain's memory with
// ScaleEpisodes concurrent episodes. The fake server runs in this process
// (a fresh one for each run); each client runs as a child process started
// with Options.Worker, whose CPU time and peak memory are read from the
// operating system when it exits. Every output file is checked: one line
// per episode, none failed, every answer right, every reply's tokens there.
//
// Run returns an error when a worker could not run or ctx ended. What the
// checks found wrong is in Report.Problems, and whether the speed and
// memory targets were met in Report.Targets.
func Run(ctx context.Context, opts *Options) (*Report, error) {
	o, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	soft, _, err := RaiseFileLimit()
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "retrain-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		o.Dir = dir
	}
	start := time.Now()
	rep := &Report{
		Started:  start.UTC().Truncate(time.Second),
		Episodes: o.Episodes,
		Tokens:   o.Tokens,
		Machine: Machine{
			CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
			FileLimit:  soft,
			LoadBefore: LoadAverage(),
		},
	}
	r := &runner{o: o, rep: rep}

	for _, lat := range o.Latency {
		for _, c := range o.Concurrency {
			cmp, err := r.compare(ctx, c, lat)
			if err != nil {
				return rep, err
			}
			rep.Comparisons = append(rep.Comparisons, cmp)
		}
	}
	if o.FailureRate > 0 {
		for _, v := range []string{Retrain, Baseline} {
			m, err := r.measure(ctx, v, run{episodes: o.Episodes, concurrency: failureConcurrency, failRate: o.FailureRate})
			if err != nil {
				return rep, err
			}
			rep.Failures = append(rep.Failures, m)
		}
	}
	if !o.Skip10k {
		scale := run{episodes: o.ScaleEpisodes, concurrency: o.ScaleEpisodes, latency: o.ScaleLatency}
		m, err := r.measure(ctx, Retrain, scale)
		if err != nil {
			return rep, err
		}
		rep.Scale = &m
		if o.ScaleBaseline {
			m, err := r.measure(ctx, Baseline, scale)
			if err != nil {
				return rep, err
			}
			rep.ScaleBaseline = &m
		}
	}
	rep.Machine.LoadAfter = LoadAverage()
	rep.WallSeconds = time.Since(start).Seconds()
	rep.Targets = targets(rep)
	return rep, nil
}

func withDefaults(opts *Options) (Options, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Worker) == 0 || o.Worker[0] == "" {
		return o, errors.New("bench: Options.Worker is empty: give the command line that starts a worker, e.g. {os.Executable(), \"bench\"}")
	}
	o.Worker = slices.Clone(o.Worker)
	if o.Episodes == 0 {
		o.Episodes = DefaultEpisodes
	}
	if o.Concurrency == nil {
		o.Concurrency = DefaultConcurrency
	}
	if o.Latency == nil {
		o.Latency = DefaultLatency
	}
	if o.Tokens == 0 {
		o.Tokens = DefaultTokens
	}
	if o.Repeat == 0 {
		o.Repeat = 1
	}
	if o.FailureRate == 0 {
		o.FailureRate = DefaultFailureRate
	}
	if o.ScaleEpisodes == 0 {
		o.ScaleEpisodes = DefaultScaleEpisodes
	}
	if o.ScaleLatency == 0 {
		o.ScaleLatency = DefaultScaleLatency
	}
	switch {
	case o.Episodes < 1, o.Tokens < 1, o.Repeat < 1, o.ScaleEpisodes < 1:
		return o, fmt.Errorf("bench: Episodes (%d), Tokens (%d), Repeat (%d) and ScaleEpisodes (%d) must be positive", o.Episodes, o.Tokens, o.Repeat, o.ScaleEpisodes)
	case o.FailureRate > 1:
		return o, fmt.Errorf("bench: FailureRate is %g; it is a fraction of the requests, at most 1", o.FailureRate)
	case o.ScaleLatency < 0:
		return o, fmt.Errorf("bench: ScaleLatency is %v; it must not be negative", o.ScaleLatency)
	}
	for _, c := range o.Concurrency {
		if c < 1 {
			return o, fmt.Errorf("bench: a concurrency of %d; each must be at least 1", c)
		}
	}
	for _, l := range o.Latency {
		if l < 0 {
			return o, fmt.Errorf("bench: a latency of %v; each must be zero or more", l)
		}
	}
	return o, nil
}

// runner runs the measurements of one Run.
type runner struct {
	o   Options
	rep *Report
	seq int
}

// run is the shape of one measurement.
type run struct {
	episodes, concurrency int
	latency               time.Duration
	failRate              float64
}

// compare measures both clients at one configuration, Repeat times each.
func (r *runner) compare(ctx context.Context, concurrency int, latency time.Duration) (Comparison, error) {
	c := Comparison{Concurrency: concurrency, LatencyMS: ms(latency)}
	var ret, base []Measurement
	for i := range r.o.Repeat {
		order := []string{Retrain, Baseline}
		if i%2 == 1 {
			order = []string{Baseline, Retrain}
		}
		for _, v := range order {
			m, err := r.measure(ctx, v, run{episodes: r.o.Episodes, concurrency: concurrency, latency: latency})
			if err != nil {
				return c, err
			}
			if v == Retrain {
				ret = append(ret, m)
			} else {
				base = append(base, m)
			}
		}
	}
	c.Retrain, c.Baseline = median(ret), median(base)
	c.CPURatio = ratio(c.Retrain.CPUPer1000, c.Baseline.CPUPer1000)
	c.RSSRatio = ratio(float64(c.Retrain.MaxRSSBytes), float64(c.Baseline.MaxRSSBytes))
	c.ThroughputRatio = ratio(c.Retrain.EpisodesPerSecond, c.Baseline.EpisodesPerSecond)
	return c, nil
}

// measure runs one worker against a fresh server and checks its output.
func (r *runner) measure(ctx context.Context, variant string, rn run) (Measurement, error) {
	m := Measurement{
		Variant: variant, Episodes: rn.episodes, Concurrency: rn.concurrency,
		LatencyMS: ms(rn.latency), FailureRate: rn.failRate, Runs: 1,
	}
	srv := openaitest.NewServer(ServerOptions(r.o.Tokens, rn.latency, rn.failRate))
	defer srv.Close()
	r.seq++
	out := filepath.Join(r.o.Dir, fmt.Sprintf("%s-%d.jsonl", variant, r.seq))
	defer os.Remove(out)

	args := append(slices.Clone(r.o.Worker[1:]), WorkerFlag, variant, "--url", srv.URL,
		"--episodes", strconv.Itoa(rn.episodes), "--concurrency", strconv.Itoa(rn.concurrency), "--out", out)
	cmd := exec.CommandContext(ctx, r.o.Worker[0], args...)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	started := time.Now()
	err := cmd.Run()
	m.ProcessSeconds = time.Since(started).Seconds()
	if ctx.Err() != nil {
		return m, fmt.Errorf("bench: %w", ctx.Err())
	}
	if err != nil {
		return m, fmt.Errorf("bench: the %s worker (%s) failed: %w\n%s", variant, strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	user, sys, rss := usage(cmd.ProcessState)
	m.UserSeconds, m.SysSeconds = user.Seconds(), sys.Seconds()
	m.CPUSeconds = m.UserSeconds + m.SysSeconds
	m.MaxRSSBytes = rss
	var res WorkerResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return m, fmt.Errorf("bench: the %s worker wrote no result (%v); its output: %.500s", variant, err, stdout.String()+stderr.String())
	}
	m.WallSeconds = res.WallSeconds
	if res.WallSeconds > 0 {
		m.EpisodesPerSecond = float64(res.Episodes) / res.WallSeconds
	}
	m.CPUPer1000 = m.CPUSeconds * 1000 / float64(rn.episodes)
	m.ServerRequests = srv.Requests()
	m.ServerPeakConcurrent = srv.MaxConcurrent()
	if m.Output, err = CheckOutput(out, r.o.Tokens); err != nil {
		return m, err
	}
	for _, p := range m.Output.Problems(rn.episodes) {
		r.rep.Problems = append(r.rep.Problems, m.Label()+": "+p)
	}
	if r.o.Log != nil {
		fmt.Fprintf(r.o.Log, "%-52s %6.2f s CPU  %6.0f episodes/s  %7.1f MiB peak RSS  %d/%d ok\n",
			m.Label(), m.CPUSeconds, m.EpisodesPerSecond, mib(m.MaxRSSBytes), m.Output.Lines-m.Output.Failed, rn.episodes)
	}
	return m, nil
}

// median returns ms[0] with its timing and memory fields replaced by the
// medians over ms.
func median(ms []Measurement) Measurement {
	m := ms[0]
	m.Runs = len(ms)
	if len(ms) == 1 {
		return m
	}
	med := func(f func(Measurement) float64) float64 {
		v := make([]float64, len(ms))
		for i := range ms {
			v[i] = f(ms[i])
		}
		slices.Sort(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	m.CPUSeconds = med(func(m Measurement) float64 { return m.CPUSeconds })
	m.UserSeconds = med(func(m Measurement) float64 { return m.UserSeconds })
	m.SysSeconds = med(func(m Measurement) float64 { return m.SysSeconds })
	m.CPUPer1000 = med(func(m Measurement) float64 { return m.CPUPer1000 })
	m.WallSeconds = med(func(m Measurement) float64 { return m.WallSeconds })
	m.ProcessSeconds = med(func(m Measurement) float64 { return m.ProcessSeconds })
	m.EpisodesPerSecond = med(func(m Measurement) float64 { return m.EpisodesPerSecond })
	m.MaxRSSBytes = int64(med(func(m Measurement) float64 { return float64(m.MaxRSSBytes) }))
	return m
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// LoadAverage reads the 1, 5 and 15 minute load averages (Linux), or nil.
func LoadAverage() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil
	}
	var out []float64
	for _, s := range f[:3] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
