package backprop

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/internal/kernel"
)

var tinyConfig = local.Config{
	Vocab: local.VocabSize, Dim: 8, Layers: 2, Heads: 2, Hidden: 12,
	SegmentPositions: 16, Context: 64, RopeBase: 10000,
}

func tinySequence() ([]int, []bool) {
	return local.RenderTraining([]retrain.Message{
		{Role: retrain.RoleUser, Content: "What is 2 * 3?"},
		{Role: retrain.RoleAssistant, Content: "<answer>6</answer>"},
	})
}

// randomWeights draws weights large enough that every part of the network
// matters.
func randomWeights(t *testing.T, c local.Config, seed uint64) *local.Weights {
	t.Helper()
	w, err := local.NewWeights(c)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for _, ts := range w.Tensors() {
		for i := range ts.Data {
			if len(ts.Shape) == 1 {
				ts.Data[i] = float32(1 + 0.3*r.NormFloat64())
			} else {
				ts.Data[i] = float32(0.2 * r.NormFloat64())
			}
		}
	}
	return w
}

func lossOf(n *Net, ids []int, learn []bool) float64 {
	a := n.NewActivations(len(ids))
	n.Forward(a, ids)
	var loss float64
	lg := make([]float32, n.c.Vocab)
	for i := 0; i+1 < len(ids); i++ {
		if learn[i+1] {
			n.Logits(a, i, lg)
			loss -= kernel.LogSoftmax(lg, ids[i+1])
		}
	}
	return loss
}

// TestGradients compares the back-propagated gradients with central finite
// differences of the loss, for a sample of every tensor's entries.
func TestGradients(t *testing.T) {
	w := randomWeights(t, tinyConfig, 7)
	ids, learn := tinySequence()
	n := NewNet(w)
	g, _ := local.NewWeights(tinyConfig)
	for _, ts := range g.Tensors() {
		clear(ts.Data)
	}
	a := n.NewActivations(len(ids))
	n.Forward(a, ids)
	loss, count := n.LossAndBackward(a, learn, 1, g, n.NewScratch(len(ids)))
	if count == 0 || loss <= 0 {
		t.Fatalf("loss %g over %d tokens", loss, count)
	}
	if want := lossOf(n, ids, learn); math.Abs(loss-want) > 1e-3*want {
		t.Fatalf("loss %g, recomputed %g", loss, want)
	}
	r := rand.New(rand.NewPCG(3, 3))
	grads := g.Tensors()
	checked := 0
	for ti, p := range w.Tensors() {
		for range 6 {
			j := r.IntN(len(p.Data))
			if p.Name == "token_embed" || p.Name == "segment_embed" {
				j = pickUsed(r, p, ids, tinyConfig)
			}
			old := p.Data[j]
			const eps = 3e-3
			p.Data[j] = old + eps
			up := lossOf(n, ids, learn)
			p.Data[j] = old - eps
			down := lossOf(n, ids, learn)
			p.Data[j] = old
			num := (up - down) / (2 * eps)
			got := float64(grads[ti].Data[j])
			if math.Abs(num-got) > 5e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %g, finite difference %g", p.Name, j, got, num)
			}
			checked++
		}
	}
	t.Logf("checked %d gradient entries", checked)
}

// pickUsed picks an embedding entry that the sequence uses (the others have
// zero gradient, which proves little).
func pickUsed(r *rand.Rand, p local.Tensor, ids []int, c local.Config) int {
	rowIdx := ids[r.IntN(len(ids))]
	if p.Name == "segment_embed" {
		segs := local.SegmentPositions(ids, c.SegmentPositions)
		rowIdx = segs[r.IntN(len(segs))]
	}
	return rowIdx*c.Dim + r.IntN(c.Dim)
}

// TestForwardMatchesLocal checks that the training network computes what the
// local package runs: the same per-token log-probabilities.
func TestForwardMatchesLocal(t *testing.T) {
	c := tinyConfig
	w := randomWeights(t, c, 11)
	var buf bytes.Buffer
	if err := local.EncodeWeights(&buf, w, nil); err != nil {
		t.Fatal(err)
	}
	m, err := local.New(&local.Options{Weights: buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	w16, _, err := local.DecodeWeights(buf.Bytes()) // the half-precision values the model runs
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := tinySequence()
	want, err := m.Score(ids, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := NewNet(w16)
	a := n.NewActivations(len(ids))
	n.Forward(a, ids)
	lg := make([]float32, c.Vocab)
	for i := 0; i+1 < len(ids); i++ {
		n.Logits(a, i, lg)
		if got := kernel.LogSoftmax(lg, ids[i+1]); math.Abs(got-want[i]) > 1e-4 {
			t.Errorf("token %d: training network %g, local model %g", i+1, got, want[i])
		}
	}
}

// objectiveOf is sum_i coef[i]·log p(ids[i] | ids[:i]), computed with the
// forward pass alone, and which of the MLPs' units are active (ReLU input
// above zero): a finite difference across a change of that pattern measures
// a kink, not the gradient.
func objectiveOf(n *Net, ids []int, coef []float32) (float64, []bool) {
	a := n.NewActivations(len(ids))
	n.Forward(a, ids)
	lp := make([]float64, len(ids))
	n.Logprobs(a, lp)
	var sum float64
	for i, c := range coef {
		if i > 0 {
			sum += float64(c) * lp[i]
		}
	}
	var active []bool
	for _, b := range a.blocks {
		for _, u := range b.u[:len(ids)*n.c.Hidden] {
			active = append(active, u > 0)
		}
	}
	return sum, active
}

// TestBackwardCoefficients checks Backward's gradient of a weighted sum of
// token log-probabilities, with coefficients of both signs (as advantages
// have) and some tokens left out, against central finite differences; and
// that the log-probabilities it reports are Logprobs'.
func TestBackwardCoefficients(t *testing.T) {
	w := randomWeights(t, tinyConfig, 11)
	ids, _ := tinySequence()
	coef := make([]float32, len(ids))
	r := rand.New(rand.NewPCG(9, 9))
	for i := 1; i < len(ids); i++ {
		if i%3 != 0 {
			coef[i] = float32(r.NormFloat64())
		}
	}
	n := NewNet(w)
	g, _ := local.NewWeights(tinyConfig)
	for _, ts := range g.Tensors() {
		clear(ts.Data)
	}
	a := n.NewActivations(len(ids))
	n.Forward(a, ids)
	logp := make([]float64, len(ids))
	n.Backward(a, coef, g, n.NewScratch(len(ids)), logp)
	want := make([]float64, len(ids))
	n.Logprobs(a, want)
	for i := 1; i < len(ids); i++ {
		if coef[i] != 0 && math.Abs(logp[i]-want[i]) > 1e-5 {
			t.Errorf("token %d: Backward's log-prob %g, Logprobs %g", i, logp[i], want[i])
		}
		if want[i] >= 0 {
			t.Errorf("token %d: log-prob %g is not negative", i, want[i])
		}
	}
	grads := g.Tensors()
	_, base := objectiveOf(n, ids, coef)
	checked, kinks := 0, 0
	for ti, p := range w.Tensors() {
		for range 5 {
			j := r.IntN(len(p.Data))
			if p.Name == "token_embed" || p.Name == "segment_embed" {
				j = pickUsed(r, p, ids, tinyConfig)
			}
			old := p.Data[j]
			const eps = 1e-3
			p.Data[j] = old + eps
			up, upActive := objectiveOf(n, ids, coef)
			p.Data[j] = old - eps
			down, downActive := objectiveOf(n, ids, coef)
			p.Data[j] = old
			if !slices.Equal(upActive, base) || !slices.Equal(downActive, base) {
				kinks++ // a ReLU switched within ±eps: no derivative to compare
				continue
			}
			num := (up - down) / (2 * eps)
			got := float64(grads[ti].Data[j])
			if math.Abs(num-got) > 5e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %g, finite difference %g", p.Name, j, got, num)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("%d entries checked, %d skipped at a ReLU kink", checked, kinks)
	}
}

// TestLogprobsMatchInMemoryModel checks that the training network's
// log-probabilities are the ones a model made from the same float32 weights
// in memory (local.FromWeights) reports when it generates: what makes the
// importance ratios of a trainer exactly one before its first update.
func TestLogprobsMatchInMemoryModel(t *testing.T) {
	w := randomWeights(t, tinyConfig, 13)
	m, err := local.FromWeights(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	comp, err := m.Generate(t.Context(), model.Request{
		Messages: []retrain.Message{{Role: retrain.RoleUser, Content: "What is 2 * 3?"}},
		Sampling: model.Sampling{Temperature: new(1.0), Seed: new(int64(3)), MaxTokens: 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, id := range comp.PromptTokenIDs {
		ids = append(ids, int(id))
	}
	from := len(ids)
	for _, id := range comp.Tokens.IDs {
		ids = append(ids, int(id))
	}
	n := NewNet(w)
	a := n.NewActivations(len(ids))
	n.Forward(a, ids)
	lp := make([]float64, len(ids))
	n.Logprobs(a, lp)
	for k, want := range comp.Tokens.Logprobs {
		if got := lp[from+k]; math.Abs(got-want) > 1e-4 {
			t.Errorf("completion token %d: training network %g, generation %g", k, got, want)
		}
	}
}

// TestStepRaisesRewardedSequence takes policy-gradient steps with a positive
// coefficient on one sequence's completion and checks that its
// log-probability rises, and that a negative coefficient lowers it.
func TestStepRaisesRewardedSequence(t *testing.T) {
	ids, learn := tinySequence()
	for _, sign := range []float32{1, -1} {
		w := randomWeights(t, tinyConfig, 21)
		n := NewNet(w)
		opt := NewAdamW(w, 0)
		g, _ := local.NewWeights(tinyConfig)
		a, s := n.NewActivations(len(ids)), n.NewScratch(len(ids))
		coef := make([]float32, len(ids))
		for i := 1; i < len(ids); i++ {
			if learn[i] {
				coef[i] = -sign // the gradient of the loss -sign·log p
			}
		}
		total := func() float64 {
			n.Forward(a, ids)
			lp := make([]float64, len(ids))
			n.Logprobs(a, lp)
			var sum float64
			for i := range lp {
				if learn[i] {
					sum += lp[i]
				}
			}
			return sum
		}
		before := total()
		for range 3 {
			for _, ts := range g.Tensors() {
				clear(ts.Data)
			}
			n.Forward(a, ids)
			n.Backward(a, coef, g, s, nil)
			if norm := opt.Step(g, 1e-2, 1); norm <= 0 {
				t.Fatalf("gradient norm %g", norm)
			}
		}
		after := total()
		if sign > 0 && after <= before || sign < 0 && after >= before {
			t.Errorf("coefficient sign %+g: log-probability of the sequence %g → %g", sign, before, after)
		}
	}
}
