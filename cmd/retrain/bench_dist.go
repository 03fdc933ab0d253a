package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/retrain-rl/retrain/bench"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/sandbox"
)

// "retrain bench dist": distributed rollouts (docs/distributed.md) against
// in-process runs of the same work. The fake model server runs in this
// process; the in-process rollout, the coordinator (with its embedded NATS
// server) and each worker are child processes of the same binary, so that
// each one's CPU time is read from the operating system apart from the
// server's.

// Goals of the distributed benchmark (issue 15).
const (
	// distTargetOverhead: the coordinator and NATS add at most 10% CPU per
	// episode to an in-process run of the same work.
	distTargetOverhead = 0.10
	// distTargetGrowth: each step in worker processes raises episodes/s by
	// at least this factor, unless the machine's cores were already busy
	// (distTargetBusy of their time) at the smaller step.
	distTargetGrowth = 1.2
	distTargetBusy   = 0.85
)

// The workloads of "retrain bench dist".
const (
	// distCalculator: generated arithmetic tasks, the calculator tool, the
	// math_equal reward; an episode costs about 2 ms of CPU in-process.
	distCalculator = "calculator"
	// distCode: HumanEval problems in the code environment, answered with
	// their canonical solutions and tested in the bubblewrap sandbox (on the
	// workers when distributed); the environment's reward (1 when the tests
	// pass). Its defaults: distCodeN samples of every problem of the file,
	// distCodeConcurrency episodes at once per worker.
	distCode            = "code"
	distCodeN           = 2
	distCodeConcurrency = 2
)

// distDefaultData is where --workload code finds HumanEval when --data is
// not given: in the working directory or one of its parents (the
// repository's root, or a folder inside it).
const distDefaultData = "testdata/humaneval/HumanEval.jsonl"

// distBenchConfig is the workload of "retrain bench dist".
type distBenchConfig struct {
	bin         string // the retrain binary the children run
	workload    string // distCalculator or distCode
	data        string // distCode: the HumanEval file (absolute)
	problems    []humanEvalProblem
	tasks, n    int
	workers     []int
	perWorker   int // each worker's --concurrency
	latency     time.Duration
	tokens      int
	repeat      int
	dir         string
	log         io.Writer
	seed        int64
	rewardsPath string
}

// distMeasurement is one run: in-process (Workers 0) or distributed.
type distMeasurement struct {
	Mode        string `json:"mode"` // "in-process" or "distributed"
	Workers     int    `json:"workers"`
	Concurrency int    `json:"concurrency"` // in total
	Episodes    int    `json:"episodes"`
	Runs        int    `json:"runs"`
	// EpisodesPerSecond is Episodes over the model's busy time: from the
	// first request the fake server received to its last reply (process
	// start-up, the workers joining and the shutdown excluded, alike for
	// both modes). ProcessSeconds is the rollout (coordinator) process's
	// whole lifetime.
	EpisodesPerSecond float64 `json:"episodes_per_second"`
	ModelSeconds      float64 `json:"model_seconds"`
	ProcessSeconds    float64 `json:"process_seconds"`
	// CPUSeconds is the user+sys time of every measured process: the
	// rollout process (in-process), or the coordinator with its embedded
	// NATS server plus the workers. The fake server's is not counted.
	CPUSeconds            float64 `json:"cpu_seconds"`
	CoordinatorCPUSeconds float64 `json:"coordinator_cpu_seconds,omitempty"`
	WorkerCPUSeconds      float64 `json:"worker_cpu_seconds,omitempty"`
	CPUMsPerEpisode       float64 `json:"cpu_ms_per_episode"`
	// ServerCPUSeconds is the fake server's CPU (this process), and Busy
	// the share of the machine's cores that all of them used over the
	// process's lifetime.
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	Busy             float64 `json:"busy"`
	// Load1 is the 1-minute load average when the run started.
	Load1  float64      `json:"load1"`
	Output bench.Output `json:"output"`
}

// distComparison sets a distributed run beside the in-process run of the
// same total concurrency.
type distComparison struct {
	Workers     int             `json:"workers"`
	InProcess   distMeasurement `json:"in_process"`
	Distributed distMeasurement `json:"distributed"`
	// Overhead is (distributed − in-process CPU per episode) / in-process;
	// CoordinatorShare the coordinator's (and NATS's) CPU per episode over
	// the in-process run's.
	Overhead         float64 `json:"overhead"`
	CoordinatorShare float64 `json:"coordinator_share"`
}

// distReport is the result of "retrain bench dist".
type distReport struct {
	Started     time.Time     `json:"started"`
	WallSeconds float64       `json:"wall_seconds"`
	Machine     bench.Machine `json:"machine"`
	// Workload is "calculator" or "code"; Data the code workload's file.
	Workload    string           `json:"workload"`
	Data        string           `json:"data,omitempty"`
	Tasks       int              `json:"tasks"`
	N           int              `json:"n"`
	PerWorker   int              `json:"concurrency_per_worker"`
	LatencyMS   float64          `json:"latency_ms"`
	Tokens      int              `json:"tokens"`
	Comparisons []distComparison `json:"comparisons"`
	Targets     []bench.Target   `json:"targets"`
	Problems    []string         `json:"problems,omitempty"`
}

// benchDistCommand is "retrain bench dist", a mode of bench (not in the
// command table): its usage for --help.
var benchDistCommand = &command{
	name:    "bench dist",
	summary: "measure distributed rollouts (NATS, worker processes) against in-process runs of the same work",
	usage: "[flags]\n\n" +
		"Starts the fake OpenAI server (50 ms a reply) in this process; for each worker count k, runs\n" +
		"\"retrain rollout\" in-process at concurrency k × --concurrency, then the same rollout with\n" +
		"--nats embedded and k \"retrain worker\" processes of --concurrency each, all child processes whose\n" +
		"CPU time is read when they exit. Reports episodes/s, CPU per episode and the distributed overhead.\n" +
		"Exits 1 when an episode was lost or failed; missed targets are only reported.\n\n" +
		"Workloads (--workload):\n" +
		"  calculator  generated arithmetic tasks with the calculator tool, scored by math_equal (about 2 ms of\n" +
		"              CPU an episode: the distributed overhead at its largest)\n" +
		"  code        HumanEval problems (--data) in the code environment, the fake model answering each with\n" +
		"              its canonical solution, whose tests run in the bubblewrap sandbox (on the workers when\n" +
		"              distributed); the reward is the environment's (1 when the tests pass). Defaults: every\n" +
		"              problem of the file, --n 2, --concurrency 2. The measured processes run under a reaper\n" +
		"              of this binary that adopts the sandboxes' orphaned init processes, so that the tests'\n" +
		"              CPU is counted in the process that ran them.\n\n" +
		"Examples:\n" +
		"  retrain bench dist                           # 1, 2, 4 workers, 2000 episodes a run, 1-2 minutes\n" +
		"  retrain bench dist --repeat 3 --json > dist.json\n" +
		"  retrain bench dist --tasks 20 --n 2 --workers 1,2 --latency 0   # a quick look\n" +
		"  retrain bench dist --workload code           # from the repository; 328 sandboxed episodes a run, about 2 minutes\n" +
		"  retrain bench dist --workload code --data ~/HumanEval.jsonl      # from elsewhere",
}

func runBenchDist(ctx context.Context, args []string, s stdio) error {
	if len(args) > 0 && args[0] == distReaperFlag {
		return runReaper(ctx, args[1:]) // the hidden mode measured processes run under (bench_reaper.go)
	}
	fs := newFlagSet(benchDistCommand, s.err)
	workload := fs.String("workload", distCalculator, "the episodes: calculator or code (see above)")
	data := fs.String("data", "", "code workload: HumanEval `file` (default: "+distDefaultData+" in this directory or a parent)")
	tasks := fs.Int("tasks", 500, "tasks of each run: generated arithmetic tasks, or the code workload's first problems (default there: all)")
	n := fs.Int("n", 4, "samples per task (the group size); each run plays tasks × n episodes (code workload: 2)")
	workers := fs.String("workers", "1,2,4", "comma-separated `list` of worker process counts")
	perWorker := fs.Int("concurrency", 16, "episodes each worker plays at once; the in-process run plays workers × this at once (code workload: 2)")
	latency := fs.Duration("latency", 50*time.Millisecond, "latency the fake server adds to each reply")
	tokens := fs.Int("tokens", bench.DefaultTokens, "tokens of each reply, each with its log-probability and token id")
	repeat := fs.Int("repeat", 1, "runs of each measurement; the medians are reported")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	err := parseOnlyFlags(fs, args)
	switch {
	case err != nil:
		return err
	case *workload != distCalculator && *workload != distCode:
		return usageErrorf("--workload is %q; use %s or %s", *workload, distCalculator, distCode)
	case *data != "" && *workload != distCode:
		return usageErrorf("--data is for --workload %s", distCode)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var problems []humanEvalProblem
	if *workload == distCode {
		if *data, err = findHumanEval(*data); err != nil {
			return err
		}
		if problems, err = readHumanEval(*data); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
		switch {
		case !set["tasks"]:
			*tasks = len(problems)
		case *tasks > len(problems):
			return usageErrorf("--tasks is %d but %s holds %d problems", *tasks, *data, len(problems))
		}
		if !set["n"] {
			*n = distCodeN
		}
		if !set["concurrency"] {
			*perWorker = distCodeConcurrency
		}
	}
	switch {
	case *tasks < 1 || *n < 1:
		return usageErrorf("--tasks is %d and --n %d; both must be at least 1", *tasks, *n)
	case *perWorker < 1:
		return usageErrorf("--concurrency is %d; it must be at least 1", *perWorker)
	case *latency < 0:
		return usageErrorf("--latency is %v; it must not be negative", *latency)
	case *tokens < 1:
		return usageErrorf("--tokens is %d; it must be at least 1", *tokens)
	case *repeat < 1:
		return usageErrorf("--repeat is %d; it must be at least 1", *repeat)
	}
	ws, err := parseInts(*workers)
	if err != nil {
		return usageErrorf("--workers %q: %v; write e.g. 1,2,4", *workers, err)
	}
	if *workload == distCode {
		if _, err := sandbox.New(nil); err != nil { // here, before any process starts
			return fmt.Errorf("--workload code runs HumanEval's tests in the sandbox: %w", err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start the rollouts and workers: %w", err)
	}
	dir, err := os.MkdirTemp("", "retrain-bench-dist-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := &distBenchConfig{bin: exe, workload: *workload, data: *data, problems: problems, tasks: *tasks, n: *n, workers: ws, perWorker: *perWorker, latency: *latency,
		tokens: *tokens, repeat: *repeat, dir: dir, log: s.err, seed: 1}
	rep, err := benchDist(ctx, cfg)
	if err != nil {
		return err
	}
	return printBenchReport(s.out, *asJSON, rep, rep.writeTable, rep.Problems)
}

// findHumanEval returns the absolute path of the code workload's data:
// path when given, else distDefaultData in the working directory or the
// nearest parent that has it. A missing file is an error that says how to
// give one.
func findHumanEval(path string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", usageErrorf("--data: %v; give HumanEval's JSONL (the repository's %s)", err, distDefaultData)
		}
		return filepath.Abs(path)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, distDefaultData)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", usageErrorf("--workload code needs HumanEval: no %s in this directory or its parents; "+
				"run from the repository or give --data FILE (the repository's %s)", distDefaultData, distDefaultData)
		}
		dir = up
	}
}

// distRewards is each workload's rewards file: the calculator's answer
// scored by math_equal, or the code environment's own reward alone (1 when
// the tests pass); GRPO advantages over the group either way.
var distRewards = map[string]string{
	distCalculator: "rollout:\n  - name: correct\n    reward: math_equal\nadvantage: grpo\n",
	distCode:       "advantage: grpo\n",
}

// benchDist runs, for each worker count k, the in-process rollout at
// concurrency k × perWorker and the distributed one with k workers.
func benchDist(ctx context.Context, c *distBenchConfig) (*distReport, error) {
	if c.workload == "" {
		c.workload = distCalculator
	}
	c.rewardsPath = filepath.Join(c.dir, "rewards.yaml")
	if err := os.WriteFile(c.rewardsPath, []byte(distRewards[c.workload]), 0o644); err != nil {
		return nil, err
	}
	start := time.Now()
	soft, _, err := bench.RaiseFileLimit()
	if err != nil {
		return nil, err
	}
	rep := &distReport{
		Started: start.UTC().Truncate(time.Second), Workload: c.workload, Data: c.data, Tasks: c.tasks, N: c.n, PerWorker: c.perWorker,
		LatencyMS: float64(c.latency) / float64(time.Millisecond), Tokens: c.tokens,
		Machine: bench.Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
			OS: runtime.GOOS + "/" + runtime.GOARCH, FileLimit: soft, LoadBefore: bench.LoadAverage()},
	}
	seq := 0
	for _, k := range c.workers {
		var local, remote []distMeasurement
		for i := range c.repeat {
			order := []int{0, k}
			if i%2 == 1 {
				order = []int{k, 0}
			}
			for _, w := range order {
				seq++
				m, err := c.measure(ctx, w, k*c.perWorker, seq)
				if err != nil {
					return rep, err
				}
				for _, p := range c.outputProblems(m.Output) {
					rep.Problems = append(rep.Problems, m.label()+": "+p)
				}
				if w == 0 {
					local = append(local, m)
				} else {
					remote = append(remote, m)
				}
			}
		}
		cmp := distComparison{Workers: k, InProcess: distMedian(local), Distributed: distMedian(remote)}
		if in := cmp.InProcess.CPUMsPerEpisode; in > 0 {
			cmp.Overhead = (cmp.Distributed.CPUMsPerEpisode - in) / in
			cmp.CoordinatorShare = cmp.Distributed.CoordinatorCPUSeconds * 1000 / float64(cmp.Distributed.Episodes) / in
		}
		rep.Comparisons = append(rep.Comparisons, cmp)
	}
	rep.Machine.LoadAfter = bench.LoadAverage()
	rep.WallSeconds = time.Since(start).Seconds()
	rep.Targets = rep.targets()
	return rep, nil
}

// measure runs the work once: in-process when workers is 0, else through an
// embedded NATS server with that many worker processes.
func (c *distBenchConfig) measure(ctx context.Context, workers, concurrency, seq int) (distMeasurement, error) {
	episodes := c.tasks * c.n
	m := distMeasurement{Mode: "in-process", Workers: workers, Concurrency: concurrency, Episodes: episodes, Runs: 1}
	if workers > 0 {
		m.Mode = "distributed"
	}
	if l := bench.LoadAverage(); len(l) > 0 {
		m.Load1 = l[0]
	}
	// A fresh fake server; its responder notes when requests arrive, so
	// that episodes/s counts the time the model was in use. With workers
	// it answers nothing until every worker is connected (or a minute has
	// passed, or ctx ends): else one worker could play a short run alone
	// and another find the coordinator's server gone.
	opts := bench.ServerOptions(c.tokens, c.latency, 0)
	var mu sync.Mutex
	var first, last time.Time
	ready := make(chan struct{})
	var openGate sync.Once
	open := func() { openGate.Do(func() { close(ready) }) }
	if workers == 0 {
		open()
	}
	gate := time.AfterFunc(time.Minute, open)
	defer gate.Stop()
	defer open()
	if c.workload == distCode {
		opts.Responder = canonicalResponder(c.problems)
	}
	respond := opts.Responder
	opts.Responder = func(req *openaitest.ChatRequest) openaitest.Reply {
		select {
		case <-ready:
		case <-ctx.Done():
		}
		now := time.Now()
		mu.Lock()
		if first.IsZero() {
			first = now
		}
		last = now
		mu.Unlock()
		return respond(req)
	}
	srv := openaitest.NewServer(opts)
	defer srv.Close()

	out := filepath.Join(c.dir, fmt.Sprintf("%s-%d.jsonl", strings.ReplaceAll(m.Mode, "-", ""), seq))
	defer os.Remove(out)
	args := []string{"rollout", "--model", srv.URL, "--tasks", strconv.Itoa(c.tasks), "--n", strconv.Itoa(c.n),
		"--seed", strconv.FormatInt(c.seed, 10), "--concurrency", strconv.Itoa(concurrency), "--token-ids",
		"--rewards", c.rewardsPath, "--quiet", "--overwrite", "--out", out}
	if c.workload == distCode {
		args = append(args, "--env", "code", "--data", c.data, "--limit", strconv.Itoa(c.tasks))
	}
	if workers > 0 {
		args = append(args, "--nats", natsEmbedded, "--run-id", "bench")
	}
	serverBefore := selfCPU()
	coord := c.command(ctx, args...)
	banner := &bannerWriter{url: make(chan string, 1)}
	coord.Stderr = banner
	coord.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // none left behind if we die
	started := time.Now()
	if err := coord.Start(); err != nil {
		return m, fmt.Errorf("bench dist: start %s: %w", c.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- coord.Wait() }()

	var ws []*exec.Cmd
	workerErr := make([]*tailWriter, 0, workers)
	stopWorkers := func() {
		for _, w := range ws {
			w.Process.Signal(os.Interrupt)
		}
		for _, w := range ws {
			w.Wait()
		}
	}
	var err error
	if workers > 0 {
		var url string
		select {
		case url = <-banner.url:
		case err = <-exited:
			return m, fmt.Errorf("bench dist: the coordinator ended before its NATS server started (%v):\n%s", err, banner.tail())
		case <-ctx.Done():
			<-exited
			return m, ctx.Err()
		}
		var joined atomic.Int32
		for range workers {
			w := c.command(ctx, "worker", "--nats", url, "--run-id", "bench", "--concurrency", strconv.Itoa(c.perWorker))
			tw := &tailWriter{max: 4 << 10, onJoin: func() {
				if int(joined.Add(1)) == workers {
					open()
				}
			}}
			w.Stderr = tw
			w.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := w.Start(); err != nil {
				coord.Process.Kill()
				<-exited
				stopWorkers()
				return m, fmt.Errorf("bench dist: start a worker: %w", err)
			}
			ws = append(ws, w)
			workerErr = append(workerErr, tw)
		}
	}
	err = <-exited
	m.ProcessSeconds = time.Since(started).Seconds()
	stopWorkers()
	if err != nil {
		return m, fmt.Errorf("bench dist: %s failed: %w\n%s", strings.Join(coord.Args, " "), err, banner.tail())
	}
	m.ServerCPUSeconds = (selfCPU() - serverBefore).Seconds()
	m.CoordinatorCPUSeconds = processCPU(coord.ProcessState).Seconds()
	for i, w := range ws {
		if !w.ProcessState.Success() {
			return m, fmt.Errorf("bench dist: a worker ended with %v:\n%s", w.ProcessState, workerErr[i].String())
		}
		m.WorkerCPUSeconds += processCPU(w.ProcessState).Seconds()
	}
	m.CPUSeconds = m.CoordinatorCPUSeconds + m.WorkerCPUSeconds
	if workers == 0 {
		m.CoordinatorCPUSeconds = 0
	}
	m.CPUMsPerEpisode = m.CPUSeconds * 1000 / float64(episodes)
	if !first.IsZero() {
		m.ModelSeconds = (last.Sub(first) + c.latency).Seconds()
		m.EpisodesPerSecond = float64(episodes) / m.ModelSeconds
	}
	if m.ProcessSeconds > 0 {
		m.Busy = (m.CPUSeconds + m.ServerCPUSeconds) / m.ProcessSeconds / float64(runtime.NumCPU())
	}
	if m.Output, err = c.checkOutput(out); err != nil {
		return m, err
	}
	if c.log != nil {
		fmt.Fprintf(c.log, "%-34s %6.0f episodes/s  %5.2f ms CPU/episode  (coordinator %.2f s, workers %.2f s, server %.2f s CPU; load %.2f)\n",
			m.label(), m.EpisodesPerSecond, m.CPUMsPerEpisode, m.CoordinatorCPUSeconds, m.WorkerCPUSeconds, m.ServerCPUSeconds, m.Load1)
	}
	return m, nil
}

// command returns the command running the retrain binary with args: under
// the reaper (bench_reaper.go) for the code workload, whose sandboxes'
// CPU a plain child's rusage misses.
func (c *distBenchConfig) command(ctx context.Context, args ...string) *exec.Cmd {
	if c.workload == distCode {
		args = append([]string{"bench", "dist", distReaperFlag, c.bin}, args...)
	}
	return exec.CommandContext(ctx, c.bin, args...)
}

// checkOutput counts what the run's output holds; for the code workload,
// Correct counts the episodes that passed their tests: the last turn's info
// says so and the reward is 1, with an advantage.
func (c *distBenchConfig) checkOutput(path string) (bench.Output, error) {
	o, err := bench.CheckOutput(path, c.tokens)
	if err != nil || c.workload != distCode {
		return o, err
	}
	o.Correct, err = countPassed(path)
	return o, err
}

// outputProblems lists what is wrong with a run's output (bench.Output's
// Problems, in the code workload's words for the episodes that failed their
// tests).
func (c *distBenchConfig) outputProblems(o bench.Output) []string {
	if c.workload != distCode {
		return o.Problems(c.tasks * c.n)
	}
	ok := o.Lines - o.Failed
	wrong := ok - o.Correct
	o.Correct = ok
	p := o.Problems(c.tasks * c.n)
	if wrong != 0 {
		p = append(p, fmt.Sprintf("%d of %d successful episodes did not pass their tests with reward 1", wrong, ok))
	}
	return p
}

// countPassed counts the lines of a code rollout's output whose episode
// passed its tests: no error, the last turn's info "passed", the total
// reward 1 and an advantage.
func countPassed(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	passed := 0
	for {
		var l struct {
			Error string `json:"error"`
			Turns []struct {
				Info struct {
					Passed bool `json:"passed"`
				} `json:"info"`
			} `json:"turns"`
			Rewards *struct {
				Total     float64  `json:"total"`
				Advantage *float64 `json:"advantage"`
			} `json:"rewards"`
		}
		err := dec.Decode(&l)
		if errors.Is(err, io.EOF) {
			return passed, nil
		}
		if err != nil {
			return passed, fmt.Errorf("bench dist: check %s: %w", path, err)
		}
		if l.Error == "" && len(l.Turns) > 0 && l.Turns[len(l.Turns)-1].Info.Passed &&
			l.Rewards != nil && l.Rewards.Total == 1 && l.Rewards.Advantage != nil {
			passed++
		}
	}
}

func (m *distMeasurement) label() string {
	if m.Workers == 0 {
		return fmt.Sprintf("in-process c=%d", m.Concurrency)
	}
	return fmt.Sprintf("distributed %d worker(s) c=%d", m.Workers, m.Concurrency)
}

// distMedian returns ms[0] with its measured fields replaced by the
// medians over ms.
func distMedian(ms []distMeasurement) distMeasurement {
	m := ms[0]
	m.Runs = len(ms)
	med := func(f func(*distMeasurement) *float64) {
		v := make([]float64, len(ms))
		for i := range ms {
			v[i] = *f(&ms[i])
		}
		slices.Sort(v)
		x := v[len(v)/2]
		if len(v)%2 == 0 {
			x = (v[len(v)/2-1] + x) / 2
		}
		*f(&m) = x
	}
	for _, f := range []func(*distMeasurement) *float64{
		func(m *distMeasurement) *float64 { return &m.EpisodesPerSecond },
		func(m *distMeasurement) *float64 { return &m.ModelSeconds },
		func(m *distMeasurement) *float64 { return &m.ProcessSeconds },
		func(m *distMeasurement) *float64 { return &m.CPUSeconds },
		func(m *distMeasurement) *float64 { return &m.CoordinatorCPUSeconds },
		func(m *distMeasurement) *float64 { return &m.WorkerCPUSeconds },
		func(m *distMeasurement) *float64 { return &m.CPUMsPerEpisode },
		func(m *distMeasurement) *float64 { return &m.ServerCPUSeconds },
		func(m *distMeasurement) *float64 { return &m.Busy },
		func(m *distMeasurement) *float64 { return &m.Load1 },
	} {
		med(f)
	}
	return m
}

// targets judges rep against the goals: throughput grows with the workers
// until the cores are busy; the overhead is at most distTargetOverhead.
func (rep *distReport) targets() []bench.Target {
	var ts []bench.Target
	for i, c := range rep.Comparisons {
		ts = append(ts, bench.Target{
			Name: fmt.Sprintf("CPU per episode, %d worker(s) against in-process", c.Workers),
			Want: fmt.Sprintf("≤ +%.0f%%", 100*distTargetOverhead),
			Got:  fmt.Sprintf("%+.1f%% (%.2f vs %.2f ms; coordinator and NATS %.1f%%)", 100*c.Overhead, c.Distributed.CPUMsPerEpisode, c.InProcess.CPUMsPerEpisode, 100*c.CoordinatorShare),
			Met:  c.Overhead <= distTargetOverhead,
		})
		if i == 0 {
			continue
		}
		prev := rep.Comparisons[i-1]
		growth := 0.0
		if prev.Distributed.EpisodesPerSecond > 0 {
			growth = c.Distributed.EpisodesPerSecond / prev.Distributed.EpisodesPerSecond
		}
		ts = append(ts, bench.Target{
			Name: fmt.Sprintf("episodes/s from %d to %d workers", prev.Workers, c.Workers),
			Want: fmt.Sprintf("≥ %.1f× unless the cores were ≥ %.0f%% busy with %d", distTargetGrowth, 100*distTargetBusy, prev.Workers),
			Got:  fmt.Sprintf("%.2f× (%.0f → %.0f; cores %.0f%% busy with %d)", growth, prev.Distributed.EpisodesPerSecond, c.Distributed.EpisodesPerSecond, 100*prev.Distributed.Busy, prev.Workers),
			Met:  growth >= distTargetGrowth || prev.Distributed.Busy >= distTargetBusy,
		})
	}
	return ts
}

// writeTable writes rep for people to read.
func (rep *distReport) writeTable(w io.Writer) error {
	var b strings.Builder
	what := "calculator episodes"
	if rep.Workload == distCode {
		what = "code episodes (HumanEval, tests in the sandbox)"
	}
	fmt.Fprintf(&b, "retrain bench dist: %d tasks × %d samples = %d %s a run, %d tokens a reply (log-probs and token ids), %v latency a reply, %d episodes at once per worker\n",
		rep.Tasks, rep.N, rep.Tasks*rep.N, what, rep.Tokens, time.Duration(rep.LatencyMS*float64(time.Millisecond)), rep.PerWorker)
	m := rep.Machine
	fmt.Fprintf(&b, "machine: %d CPUs, %s %s; load average %s before, %s after\n", m.CPUs, m.Go, m.OS, loadStr(m.LoadBefore), loadStr(m.LoadAfter))
	fmt.Fprintf(&b, "CPU: user+sys of the rollout process, or of the coordinator (with its embedded NATS server) and the workers; the fake server (this process) is not counted\n")
	if rep.Workload == distCode {
		fmt.Fprintf(&b, "     each process with its sandboxes' tests (run under a reaper that adopts their orphans)\n")
	}
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workers\tconcurrency\tmode\tepisodes/s\tCPU ms/episode\tcoordinator\tworkers\tserver CPU\tcores busy\tload\tlines ok\t")
	for _, c := range rep.Comparisons {
		for _, x := range []distMeasurement{c.InProcess, c.Distributed} {
			coord, wk := "", ""
			if x.Workers > 0 {
				coord = fmt.Sprintf("%.2f s", x.CoordinatorCPUSeconds)
				wk = fmt.Sprintf("%.2f s", x.WorkerCPUSeconds)
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%.0f\t%.3f\t%s\t%s\t%.2f s\t%.0f%%\t%.2f\t%d/%d\t\n", c.Workers, x.Concurrency, x.Mode, x.EpisodesPerSecond,
				x.CPUMsPerEpisode, coord, wk, x.ServerCPUSeconds, 100*x.Busy, x.Load1, x.Output.Lines-x.Output.Failed, x.Episodes)
		}
		fmt.Fprintf(tw, "\t\toverhead\t%.2f×\t%+.1f%%\t%.1f%%\t\t\t\t\t\t\n", ratioOf(c.Distributed.EpisodesPerSecond, c.InProcess.EpisodesPerSecond), 100*c.Overhead, 100*c.CoordinatorShare)
	}
	tw.Flush()
	bench.WriteVerdict(&b, rep.Targets, rep.Problems, rep.WallSeconds)
	_, err := io.WriteString(w, b.String())
	return err
}

func ratioOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func loadStr(l []float64) string {
	if len(l) < 3 {
		return "?"
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2])
}

// selfCPU is this process's user+sys time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is an exited child's user+sys time.
func processCPU(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}

// bannerURL finds the embedded NATS server's URL in the coordinator's
// stderr (runDistributed's first line).
var bannerURL = regexp.MustCompile(`embedded NATS server on (nats://\S+) `)

// bannerWriter keeps the tail of the coordinator's stderr and sends the
// embedded server's URL on url once it is printed.
type bannerWriter struct {
	url  chan string
	mu   sync.Mutex
	line []byte
	sent bool
	t    tailWriter
}

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t.max == 0 {
		w.t.max = 8 << 10
	}
	w.t.Write(p)
	if w.sent {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		if m := bannerURL.FindSubmatch(w.line[:i]); m != nil {
			w.url <- string(m[1])
			w.sent, w.line = true, nil
			break
		}
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

func (w *bannerWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t.String()
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	b   []byte
	// onJoin, when set, is called once, when the worker says it waits for
	// episodes (it is connected).
	onJoin func()
	joined bool
}

// workerJoined is the start of the line a worker prints once connected.
const workerJoined = "worker: waiting for the episodes"

func (t *tailWriter) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if t.onJoin != nil && !t.joined && bytes.Contains(t.b, []byte(workerJoined)) {
		t.joined = true
		t.onJoin()
	}
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return strings.TrimSpace(string(t.b)) }
