package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/bench"
)

func init() {
	benchCommand.run = runBench // set here: runBench refers to benchCommand
	register(benchCommand)
}

var benchCommand = &command{
	name:    "bench",
	summary: "measure rollout CPU, throughput and memory against a plain net/http baseline on the fake server",
	usage: "[flags]  |  retrain bench dist [flags]\n\n" +
		"Runs calculator episodes against the in-process fake OpenAI server, with retrain's packages and with a\n" +
		"minimal net/http + encoding/json client, each in a child process whose CPU time and peak memory are\n" +
		"measured; then both under failure injection, and retrain with 10,000 concurrent episodes.\n" +
		"Exits 1 when an episode was lost or failed; missed speed targets are only reported.\n\n" +
		"\"retrain bench dist\" instead runs distributed rollouts (--nats embedded, 1, 2 and 4 worker processes)\n" +
		"against in-process runs of the same work: episodes/s and CPU per episode (see docs/distributed.md;\n" +
		"\"retrain bench dist --help\" lists its flags).\n\n" +
		"Examples:\n" +
		"  retrain bench                                   # the default run, a few minutes\n" +
		"  retrain bench --episodes 500 --concurrency 64 --latency 0 --skip-10k --failures 0\n" +
		"  retrain bench --repeat 3 --json > bench.json\n" +
		"  retrain bench dist                              # distributed against in-process, 1-2 minutes",
}

func runBench(ctx context.Context, args []string, s stdio) error {
	if len(args) > 0 && (args[0] == bench.WorkerFlag || strings.HasPrefix(args[0], bench.WorkerFlag+"=")) {
		return bench.RunWorker(ctx, args, s.out) // the hidden child mode, started by bench.Run
	}
	if len(args) > 0 && args[0] == "dist" {
		return runBenchDist(ctx, args[1:], s) // distributed rollouts against in-process ones (bench_dist.go)
	}
	fs := newFlagSet(benchCommand, s.err)
	episodes := fs.Int("episodes", bench.DefaultEpisodes, "episodes of each run")
	concurrency := fs.String("concurrency", "64,512", "comma-separated `list` of concurrencies to compare")
	latency := fs.String("latency", "0,50ms", "comma-separated `list` of latencies the server adds to each reply")
	tokens := fs.Int("tokens", bench.DefaultTokens, "tokens of each reply, each with its log-probability and token id")
	failures := fs.Float64("failures", bench.DefaultFailureRate, "`fraction` of requests that fail in the failure-injection runs (0 skips them)")
	skip10k := fs.Bool("skip-10k", false, "skip the run of 10,000 concurrent episodes")
	scaleBaseline := fs.Bool("scale-baseline", false, "also run the baseline with 10,000 concurrent episodes, for comparison")
	repeat := fs.Int("repeat", 1, "runs of each comparison; the medians are reported")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	err := parseOnlyFlags(fs, args)
	if err != nil {
		return err
	}
	opts := &bench.Options{Episodes: *episodes, Tokens: *tokens, Repeat: *repeat, Skip10k: *skip10k, ScaleBaseline: *scaleBaseline, Log: s.err}
	switch {
	case *episodes < 1:
		return usageErrorf("--episodes is %d; it must be at least 1", *episodes)
	case *tokens < 1:
		return usageErrorf("--tokens is %d; it must be at least 1", *tokens)
	case *repeat < 1:
		return usageErrorf("--repeat is %d; it must be at least 1", *repeat)
	case *failures < 0 || *failures > 1:
		return usageErrorf("--failures is %g; it is a fraction of the requests, from 0 (skip) to 1", *failures)
	}
	opts.FailureRate = *failures
	if *failures == 0 {
		opts.FailureRate = -1
	}
	if opts.Concurrency, err = parseInts(*concurrency); err != nil {
		return usageErrorf("--concurrency %q: %v; write e.g. 64,512", *concurrency, err)
	}
	if opts.Latency, err = parseDurations(*latency); err != nil {
		return usageErrorf("--latency %q: %v; write e.g. 0,50ms", *latency, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start the workers: %w", err)
	}
	opts.Worker = []string{exe, "bench"}

	rep, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}
	return printBenchReport(s.out, *asJSON, rep, rep.WriteTable, rep.Problems)
}

// printBenchReport prints a bench's report as indented JSON or as its
// table, and fails when the bench found problems with the episodes written
// (targets missed are only reported).
func printBenchReport(out io.Writer, asJSON bool, rep any, writeTable func(io.Writer) error, problems []string) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := writeTable(out); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems with the episodes written: %s", len(problems), strings.Join(problems, "; "))
	}
	return nil
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", strings.TrimSpace(f))
		}
		out = append(out, n)
	}
	return out, nil
}

// parseDurations parses a comma-separated list of durations; a bare 0 is
// accepted.
func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q is not a duration like 50ms", f)
		}
		out = append(out, d)
	}
	return out, nil
}
