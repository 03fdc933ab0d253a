package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/reward/judge"
	"github.com/retrain-rl/retrain/rollout"
)

// maxScoreConcurrency bounds score --concurrency.
const maxScoreConcurrency = 1024

// judgeCacheDefault gives the judge reward a cache when neither its params
// nor $RETRAIN_JUDGE_CACHE name one: retrain/judge under the user's cache
// directory, so that scoring a file again (or after an interruption) asks
// the judge only about what it has not judged.
func judgeCacheDefault(name string, params map[string]any, s stdio) map[string]any {
	if name != judge.Name || os.Getenv(judge.EnvCache) != "" {
		return params
	}
	if _, ok := params["cache"]; ok {
		return params
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return params // no cache directory: no cache
	}
	out := map[string]any{"cache": filepath.Join(dir, "retrain", "judge")}
	for k, v := range params {
		out[k] = v
	}
	fmt.Fprintf(s.err, "judge verdicts are cached in %s (set params.cache or $%s to change it)\n", out["cache"], judge.EnvCache)
	return out
}

// resultOf is the result line of a score.
func resultOf(sc reward.Score) scoreResult {
	r := scoreResult{Score: sc.Value, Extracted: sc.Extracted, Detail: sc.Detail, Parts: sc.Parts}
	var failed []string
	for _, p := range sc.Parts {
		if p.Error != "" {
			failed = append(failed, p.Name+": "+p.Error)
		}
	}
	if len(failed) > 0 {
		r.Error = fmt.Sprintf("%d of %d criteria failed: %s", len(failed), len(sc.Parts), failed[0])
	}
	return r
}

// printParts prints a score's parts (a rubric's criteria), one a line.
func printParts(w io.Writer, parts []reward.Part) {
	for _, p := range parts {
		if p.Error != "" {
			fmt.Fprintf(w, "part %s (weight %.3g): failed: %s\n", p.Name, p.Weight, p.Error)
		} else {
			fmt.Fprintf(w, "part %s (weight %.3g): %g\n", p.Name, p.Weight, p.Value)
		}
	}
}

func isGroupFunc(f reward.Func) bool {
	_, ok := f.(reward.GroupFunc)
	return ok
}

// scoreUnit is what one worker scores: one row, or with a group reward the
// consecutive trajectory rows of one task.
type scoreUnit struct {
	seq     int
	numbers []int
	data    [][]byte
	results []scoreResult
}

// scoreFileConcurrent scores the rows of inPath as scoreFile does,
// concurrency units at a time, writing the results in row order as they
// are ready. With a [reward.GroupFunc], consecutive trajectories of the same
// task are scored together as a group.
func scoreFileConcurrent(ctx context.Context, f reward.Func, inPath, outPath string, concurrency int, s stdio) (err error) {
	r, w, closeFiles, err := openScoreFiles(inPath, outPath, s)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeFiles(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *scoreUnit)
	done := make(chan *scoreUnit)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for u := range todo {
				scoreUnitRows(ctx, f, u)
				select {
				case done <- u:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(todo)
		readErr <- readUnits(ctx, r, isGroupFunc(f), todo)
	}()
	go func() { wg.Wait(); close(done) }()

	var rows, failed int
	var sum float64
	var writeErr error
	pending := map[int]*scoreUnit{}
	next := 0
	for u := range done {
		pending[u.seq] = u
		for ; pending[next] != nil; next++ {
			u := pending[next]
			delete(pending, next)
			for i, res := range u.results {
				res.Row = u.numbers[i]
				rows++
				if res.Error != "" {
					failed++
				}
				sum += res.Score
				if writeErr == nil {
					if writeErr = enc.Encode(res); writeErr != nil {
						cancel()
					}
				}
			}
		}
		if writeErr == nil {
			writeErr = bw.Flush() // a result on disk is a result kept
		}
	}
	if err := <-readErr; err != nil {
		return fmt.Errorf("reading %s: %w", inPath, err)
	}
	if writeErr != nil {
		return writeErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mean := 0.0
	if rows > 0 {
		mean = sum / float64(rows)
	}
	fmt.Fprintf(s.err, "scored %d rows (%d errors), mean score %.4g\n", rows, failed, mean)
	return nil
}

// readUnits reads the rows of r into units sent to todo: with group set,
// consecutive trajectory rows of one task make one unit.
func readUnits(ctx context.Context, r io.Reader, group bool, todo chan<- *scoreUnit) error {
	var cur *scoreUnit
	var curTask string
	seq := 0
	send := func() bool {
		if cur == nil {
			return true
		}
		cur.seq = seq
		seq++
		select {
		case todo <- cur:
			cur = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for line, err := range rollout.ReadLines(r) {
		if err != nil {
			return err
		}
		data := append([]byte(nil), line.Data...)
		task, isTrajectory := trajectoryTask(data)
		if !group || !isTrajectory || cur == nil || task != curTask {
			if !send() {
				return nil
			}
			cur = &scoreUnit{}
		}
		curTask = task
		if !isTrajectory {
			curTask = "\x00" // a row that is not a trajectory groups with nothing
		}
		cur.numbers = append(cur.numbers, line.Number)
		cur.data = append(cur.data, data)
	}
	send()
	return nil
}

// trajectoryTask returns the task id of a trajectory row.
func trajectoryTask(data []byte) (string, bool) {
	var row struct {
		Turns json.RawMessage `json:"turns"`
		Task  struct {
			ID     string `json:"id"`
			Prompt string `json:"prompt"`
		} `json:"task"`
	}
	if json.Unmarshal(data, &row) != nil || row.Turns == nil {
		return "", false
	}
	return row.Task.ID + "\x00" + row.Task.Prompt, true
}

// scoreUnitRows scores u's rows: alone, or together when they are a group.
func scoreUnitRows(ctx context.Context, f reward.Func, u *scoreUnit) {
	u.results = make([]scoreResult, len(u.data))
	gf, ok := f.(reward.GroupFunc)
	if !ok || len(u.data) < 2 {
		for i, d := range u.data {
			u.results[i] = scoreRow(ctx, f, d)
		}
		return
	}
	samples := make([]reward.Sample, 0, len(u.data))
	var in []int
	for i, d := range u.data {
		t, err := rollout.DecodeTrajectory(d)
		if err != nil {
			u.results[i] = scoreResult{Error: "not a trajectory: " + err.Error()}
			continue
		}
		samples = append(samples, reward.RolloutSample(t, t.Dialect))
		in = append(in, i)
	}
	if len(samples) < 2 {
		for _, i := range in {
			u.results[i] = scoreRow(ctx, f, u.data[i])
		}
		return
	}
	scores, errs := gf.ScoreGroup(ctx, samples)
	for k, i := range in {
		if k >= len(scores) || k >= len(errs) {
			u.results[i] = scoreResult{Error: errors.New("the reward scored fewer samples than the group has").Error()}
			continue
		}
		if errs[k] != nil {
			u.results[i] = scoreResult{Error: errs[k].Error()}
			continue
		}
		u.results[i] = resultOf(scores[k])
	}
}
