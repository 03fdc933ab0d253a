package backprop

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/retrain-rl/retrain"
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
