package local

import (
	"fmt"
	"math"

	"github.com/retrain-rl/retrain/model/local/internal/kernel"
)

// network is loaded weights with their precomputed tables. It is read-only
// and shared by all generations.
type network struct {
	w        *Weights
	c        Config
	headDim  int
	scale    float32
	cos, sin []float32
}

func newNetwork(w *Weights) (*network, error) {
	if err := w.Config.Validate(); err != nil {
		return nil, err
	}
	hd := w.Config.Dim / w.Config.Heads
	cos, sin := kernel.RopeTables(w.Config.Context, hd, w.Config.RopeBase)
	return &network{w: w, c: w.Config, headDim: hd, scale: float32(1 / math.Sqrt(float64(hd))), cos: cos, sin: sin}, nil
}

// cache is the state of one sequence being generated: every block's keys and
// values so far (the KV cache), the segment position of the next token, and
// scratch space. One goroutine uses a cache at a time.
type cache struct {
	k, v   [][]float32 // per block, [positions][Dim], grown on demand up to the context
	n      int         // tokens fed
	seg    int         // position of the next token within its message
	x, h   []float32   // residual stream, normed
	q      []float32
	att    []float32 // attention output, [Dim]
	proj   []float32 // [Dim]
	hid    []float32 // [Hidden]
	scores []float32 // [positions]
	logits []float32 // [Vocab]
}

func (nt *network) newCache() *cache {
	c := nt.c
	kc := &cache{
		k: make([][]float32, c.Layers), v: make([][]float32, c.Layers),
		x: make([]float32, c.Dim), h: make([]float32, c.Dim), q: make([]float32, c.Dim),
		att: make([]float32, c.Dim), proj: make([]float32, c.Dim), hid: make([]float32, c.Hidden),
		logits: make([]float32, c.Vocab),
	}
	kc.grow(c, min(c.Context, initialCache))
	return kc
}

// initialCache is how many positions a new cache holds; it grows on demand
// up to the context, so a long context costs memory only when used.
const initialCache = 256

// grow makes room for n positions in every block's keys and values.
func (kc *cache) grow(c Config, n int) {
	for l := range kc.k {
		k := make([]float32, n*c.Dim)
		v := make([]float32, n*c.Dim)
		copy(k, kc.k[l])
		copy(v, kc.v[l])
		kc.k[l], kc.v[l] = k, v
	}
	if len(kc.scores) < n {
		kc.scores = make([]float32, n)
	}
}

func (kc *cache) reset() { kc.n, kc.seg = 0, 0 }

// feed appends token id to the sequence; with wantLogits it leaves the
// logits of the next token in kc.logits. The caller checks the context.
func (nt *network) feed(kc *cache, id int, wantLogits bool) {
	c, w := nt.c, nt.w
	d, hd, pos := c.Dim, nt.headDim, kc.n
	if pos >= c.Context {
		panic(fmt.Sprintf("local: feed past the context of %d tokens", c.Context))
	}
	if (pos+1)*d > len(kc.k[0]) {
		kc.grow(c, min(c.Context, 2*len(kc.k[0])/d))
	}
	if isRole(id) {
		kc.seg = 0
	}
	seg := min(kc.seg, c.SegmentPositions-1)
	x := kc.x
	copy(x, w.TokenEmbed[id*d:(id+1)*d])
	kernel.Axpy(1, w.SegmentEmbed[seg*d:(seg+1)*d], x)
	half := hd / 2
	cos, sin := nt.cos[pos*half:(pos+1)*half], nt.sin[pos*half:(pos+1)*half]
	for l := range w.Blocks {
		b := &w.Blocks[l]
		kernel.RMSNorm(kc.h, x, b.AttnNorm)
		kRow := kc.k[l][pos*d : (pos+1)*d]
		vRow := kc.v[l][pos*d : (pos+1)*d]
		kernel.MatVec(kc.q, kc.h, b.Query)
		kernel.MatVec(kRow, kc.h, b.Key)
		kernel.MatVec(vRow, kc.h, b.Value)
		kernel.Rope(kc.q, hd, cos, sin)
		kernel.Rope(kRow, hd, cos, sin)
		clear(kc.att)
		for h0 := 0; h0 < d; h0 += hd {
			q := kc.q[h0 : h0+hd]
			s := kc.scores[:pos+1]
			m := float32(math.Inf(-1))
			for j := range s {
				s[j] = kernel.Dot(q, kc.k[l][j*d+h0:]) * nt.scale
				m = max(m, s[j])
			}
			var sum float32
			for j, v := range s {
				e := float32(math.Exp(float64(v - m)))
				s[j] = e
				sum += e
			}
			out := kc.att[h0 : h0+hd]
			inv := 1 / sum
			for j, p := range s {
				kernel.Axpy(p*inv, kc.v[l][j*d+h0:j*d+h0+hd], out)
			}
		}
		kernel.MatVec(kc.proj, kc.att, b.AttnOut)
		kernel.Axpy(1, kc.proj, x)
		kernel.RMSNorm(kc.h, x, b.MLPNorm)
		kernel.MatVec(kc.hid, kc.h, b.Up)
		for i, v := range kc.hid {
			kc.hid[i] = max(v, 0)
		}
		kernel.MatVec(kc.proj, kc.hid, b.Down)
		kernel.Axpy(1, kc.proj, x)
	}
	kc.n++
	kc.seg++
	if wantLogits {
		kernel.RMSNorm(kc.h, x, w.FinalNorm)
		kernel.MatVec(kc.logits, kc.h, w.Output)
	}
}

// sequenceLogits runs the network over a whole sequence at once, without a
// cache, and returns the logits after every token ([len(ids)][Vocab]). It is
// the reference the cached path is checked against, and scores sequences.
func (nt *network) sequenceLogits(ids []int) [][]float32 {
	c, w := nt.c, nt.w
	d, hd, n := c.Dim, nt.headDim, len(ids)
	half := hd / 2
	row := func(m []float32, i, width int) []float32 { return m[i*width : (i+1)*width] }
	x := make([]float32, n*d)
	segs := SegmentPositions(ids, c.SegmentPositions)
	for i, id := range ids {
		copy(row(x, i, d), row(w.TokenEmbed, id, d))
		kernel.Axpy(1, row(w.SegmentEmbed, segs[i], d), row(x, i, d))
	}
	h := make([]float32, n*d)
	q := make([]float32, n*d)
	k := make([]float32, n*d)
	v := make([]float32, n*d)
	att := make([]float32, n*d)
	tmp := make([]float32, d)
	hid := make([]float32, c.Hidden)
	s := make([]float32, n)
	for l := range w.Blocks {
		b := &w.Blocks[l]
		for i := 0; i < n; i++ {
			kernel.RMSNorm(row(h, i, d), row(x, i, d), b.AttnNorm)
			kernel.MatVec(row(q, i, d), row(h, i, d), b.Query)
			kernel.MatVec(row(k, i, d), row(h, i, d), b.Key)
			kernel.MatVec(row(v, i, d), row(h, i, d), b.Value)
			kernel.Rope(row(q, i, d), hd, row(nt.cos, i, half), row(nt.sin, i, half))
			kernel.Rope(row(k, i, d), hd, row(nt.cos, i, half), row(nt.sin, i, half))
		}
		clear(att)
		for i := 0; i < n; i++ {
			for h0 := 0; h0 < d; h0 += hd {
				m := float32(math.Inf(-1))
				for j := 0; j <= i; j++ {
					s[j] = kernel.Dot(q[i*d+h0:i*d+h0+hd], k[j*d+h0:]) * nt.scale
					m = max(m, s[j])
				}
				var sum float32
				for j := 0; j <= i; j++ {
					s[j] = float32(math.Exp(float64(s[j] - m)))
					sum += s[j]
				}
				for j := 0; j <= i; j++ {
					kernel.Axpy(s[j]/sum, v[j*d+h0:j*d+h0+hd], att[i*d+h0:i*d+h0+hd])
				}
			}
		}
		for i := 0; i < n; i++ {
			kernel.MatVec(tmp, row(att, i, d), b.AttnOut)
			kernel.Axpy(1, tmp, row(x, i, d))
			kernel.RMSNorm(row(h, i, d), row(x, i, d), b.MLPNorm)
			kernel.MatVec(hid, row(h, i, d), b.Up)
			for j, u := range hid {
				hid[j] = max(u, 0)
			}
			kernel.MatVec(tmp, hid, b.Down)
			kernel.Axpy(1, tmp, row(x, i, d))
		}
	}
	out := make([][]float32, n)
	for i := 0; i < n; i++ {
		kernel.RMSNorm(tmp, row(x, i, d), w.FinalNorm)
		out[i] = make([]float32, c.Vocab)
		kernel.MatVec(out[i], tmp, w.Output)
	}
	return out
}
