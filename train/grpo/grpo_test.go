package grpo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/backprop"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/trainview"
)

// sequenceLogprob is the sum of the log-probabilities of s's model tokens
// under w.
func sequenceLogprob(w *local.Weights, s *trainview.Sequence) float64 {
	n := backprop.NewNet(w)
	ids := make([]int, len(s.InputIDs))
	for i, id := range s.InputIDs {
		ids[i] = int(id)
	}
	a := n.NewActivations(len(ids))
	n.Forward(a, ids)
	lp := make([]float64, len(ids))
	n.Logprobs(a, lp)
	var sum float64
	for i, m := range s.LossMask {
		if m == 1 {
			sum += lp[i]
		}
	}
	return sum
}

// One step on real episodes of the built-in model: the rollout's log-probs
// are the trainer's before the update (ratio one), and the update raises the
// probability of the episodes with a positive advantage (right answers) and
// lowers that of those with a negative one; the loss falls.
func TestStepRaisesRewardedEpisodes(t *testing.T) {
	if raceEnabled {
		t.Skip("arithmetic only, some fifty times slower under the race detector; TestRun runs the same goroutines under it")
	}
	ctx := context.Background()
	w, err := local.DefaultWeights()
	if err != nil {
		t.Fatal(err)
	}
	f, err := env.New(EnvName, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	calc, err := reward.NewCalculator(Rewards(), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{SamplesPerTask: 4, Concurrency: 2, Temperature: 1.5, MaxEpisodeTokens: 256, Updates: 1,
		LearningRate: 1e-4, ClipRange: 0.2, MaxGradNorm: 1}
	tr := &trainer{o: o, w: w, ref: w.Clone(), opt: backprop.NewAdamW(w, 0), rng: rand.New(rand.NewPCG(1, 1))}
	m, err := local.FromWeights(w.Clone(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tasks := 6
	trajs, err := tr.play(ctx, f, m, calc, rollout.ArithmeticTasks(tasks, 77), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, trj := range trajs {
		if want := fmt.Sprintf("arith-%d", i/4+1); trj.Task.ID != want || trj.Sample != i%4 {
			t.Fatalf("episode %d is %s sample %d: want the order of tasks and samples", i, trj.Task.ID, trj.Sample)
		}
	}
	var sm StepMetrics
	seqs := tr.sequences(trajs, &sm)
	if sm.Episodes != 4*tasks || sm.FailedEpisodes != 0 || sm.ParseRate <= 0 {
		t.Fatalf("metrics %+v", sm)
	}
	if len(seqs) == 0 {
		t.Skipf("every group of this sample had one reward (%d zero-variance groups): nothing to learn from", sm.ZeroVarianceGroups)
	}
	before := make([]float64, len(seqs))
	for i := range seqs {
		before[i] = sequenceLogprob(w, &seqs[i])
		var old float64
		for j, mk := range seqs[i].LossMask {
			if mk == 1 {
				old += float64(seqs[i].OldLogprobs[j])
			}
		}
		if d := before[i] - old; d > 1e-3 || d < -1e-3 {
			t.Errorf("sequence %d: trainer log-prob %g, rollout's %g", i, before[i], old)
		}
	}
	tr.update(seqs, 0, &sm)
	if sm.ClipFraction != 0 || sm.KLOld > 1e-6 || sm.Sequences != len(seqs) || sm.GradNorm <= 0 {
		t.Errorf("one on-policy update: clip fraction %g, KL to the rollout policy %g, %d sequences, gradient norm %g",
			sm.ClipFraction, sm.KLOld, sm.Sequences, sm.GradNorm)
	}
	// The update raises the advantage-weighted log-probability of the
	// batch, and the sequences with a positive advantage gain more than
	// those with a negative one.
	var weighted, gainPos, gainNeg float64
	var nPos, nNeg int
	for i := range seqs {
		d := sequenceLogprob(w, &seqs[i]) - before[i]
		a := float64(seqs[i].Advantages[slices.Index(seqs[i].LossMask, 1)])
		weighted += a * d
		switch {
		case a > 0:
			gainPos += d
			nPos++
		case a < 0:
			gainNeg += d
			nNeg++
		}
	}
	if nPos == 0 || nNeg == 0 {
		t.Fatalf("%d sequences with a positive advantage, %d with a negative one", nPos, nNeg)
	}
	if weighted <= 0 || gainPos/float64(nPos) <= gainNeg/float64(nNeg) {
		t.Errorf("advantage-weighted change of log-probability %g; mean change %g with a positive advantage, %g with a negative one",
			weighted, gainPos/float64(nPos), gainNeg/float64(nNeg))
	}
	// The loss of the same batch, recomputed after the update, is lower.
	tr2 := &trainer{o: o, w: w, ref: tr.ref, opt: backprop.NewAdamW(w.Clone(), 0), rng: rand.New(rand.NewPCG(1, 1))}
	var tokens int
	for _, s := range seqs {
		tokens += s.ModelTokens()
	}
	after := tr2.gradients(seqs, make([][]float64, len(seqs)), lossParams{clipLow: 10, clipHigh: 10, norm: 1 / float64(tokens)})
	if after.loss >= sm.Loss*float64(sm.ModelTokens) {
		t.Errorf("loss %g before the update, %g after", sm.Loss*float64(sm.ModelTokens), after.loss)
	}
}

// Run trains and writes the metrics file: a step line per step and eval
// lines before and after, with the documented keys; it leaves the starting
// weights alone.
func TestRun(t *testing.T) {
	start, err := local.DefaultWeights()
	if err != nil {
		t.Fatal(err)
	}
	keep := start.Clone()
	var metrics, log bytes.Buffer
	steps := 2
	o := &Options{Start: start, Steps: steps, TasksPerStep: 3, SamplesPerTask: 2, EvalTasks: 3, EvalSamples: 2,
		Seed: 5, Metrics: &metrics, Log: &log, KLCoef: 0.05}
	if raceEnabled {
		o.TasksPerStep, o.EvalTasks, o.Steps, steps = 2, 1, 1, 1
	}
	o.LRDecay = true
	var seen []int
	var lrs []float64
	o.AfterStep = func(sm StepMetrics, _ *local.Weights) { seen = append(seen, sm.Step); lrs = append(lrs, sm.LR) }
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(start.Output, keep.Output) {
		t.Error("Run changed the starting weights")
	}
	if len(res.Steps) != steps || len(seen) != steps || res.Before == nil || res.After == nil || res.After.Step != steps {
		t.Fatalf("result %+v, steps seen %v", res, seen)
	}
	// The learning rate decays linearly to a tenth at the last step.
	if lrs[0] != DefaultLearningRate || steps > 1 && math.Abs(lrs[steps-1]-DefaultLearningRate/10) > 1e-12 {
		t.Errorf("learning rates %v with LRDecay over %d steps", lrs, steps)
	}
	stepKeys := []string{"type", "step", "time_s", "reward", "accuracy", "parse_rate", "kl", "clip_fraction", "loss", "tokens_per_s", "episodes", "zero_variance_groups", "lr"}
	evalKeys := []string{"type", "step", "split", "accuracy", "parse_errors", "tasks", "n", "temperature"}
	var types []string
	sc := bufio.NewScanner(&metrics)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		typ, _ := line["type"].(string)
		types = append(types, typ)
		keys := stepKeys
		if typ == "eval" {
			keys = evalKeys
			if line["split"] != "held_out" || line["tasks"] != float64(o.EvalTasks) || line["n"] != 2.0 || line["temperature"] != 1.0 {
				t.Errorf("eval line %s", sc.Text())
			}
		} else if line["episodes"] != float64(o.TasksPerStep*2) || line["lr"] != lrs[int(line["step"].(float64))-1] {
			t.Errorf("step line %s", sc.Text())
		}
		for _, k := range keys {
			if _, ok := line[k]; !ok {
				t.Errorf("%s line lacks %q: %s", typ, k, sc.Text())
			}
		}
	}
	want := []string{"eval"}
	for range steps {
		want = append(want, "step")
	}
	want = append(want, "eval")
	if !slices.Equal(types, want) {
		t.Errorf("metrics lines %v, want %v", types, want)
	}
	if !bytes.Contains(log.Bytes(), []byte("held-out accuracy at temperature 1")) {
		t.Errorf("log:\n%s", log.String())
	}
}

// Evaluate plays what "retrain eval" plays: every sample of every task,
// seeded, and the same model and seed give the same result.
func TestEvaluateDeterministic(t *testing.T) {
	f, err := env.New(EnvName, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := local.Default()
	if err != nil {
		t.Fatal(err)
	}
	n := 3
	if raceEnabled {
		n = 1
	}
	tasks := rollout.ArithmeticTasks(n, DefaultEvalSeed)
	var got []EvalMetrics
	for _, c := range []int{1, 3} {
		e, err := Evaluate(context.Background(), f, m, tasks, &EvalOptions{N: 2, Concurrency: c})
		if err != nil {
			t.Fatal(err)
		}
		if e.Episodes != 2*n || e.Turns < 2*n || e.Failed != 0 || e.Policy != m.PolicyVersion() {
			t.Errorf("evaluation %+v", e)
		}
		e.Seconds = 0
		got = append(got, *e)
	}
	if got[0] != got[1] {
		t.Errorf("concurrency changed the result: %+v, %+v", got[0], got[1])
	}
}
