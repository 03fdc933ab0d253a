package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/model/local"
	rl "github.com/retrain-rl/retrain/train/grpo"
)

func init() {
	trainCommand.run = runTrain // set here: runTrain refers to trainCommand
	register(trainCommand)
}

var trainCommand = &command{
	name:    "train",
	summary: "train the built-in local model with GRPO on the calculator environment, in pure Go, and write its weights",
	usage: "[--model local[:FILE]] [--steps N] [--tasks N] [--n N] [--lr X] [--clip X] [--kl-coef X] [--seed N] [--out FILE] [--metrics FILE]\n\n" +
		"Each step plays --n episodes of each of --tasks new generated arithmetic tasks (the held-out tasks of\n" +
		"seeds 1 and 999 are never trained on) with the current policy, rewards them as \"retrain eval\" does\n" +
		"(correct: math_equal of the final answer; format: the share of turns parsed), turns the episodes into\n" +
		"training sequences (the token view of \"retrain export --view tokens\") and\n" +
		"takes --updates AdamW steps of the PPO-clip loss with GRPO advantages; groups whose episodes all\n" +
		"got the same reward are skipped. Progress goes to stderr, a line per step; metrics go to --metrics\n" +
		"(JSON Lines: a \"step\" line per step, an \"eval\" line before and after); the held-out accuracy at\n" +
		"temperature 1 is measured before and after, as \"retrain eval\" measures it. See docs/training.md.\n\n" +
		"Examples:\n" +
		"  retrain train                                   # about 3 minutes on 2 cores; writes trained.bin\n" +
		"  retrain eval --model local:trained.bin --tasks 200 --n 4 --temperature 1 --seed 999\n" +
		"  retrain train --model local:trained.bin --steps 10 --out more.bin   # continue from a checkpoint",
}

// trainFlagOf names the flag of each field of grpo.Options that one sets, for
// grpo's validation errors.
var trainFlagOf = map[string]string{
	"Steps": "steps", "TasksPerStep": "tasks", "SamplesPerTask": "n", "LearningRate": "lr",
	"ClipRange": "clip", "KLCoef": "kl-coef", "Updates": "updates", "MaxGradNorm": "max-grad-norm",
	"WeightDecay": "weight-decay", "MaxEpisodeTokens": "max-episode-tokens", "MaxTurns": "max-turns",
	"Temperature": "temperature", "Seed": "seed", "EvalTasks": "eval-tasks", "EvalSamples": "eval-n",
	"Concurrency": "concurrency",
}

func runTrain(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(trainCommand, s.err)
	var o rl.Options
	modelFlag := fs.String("model", "local", "the starting weights: \"local\" (the built-in model) or local:FILE (a weights file, e.g. a checkpoint of an earlier run)")
	fs.IntVar(&o.Steps, "steps", rl.DefaultSteps, "training steps (each: rollouts, then updates)")
	fs.IntVar(&o.TasksPerStep, "tasks", rl.DefaultTasksPerStep, "tasks per step")
	fs.IntVar(&o.SamplesPerTask, "n", rl.DefaultSamplesPerTask, "samples per task (the GRPO group size, at least 2)")
	fs.Float64Var(&o.LearningRate, "lr", rl.DefaultLearningRate, "AdamW learning rate (constant)")
	fs.BoolVar(&o.LRDecay, "lr-decay", false, "decay the learning rate linearly to a tenth of --lr over the steps")
	fs.Float64Var(&o.ClipRange, "clip", rl.DefaultClipRange, "PPO clip range ε: the importance ratio is clipped to [1-ε, 1+ε]")
	fs.Float64Var(&o.KLCoef, "kl-coef", 0, "weight of the KL penalty to the starting model (k3 estimator); 0: none (the KL is still reported)")
	fs.IntVar(&o.Updates, "updates", rl.DefaultUpdates, "optimizer steps per training step (the batch split into this many mini-batches)")
	fs.Float64Var(&o.MaxGradNorm, "max-grad-norm", rl.DefaultMaxGradNorm, "clip the gradient's global norm to this")
	fs.Float64Var(&o.WeightDecay, "weight-decay", 0, "AdamW decoupled weight decay of the matrices")
	fs.IntVar(&o.MaxEpisodeTokens, "max-episode-tokens", rl.DefaultMaxEpisodeTokens, "cap on the completion tokens of one training episode, over all its turns")
	fs.IntVar(&o.MaxTurns, "max-turns", rl.DefaultMaxTurns, "cap on the turns of one training episode (a calculator task takes 2; each malformed turn adds the environment's feedback to what is trained on)")
	fs.Float64Var(&o.Temperature, "temperature", 1, "sampling temperature of the training episodes")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the training tasks, the environments, the sampling and the mini-batch order (not 999, the evaluation's)")
	fs.IntVar(&o.EvalTasks, "eval-tasks", rl.DefaultEvalTasks, "held-out tasks (seed 999) evaluated at temperature 1 before and after training; -1: no evaluation")
	fs.IntVar(&o.EvalSamples, "eval-n", rl.DefaultEvalSamples, "samples per held-out task")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "episodes played at once and goroutines computing gradients (0: GOMAXPROCS)")
	out := fs.String("out", "trained.bin", "the trained weights `file` (load it with --model local:FILE in rollout, eval, serve-model and train)")
	metricsPath := fs.String("metrics", "train.jsonl", "metrics `file`, JSON Lines: a \"step\" line per step, an \"eval\" line before and after training")
	half := fs.Bool("half", false, "write --out in half precision (f16, like the built-in weights: half the size, readable by older versions) instead of the float32 the training used")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		var oe *rl.OptionError
		if errors.As(err, &oe) && trainFlagOf[oe.Field] != "" {
			return usageErrorf("--%s %s", trainFlagOf[oe.Field], oe.Problem)
		}
		return usageErrorf("%v", err)
	}
	switch {
	case *out == "":
		return usageErrorf("--out is empty: name the weights file to write")
	case *metricsPath != "" && filepath.Clean(*metricsPath) == filepath.Clean(*out):
		return usageErrorf("--metrics and --out are the same file: choose another")
	}
	ep, err := parseModelFlag(*modelFlag)
	if err != nil {
		return err
	}
	if ep.Kind() != "local" {
		return usageErrorf("--model %q: train trains the built-in local model only; give \"local\" or local:FILE", *modelFlag)
	}
	if ep.Weights != "" {
		b, err := os.ReadFile(ep.Weights)
		if err != nil {
			return usageErrorf("--model %s: %v; give a weights file written by \"retrain train\" (or model/local's trainer)", *modelFlag, err)
		}
		if o.Start, _, err = local.DecodeWeights(b); err != nil {
			return usageErrorf("--model %s: %v", *modelFlag, err)
		}
	}
	// Check that the outputs can be written before spending minutes.
	if err := os.WriteFile(*out, nil, 0o644); err != nil {
		return usageErrorf("--out: %v", err)
	}
	var mf *os.File
	if *metricsPath != "" {
		if mf, err = os.Create(*metricsPath); err != nil {
			return usageErrorf("--metrics: %v", err)
		}
		defer mf.Close()
		o.Metrics = mf
	}
	o.Log = s.err
	res, runErr := rl.Run(ctx, &o)
	if res == nil {
		return runErr
	}
	notes := map[string]any{
		"trained_by": "retrain train " + strings.Join(args, " "),
		"algorithm":  "GRPO (PPO-clip, token-level normalisation) on the calculator environment",
		"start":      *modelFlag,
		"steps":      len(res.Steps),
		"episodes":   res.Episodes,
		"seconds":    res.Duration.Round(time.Second).Seconds(),
	}
	if res.Before != nil && res.After != nil {
		notes["held_out_accuracy"] = map[string]float64{"before": res.Before.Accuracy, "after": res.After.Accuracy}
	}
	dtype := local.DTypeF32
	if *half {
		dtype = local.DTypeF16
	}
	var buf bytes.Buffer
	if err := local.WriteWeights(&buf, res.Weights, &local.EncodeOptions{DType: dtype, Notes: notes}); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the weights: %w", err)
	}
	if mf != nil {
		if err := mf.Close(); err != nil {
			return fmt.Errorf("write the metrics: %w", err)
		}
	}
	fmt.Fprintf(s.err, "wrote the weights to %s (%s)", *out, dtype)
	if *metricsPath != "" {
		fmt.Fprintf(s.err, " and the metrics to %s", *metricsPath)
	}
	fmt.Fprintf(s.err, "\nevaluate them: retrain eval --model local:%s --tasks 200 --n 4 --temperature 1 --seed 999\n", *out)
	if errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("interrupted after %d steps; the weights so far are in %s", len(res.Steps), *out)
	}
	return runErr
}
