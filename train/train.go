package train

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/backprop"
	"github.com/retrain-rl/retrain/rollout"
)

// DefaultConfig is the shape of the built-in model.
var DefaultConfig = local.Config{
	Vocab:            local.VocabSize,
	Dim:              64,
	Layers:           3,
	Heads:            4,
	Hidden:           256,
	SegmentPositions: 128,
	Context:          8192,
	RopeBase:         10000,
}

// Options configure Train. The zero value of a field means its default.
type Options struct {
	// Config is the network's shape (default DefaultConfig).
	Config local.Config
	// Steps is the number of optimizer steps (default 800).
	Steps int
	// BatchSize is the number of episodes per step (default 32).
	BatchSize int
	// LearningRate is the peak learning rate of AdamW (default 3e-3),
	// reached after Warmup steps (default 100) and decayed along a cosine
	// to a tenth of it at the last step.
	LearningRate float64
	Warmup       int
	// WeightDecay is AdamW's decoupled weight decay of the matrices
	// (default 0.01; negative means none).
	WeightDecay float64
	// Seed seeds the initialisation and the data (the same seed gives the
	// same weights).
	Seed int64
	// GuessRate is the share of training episodes in which the scripted
	// solver answers without the calculator, with a rough estimate (default
	// 0.25; negative means none). It gives the sampled model a real chance
	// of being wrong, so groups of rollouts have the reward variance RL
	// needs; greedy decoding still uses the calculator.
	GuessRate float64
	// Log receives progress lines (nil: none); LogEvery is their period in
	// steps (default 50).
	Log      io.Writer
	LogEvery int
	// EvalEvery is the period in steps of a quick evaluation on EvalTasks
	// held-out tasks at temperature 0 and 1 (defaults 200 and 50; negative
	// EvalEvery means none).
	EvalEvery, EvalTasks int
}

func (o *Options) defaults() {
	if o.Config == (local.Config{}) {
		o.Config = DefaultConfig
	}
	if o.Steps <= 0 {
		o.Steps = 800
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 3e-3
	}
	if o.Warmup <= 0 {
		o.Warmup = 100
	}
	switch {
	case o.WeightDecay == 0:
		o.WeightDecay = 0.01
	case o.WeightDecay < 0:
		o.WeightDecay = 0
	}
	switch {
	case o.GuessRate == 0:
		o.GuessRate = 0.25
	case o.GuessRate < 0:
		o.GuessRate = 0
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 50
	}
	if o.EvalEvery == 0 {
		o.EvalEvery = 200
	}
	if o.EvalTasks <= 0 {
		o.EvalTasks = 50
	}
}

// Point is one point of the loss curve.
type Point struct {
	Step    int     `json:"step"`
	Loss    float64 `json:"loss"`
	Seconds float64 `json:"seconds"`
}

// Result is what Train produced.
type Result struct {
	// Weights are the trained weights.
	Weights *local.Weights
	// Curve is the mean loss per predicted token, every LogEvery steps.
	Curve []Point
	// Episodes and Tokens count the training data seen.
	Episodes, Tokens int
	// Duration is the wall time of training.
	Duration time.Duration
}

// Train trains a model from scratch on episodes of the calculator
// environment (see Generator) with AdamW, on one goroutine. Cancelling ctx
// stops it early; the weights so far are returned with the error.
func Train(ctx context.Context, opts *Options) (*Result, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.defaults()
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	w, err := local.NewWeights(o.Config)
	if err != nil {
		return nil, err
	}
	backprop.InitWeights(w, o.Seed)
	g, _ := local.NewWeights(o.Config)
	opt := backprop.NewAdamW(w, o.WeightDecay)
	nt := backprop.NewNet(w)
	maxT := 512
	a := nt.NewActivations(maxT)
	sc := nt.NewScratch(maxT)

	gen, err := NewGenerator(ctx, o.Seed, o.GuessRate)
	if err != nil {
		return nil, err
	}
	defer gen.Close()
	evalTasks := rollout.ArithmeticTasks(o.EvalTasks, HeldOutSeeds[1])
	logf("training a %d-parameter model (%+v) for %d steps of %d episodes", w.Params(), o.Config, o.Steps, o.BatchSize)

	res := &Result{Weights: w}
	var windowLoss float64
	var windowCount int
	type seq struct {
		ids   []int
		learn []bool
	}
	batch := make([]seq, o.BatchSize)
	for step := 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			res.Duration = time.Since(start)
			return res, fmt.Errorf("train: stopped at step %d: %w", step, err)
		}
		total := 0
		for i := range batch {
			msgs, err := gen.Episode(ctx)
			if err != nil {
				return nil, err
			}
			ids, learn := local.RenderTraining(msgs)
			if len(ids) > maxT {
				ids, learn = ids[:maxT], learn[:maxT]
			}
			batch[i] = seq{ids, learn}
			for _, l := range learn[1:] {
				if l {
					total++
				}
			}
			res.Tokens += len(ids)
		}
		res.Episodes += len(batch)
		for _, t := range g.Tensors() {
			clear(t.Data)
		}
		weight := float32(1 / float64(total))
		for _, s := range batch {
			nt.Forward(a, s.ids)
			l, n := nt.LossAndBackward(a, s.learn, weight, g, sc)
			windowLoss += l
			windowCount += n
		}
		lr := schedule(step, o.Steps, o.Warmup, o.LearningRate)
		opt.Step(g, lr, 1.0)
		if step%o.LogEvery == 0 || step == o.Steps {
			p := Point{Step: step, Loss: windowLoss / float64(windowCount), Seconds: time.Since(start).Seconds()}
			res.Curve = append(res.Curve, p)
			logf("step %5d  loss %.4f  lr %.2e  %6.0fs  %.0f tokens/s", step, p.Loss, lr, p.Seconds, float64(res.Tokens)/p.Seconds)
			windowLoss, windowCount = 0, 0
		}
		if o.EvalEvery > 0 && (step%o.EvalEvery == 0 || step == o.Steps) {
			if err := quickEval(ctx, w, evalTasks, logf); err != nil {
				return nil, err
			}
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// quickEval loads w as a local model (in half precision, as shipped) and
// reports its results on tasks at temperatures 0 and 1.
func quickEval(ctx context.Context, w *local.Weights, tasks []retrain.Task, logf func(string, ...any)) error {
	var buf bytes.Buffer
	if err := local.EncodeWeights(&buf, w, nil); err != nil {
		return err
	}
	m, err := local.New(&local.Options{Weights: buf.Bytes()})
	if err != nil {
		return err
	}
	for _, temp := range []float64{0, 1} {
		r, err := Evaluate(ctx, m, tasks, model.Sampling{Temperature: &temp, MaxTokens: 120}, HeldOutSeeds[1], 3)
		if err != nil {
			return err
		}
		logf("  eval T=%g: %v", temp, r)
	}
	return nil
}

// schedule is the learning rate at step: linear warmup, then a cosine decay
// to a tenth of peak.
func schedule(step, steps, warmup int, peak float64) float64 {
	if step <= warmup {
		return peak * float64(step) / float64(warmup)
	}
	frac := float64(step-warmup) / float64(max(1, steps-warmup))
	return peak * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*frac)))
}
