// Command trainlocal trains the built-in local model from scratch on
// episodes of the calculator environment and writes its weights file, or
// evaluates a weights file. It runs on one core; see model/local/TRAINING.md
// for the command that made the shipped weights.
//
//	GOMAXPROCS=1 go run ./cmd/trainlocal -out model/local/weights/calculator.bin
//	go run ./cmd/trainlocal -eval model/local/weights/calculator.bin -tasks 200 -seed 999
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/train"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "trainlocal:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("trainlocal", flag.ContinueOnError)
	o := train.Options{Config: train.DefaultConfig, Log: os.Stderr}
	out := fs.String("out", "", "write the trained weights to this `file`")
	evalPath := fs.String("eval", "", "evaluate this weights `file` (\"builtin\": the embedded weights) instead of training")
	tasks := fs.Int("tasks", 200, "with -eval: how many tasks (rollout.ArithmeticTasks)")
	seed := fs.Int64("seed", 999, "with -eval: the tasks' and the sampling's seed")
	fs.IntVar(&o.Config.Dim, "dim", o.Config.Dim, "width of the residual stream")
	fs.IntVar(&o.Config.Layers, "layers", o.Config.Layers, "transformer blocks")
	fs.IntVar(&o.Config.Heads, "heads", o.Config.Heads, "attention heads")
	fs.IntVar(&o.Config.Hidden, "hidden", o.Config.Hidden, "MLP width")
	fs.IntVar(&o.Steps, "steps", 800, "optimizer steps")
	fs.IntVar(&o.BatchSize, "batch", 32, "episodes per step")
	fs.Float64Var(&o.LearningRate, "lr", 3e-3, "peak learning rate")
	fs.IntVar(&o.Warmup, "warmup", 100, "warmup steps")
	fs.Float64Var(&o.GuessRate, "guess-rate", 0.25, "share of episodes answered without the calculator")
	fs.Int64Var(&o.Seed, "train-seed", 1, "seed of the initialisation and the data")
	fs.IntVar(&o.EvalEvery, "eval-every", 200, "steps between quick evaluations (-1: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *evalPath != "" {
		return evaluate(ctx, *evalPath, *tasks, *seed)
	}
	if *out == "" {
		return fmt.Errorf("-out is required: the weights file to write (e.g. model/local/weights/calculator.bin)")
	}
	res, err := train.Train(ctx, &o)
	if err != nil {
		return err
	}
	notes := map[string]any{
		"command":    "GOMAXPROCS=" + fmt.Sprint(runtime.GOMAXPROCS(0)) + " go run ./cmd/trainlocal " + strings.Join(args, " "),
		"steps":      o.Steps,
		"batch":      o.BatchSize,
		"episodes":   res.Episodes,
		"tokens":     res.Tokens,
		"seconds":    res.Duration.Round(time.Second).Seconds(),
		"final_loss": res.Curve[len(res.Curve)-1].Loss,
		"guess_rate": o.GuessRate,
		"data":       "episodes of the calculator environment (rollout.ArithmeticTasks, seeds from 1000003 on, held-out seeds 1 and 999 excluded) played by a scripted solver",
	}
	var buf bytes.Buffer
	if err := local.EncodeWeights(&buf, res.Weights, notes); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	curve, _ := json.Marshal(res.Curve)
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes, %d parameters) after %s\nloss curve: %s\n", *out, buf.Len(), res.Weights.Params(), res.Duration.Round(time.Second), curve)
	return nil
}

func evaluate(ctx context.Context, path string, n int, seed int64) error {
	var opts local.Options
	if path != "builtin" {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		opts.Weights = b
	}
	m, err := local.New(&opts)
	if err != nil {
		return err
	}
	tasks := rollout.ArithmeticTasks(n, seed)
	for _, temp := range []float64{0, 1} {
		start := time.Now()
		r, err := train.Evaluate(ctx, m, tasks, model.Sampling{Temperature: &temp}, seed, 0)
		if err != nil {
			return err
		}
		fmt.Printf("temperature %g: %v (%s)\n", temp, r, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
