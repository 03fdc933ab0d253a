package backprop

import (
	"math"
	"strings"

	"github.com/retrain-rl/retrain/model/local"
)

// AdamW is the AdamW optimizer (betas 0.9 and 0.95) with global gradient
// norm clipping; weight decay applies to matrices only, not to embeddings
// or norm gains. It is not safe for concurrent use.
type AdamW struct {
	params []local.Tensor
	m, v   [][]float32
	decay  []bool
	wd     float64
	t      int
}

// NewAdamW returns the optimizer of the weights w (updated in place by
// Step) with decoupled weight decay wd.
func NewAdamW(w *local.Weights, wd float64) *AdamW {
	o := &AdamW{params: w.Tensors(), wd: wd}
	for _, p := range o.params {
		o.m = append(o.m, make([]float32, len(p.Data)))
		o.v = append(o.v, make([]float32, len(p.Data)))
		o.decay = append(o.decay, len(p.Shape) == 2 && !strings.HasSuffix(p.Name, "embed"))
	}
	return o
}

// Step applies gradients g (of the same shape as the weights) with learning
// rate lr, clipping their global norm to clip. It returns the norm before
// clipping.
func (o *AdamW) Step(g *local.Weights, lr, clip float64) float64 {
	const b1, b2, eps = 0.9, 0.95, 1e-8
	grads := g.Tensors()
	var norm float64
	for _, t := range grads {
		for _, x := range t.Data {
			norm += float64(x) * float64(x)
		}
	}
	norm = math.Sqrt(norm)
	scale := 1.0
	if norm > clip {
		scale = clip / norm
	}
	o.t++
	c1 := 1 - math.Pow(b1, float64(o.t))
	c2 := 1 - math.Pow(b2, float64(o.t))
	for i, p := range o.params {
		gd, m, v := grads[i].Data, o.m[i], o.v[i]
		decay := float32(0)
		if o.decay[i] {
			decay = float32(lr * o.wd)
		}
		for j := range p.Data {
			gj := float64(gd[j]) * scale
			mj := b1*float64(m[j]) + (1-b1)*gj
			vj := b2*float64(v[j]) + (1-b2)*gj*gj
			m[j], v[j] = float32(mj), float32(vj)
			upd := lr * (mj / c1) / (math.Sqrt(vj/c2) + eps)
			p.Data[j] -= float32(upd) + decay*p.Data[j]
		}
	}
	return norm
}
