package backprop

import (
	"math"

	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/internal/kernel"
)

// Net computes the local model's network over whole sequences, keeping the
// activations, and back-propagates the loss into gradients. It is the same
// arithmetic as package local's (a test checks the logits agree). A Net
// only reads its weights: the passes write into the Activations, Scratch
// and gradients given to them.
type Net struct {
	w        *local.Weights
	c        local.Config
	hd       int
	scale    float32
	cos, sin []float32
}

// NewNet returns the network computing with w (which it reads, not copies:
// an optimizer step on w is seen by the next pass).
func NewNet(w *local.Weights) *Net {
	c := w.Config
	hd := c.Dim / c.Heads
	cos, sin := kernel.RopeTables(c.Context, hd, c.RopeBase)
	return &Net{w: w, c: c, hd: hd, scale: float32(1 / math.Sqrt(float64(hd))), cos: cos, sin: sin}
}

// blockActs are one block's activations over a sequence.
type blockActs struct {
	xin, h1, q, k, v, a, xmid, h2 []float32 // [T][Dim]
	r1, r2                        []float32 // [T] inverse RMS
	p                             []float32 // [Heads][T][T] attention weights
	u                             []float32 // [T][Hidden] before ReLU
}

// Activations are the activations of one sequence, kept by Forward for
// LossAndBackward.
type Activations struct {
	t      int
	ids    []int
	segs   []int
	blocks []blockActs
	xf, hf []float32
	rf     []float32
}

// NewActivations allocates room for the activations of sequences of up to
// maxT tokens.
func (n *Net) NewActivations(maxT int) *Activations {
	c := n.c
	a := &Activations{blocks: make([]blockActs, c.Layers), xf: make([]float32, maxT*c.Dim), hf: make([]float32, maxT*c.Dim), rf: make([]float32, maxT)}
	for l := range a.blocks {
		b := &a.blocks[l]
		td := maxT * c.Dim
		b.xin, b.h1, b.q, b.k, b.v, b.a, b.xmid, b.h2 = make([]float32, td), make([]float32, td), make([]float32, td), make([]float32, td), make([]float32, td), make([]float32, td), make([]float32, td), make([]float32, td)
		b.r1, b.r2 = make([]float32, maxT), make([]float32, maxT)
		b.p = make([]float32, c.Heads*maxT*maxT)
		b.u = make([]float32, maxT*c.Hidden)
	}
	return a
}

func row(m []float32, i, width int) []float32 { return m[i*width : (i+1)*width] }

// Forward runs the sequence ids, filling a; a must have room for len(ids).
func (n *Net) Forward(a *Activations, ids []int) {
	c, w := n.c, n.w
	d, hd, T := c.Dim, n.hd, len(ids)
	half := hd / 2
	a.t, a.ids = T, ids
	a.segs = local.SegmentPositions(ids, c.SegmentPositions)
	x := a.blocks[0].xin
	for i, id := range ids {
		copy(row(x, i, d), row(w.TokenEmbed, id, d))
		kernel.Axpy(1, row(w.SegmentEmbed, a.segs[i], d), row(x, i, d))
	}
	hid := make([]float32, c.Hidden)
	tmp := make([]float32, d)
	for l := range w.Blocks {
		b, ba := &w.Blocks[l], &a.blocks[l]
		for i := 0; i < T; i++ {
			ba.r1[i] = kernel.RMSNorm(row(ba.h1, i, d), row(ba.xin, i, d), b.AttnNorm)
			kernel.MatVec(row(ba.q, i, d), row(ba.h1, i, d), b.Query)
			kernel.MatVec(row(ba.k, i, d), row(ba.h1, i, d), b.Key)
			kernel.MatVec(row(ba.v, i, d), row(ba.h1, i, d), b.Value)
			kernel.Rope(row(ba.q, i, d), hd, row(n.cos, i, half), row(n.sin, i, half))
			kernel.Rope(row(ba.k, i, d), hd, row(n.cos, i, half), row(n.sin, i, half))
		}
		clear(ba.a[:T*d])
		for hh := 0; hh < c.Heads; hh++ {
			h0 := hh * hd
			for i := 0; i < T; i++ {
				p := ba.p[(hh*T+i)*T : (hh*T+i)*T+i+1]
				m := float32(math.Inf(-1))
				qi := ba.q[i*d+h0 : i*d+h0+hd]
				for j := range p {
					p[j] = kernel.Dot(qi, ba.k[j*d+h0:]) * n.scale
					m = max(m, p[j])
				}
				var sum float32
				for j, s := range p {
					p[j] = float32(math.Exp(float64(s - m)))
					sum += p[j]
				}
				inv := 1 / sum
				out := ba.a[i*d+h0 : i*d+h0+hd]
				for j := range p {
					p[j] *= inv
					kernel.Axpy(p[j], ba.v[j*d+h0:j*d+h0+hd], out)
				}
			}
		}
		for i := 0; i < T; i++ {
			kernel.MatVec(tmp, row(ba.a, i, d), b.AttnOut)
			xm := row(ba.xmid, i, d)
			copy(xm, row(ba.xin, i, d))
			kernel.Axpy(1, tmp, xm)
			ba.r2[i] = kernel.RMSNorm(row(ba.h2, i, d), xm, b.MLPNorm)
			u := row(ba.u, i, c.Hidden)
			kernel.MatVec(u, row(ba.h2, i, d), b.Up)
			for j, v := range u {
				hid[j] = max(v, 0)
			}
			kernel.MatVec(tmp, hid, b.Down)
			out := n.blockOut(a, l, i)
			copy(out, xm)
			kernel.Axpy(1, tmp, out)
		}
	}
	for i := 0; i < T; i++ {
		a.rf[i] = kernel.RMSNorm(row(a.hf, i, d), row(a.xf, i, d), w.FinalNorm)
	}
}

// blockOut is where block l writes the residual of row i: the next block's
// input, or the final residual.
func (n *Net) blockOut(a *Activations, l, i int) []float32 {
	if l+1 < len(a.blocks) {
		return row(a.blocks[l+1].xin, i, n.c.Dim)
	}
	return row(a.xf, i, n.c.Dim)
}

// Logits computes the logits of row i of the sequence in a (the prediction
// of token i+1) into out, which has the vocabulary's length.
func (n *Net) Logits(a *Activations, i int, out []float32) {
	kernel.MatVec(out, row(a.hf, i, n.c.Dim), n.w.Output)
}

// rmsBack adds to dx the gradient through y = x·r·g given dy, and to dg the
// gain's gradient.
func rmsBack(dx, dg, dy, x, g []float32, r float32) {
	d := len(x)
	var s float32
	for i := range x {
		s += x[i] * g[i] * dy[i]
	}
	k := r * r * r * s / float32(d)
	for i := range x {
		dx[i] += r*g[i]*dy[i] - k*x[i]
		dg[i] += dy[i] * x[i] * r
	}
}

// matBack handles y = x·W for one row: it adds x^T·dy to dW and, when dx is
// not nil, dy·W^T to dx.
func matBack(dx, dW, x, dy, W []float32) {
	out := len(dy)
	for k, xk := range x {
		wk := W[k*out : (k+1)*out]
		if dx != nil {
			dx[k] += kernel.Dot(dy, wk)
		}
		if xk != 0 {
			kernel.Axpy(xk, dy, dW[k*out:(k+1)*out])
		}
	}
}

// Scratch is the backward pass's working memory.
type Scratch struct {
	dx, dxm, dh, dq, dk, dv, da []float32 // [T][Dim]
	du                          []float32 // [Hidden]
	dlog                        []float32 // [Vocab]
	dp                          []float32 // [T]
	coef                        []float32 // [T]
	logp                        []float64 // [T]
}

// NewScratch allocates the backward pass's memory for sequences of up to
// maxT tokens.
func (n *Net) NewScratch(maxT int) *Scratch {
	c := n.c
	td := maxT * c.Dim
	return &Scratch{
		dx: make([]float32, td), dxm: make([]float32, td), dh: make([]float32, td),
		dq: make([]float32, td), dk: make([]float32, td), dv: make([]float32, td), da: make([]float32, td),
		du: make([]float32, c.Hidden), dlog: make([]float32, c.Vocab), dp: make([]float32, maxT),
		coef: make([]float32, maxT), logp: make([]float64, maxT),
	}
}

// LossAndBackward computes the cross-entropy of predicting ids[i+1] from
// row i for every i with learn[i+1], scaled by weight, and adds the
// gradients of the scaled loss to g. It returns the unscaled loss sum and
// the number of predicted tokens. a holds the sequence's activations (from
// Forward).
func (n *Net) LossAndBackward(a *Activations, learn []bool, weight float32, g *local.Weights, s *Scratch) (float64, int) {
	coef := s.coef[:a.t]
	count := 0
	for i := range coef {
		coef[i] = 0
		if i > 0 && learn[i] {
			coef[i] = -weight
			count++
		}
	}
	if count == 0 {
		return 0, 0
	}
	logp := s.logp[:a.t]
	n.backward(a, coef, g, s, logp)
	var loss float64
	for i, c := range coef {
		if c != 0 {
			loss -= logp[i]
		}
	}
	return loss, count
}

// Logprobs fills out[i], for every i from 1 to the sequence's length less
// one, with the log-probability of token ids[i] given the tokens before it
// (the log-softmax of the raw logits, as the local model reports them);
// out[0] is 0. out must have the sequence's length. a holds the sequence's
// activations (from Forward).
func (n *Net) Logprobs(a *Activations, out []float64) {
	out[0] = 0
	lg := make([]float32, n.c.Vocab)
	for i := 1; i < a.t; i++ {
		n.Logits(a, i-1, lg)
		out[i] = kernel.LogSoftmax(lg, a.ids[i])
	}
}

// Backward adds to g the gradient of sum_i coef[i]·log p(ids[i] | ids[:i])
// over the tokens with a nonzero coefficient (coef[0] is ignored: the first
// token is not predicted), and writes those tokens' log-probabilities into
// logp (the others are left alone). With coef[i] = -1/N on N tokens it is
// the gradient of the mean cross-entropy; with coef[i] = -A_i·ratio_i/N it is
// the policy gradient of a PPO-style objective. coef and logp have the
// sequence's length; logp may be nil. a holds the sequence's activations
// (from Forward).
func (n *Net) Backward(a *Activations, coef []float32, g *local.Weights, s *Scratch, logp []float64) {
	if logp == nil {
		logp = s.logp[:a.t]
	}
	n.backward(a, coef, g, s, logp)
}

// backward is Backward.
func (n *Net) backward(a *Activations, coef []float32, g *local.Weights, s *Scratch, logp []float64) {
	c, w := n.c, n.w
	d, hd, T := c.Dim, n.hd, a.t
	half := hd / 2
	dx := s.dx[:T*d]
	clear(dx)
	count := 0
	dh := make([]float32, d)
	for i := 0; i+1 < T; i++ {
		weight := coef[i+1]
		if weight == 0 {
			continue
		}
		lg := s.dlog
		n.Logits(a, i, lg)
		target := a.ids[i+1]
		m := lg[0]
		for _, v := range lg {
			m = max(m, v)
		}
		var sum float64
		for _, v := range lg {
			sum += math.Exp(float64(v - m))
		}
		lse := float64(m) + math.Log(sum)
		logp[i+1] = float64(lg[target]) - lse
		count++
		// d(weight·log p_target)/d logit_j = weight·(1[j = target] - p_j).
		for j, v := range lg {
			lg[j] = -float32(math.Exp(float64(v)-lse)) * weight
		}
		lg[target] += weight
		clear(dh)
		matBack(dh, g.Output, row(a.hf, i, d), lg, w.Output)
		rmsBack(row(dx, i, d), g.FinalNorm, dh, row(a.xf, i, d), w.FinalNorm, a.rf[i])
	}
	if count == 0 {
		return
	}
	for l := len(w.Blocks) - 1; l >= 0; l-- {
		b, gb, ba := &w.Blocks[l], &g.Blocks[l], &a.blocks[l]
		// MLP: out = xmid + relu(norm(xmid)·Up)·Down.
		dxm := s.dxm[:T*d]
		copy(dxm, dx)
		dh2 := s.dh[:T*d]
		clear(dh2)
		z := make([]float32, c.Hidden)
		for i := 0; i < T; i++ {
			u := row(ba.u, i, c.Hidden)
			for j, v := range u {
				z[j] = max(v, 0)
			}
			du := s.du
			clear(du)
			matBack(du, gb.Down, z, row(dx, i, d), b.Down)
			for j, v := range u {
				if v <= 0 {
					du[j] = 0
				}
			}
			matBack(row(dh2, i, d), gb.Up, row(ba.h2, i, d), du, b.Up)
			rmsBack(row(dxm, i, d), gb.MLPNorm, row(dh2, i, d), row(ba.xmid, i, d), b.MLPNorm, ba.r2[i])
		}
		// Attention: xmid = xin + attn(norm(xin))·AttnOut.
		da := s.da[:T*d]
		clear(da)
		for i := 0; i < T; i++ {
			matBack(row(da, i, d), gb.AttnOut, row(ba.a, i, d), row(dxm, i, d), b.AttnOut)
		}
		dq, dk, dv := s.dq[:T*d], s.dk[:T*d], s.dv[:T*d]
		clear(dq)
		clear(dk)
		clear(dv)
		for hh := 0; hh < c.Heads; hh++ {
			h0 := hh * hd
			for i := 0; i < T; i++ {
				p := ba.p[(hh*T+i)*T : (hh*T+i)*T+i+1]
				dai := da[i*d+h0 : i*d+h0+hd]
				dp := s.dp[:i+1]
				var pdp float32
				for j := range p {
					dp[j] = kernel.Dot(dai, ba.v[j*d+h0:])
					pdp += p[j] * dp[j]
					kernel.Axpy(p[j], dai, dv[j*d+h0:j*d+h0+hd])
				}
				qi := ba.q[i*d+h0 : i*d+h0+hd]
				dqi := dq[i*d+h0 : i*d+h0+hd]
				for j := range p {
					ds := p[j] * (dp[j] - pdp) * n.scale
					if ds == 0 {
						continue
					}
					kernel.Axpy(ds, ba.k[j*d+h0:j*d+h0+hd], dqi)
					kernel.Axpy(ds, qi, dk[j*d+h0:j*d+h0+hd])
				}
			}
		}
		dh1 := s.dh[:T*d]
		clear(dh1)
		for i := 0; i < T; i++ {
			// Undo the rotation: the gradient of a rotation is the inverse rotation.
			cos, sin := row(n.cos, i, half), row(n.sin, i, half)
			negSin := make([]float32, half)
			for j, v := range sin {
				negSin[j] = -v
			}
			kernel.Rope(row(dq, i, d), hd, cos, negSin)
			kernel.Rope(row(dk, i, d), hd, cos, negSin)
			h1 := row(ba.h1, i, d)
			matBack(row(dh1, i, d), gb.Query, h1, row(dq, i, d), b.Query)
			matBack(row(dh1, i, d), gb.Key, h1, row(dk, i, d), b.Key)
			matBack(row(dh1, i, d), gb.Value, h1, row(dv, i, d), b.Value)
		}
		// dx for the block input: the residual path plus the norm's gradient.
		copy(dx, dxm)
		for i := 0; i < T; i++ {
			rmsBack(row(dx, i, d), gb.AttnNorm, row(dh1, i, d), row(ba.xin, i, d), b.AttnNorm, ba.r1[i])
		}
	}
	for i, id := range a.ids {
		kernel.Axpy(1, row(dx, i, d), row(g.TokenEmbed, id, d))
		kernel.Axpy(1, row(dx, i, d), row(g.SegmentEmbed, a.segs[i], d))
	}
}
