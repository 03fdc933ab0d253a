package local

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Config is the shape of the transformer.
type Config struct {
	// Vocab is the number of token ids (VocabSize).
	Vocab int `json:"vocab"`
	// Dim is the width of the residual stream.
	Dim int `json:"dim"`
	// Layers is the number of transformer blocks.
	Layers int `json:"layers"`
	// Heads is the number of attention heads; Dim must be a multiple of it,
	// and the head width (Dim/Heads) even (rotary embeddings).
	Heads int `json:"heads"`
	// Hidden is the width of each block's MLP.
	Hidden int `json:"hidden"`
	// SegmentPositions is how many positions within a message have their
	// own learned embedding; later positions share the last one.
	SegmentPositions int `json:"segment_positions"`
	// Context is the most tokens a sequence may hold, prompt and completion
	// together.
	Context int `json:"context"`
	// RopeBase is the base of the rotary position embedding's frequencies.
	RopeBase float64 `json:"rope_base"`
}

// Validate reports what is wrong with c, if anything.
func (c Config) Validate() error {
	switch {
	case c.Vocab != VocabSize:
		return fmt.Errorf("local: Config.Vocab is %d; the tokenizer has %d ids", c.Vocab, VocabSize)
	case c.Dim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Hidden <= 0 || c.SegmentPositions <= 0 || c.Context <= 0:
		return fmt.Errorf("local: Config %+v: Dim, Layers, Heads, Hidden, SegmentPositions and Context must be positive", c)
	case c.Dim%c.Heads != 0 || (c.Dim/c.Heads)%2 != 0:
		return fmt.Errorf("local: Config.Dim %d must be a multiple of Heads %d with an even head width", c.Dim, c.Heads)
	case c.RopeBase <= 1:
		return fmt.Errorf("local: Config.RopeBase is %g; it must be above 1 (10000 is usual)", c.RopeBase)
	}
	return nil
}

// params counts the parameters of c without allocating them; false means
// the shape is absurdly large.
func (c Config) params() (int, bool) {
	const limit = 1 << 24
	for _, v := range []int{c.Vocab, c.Dim, c.Layers, c.Hidden, c.SegmentPositions} {
		if v > limit {
			return 0, false
		}
	}
	d := c.Dim
	block := 2*d + 4*d*d + 2*d*c.Hidden
	n := (c.Vocab+c.SegmentPositions)*d + c.Layers*block + d + d*c.Vocab
	return n, n > 0 && n < 1<<31
}

// Weights are the parameters of the model. Matrices are stored row-major
// with the input dimension first ([in][out]), so y = x·W.
type Weights struct {
	Config Config
	// TokenEmbed is [Vocab][Dim]; SegmentEmbed is [SegmentPositions][Dim].
	TokenEmbed, SegmentEmbed []float32
	// Blocks are the transformer blocks.
	Blocks []Block
	// FinalNorm is the gain of the last RMS norm, [Dim].
	FinalNorm []float32
	// Output is the unembedding, [Dim][Vocab].
	Output []float32
}

// Block is one transformer block: pre-norm causal self-attention with
// rotary position embeddings, then a pre-norm ReLU MLP, each added to the
// residual stream.
type Block struct {
	// AttnNorm and MLPNorm are RMS norm gains, [Dim].
	AttnNorm, MLPNorm []float32
	// Query, Key, Value and AttnOut are [Dim][Dim].
	Query, Key, Value, AttnOut []float32
	// Up is [Dim][Hidden]; Down is [Hidden][Dim].
	Up, Down []float32
}

// Tensor names one parameter tensor of Weights.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// NewWeights returns zeroed weights of shape c; norm gains are one.
func NewWeights(c Config) (*Weights, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := &Weights{Config: c}
	w.tensors(true)
	return w, nil
}

// Tensors lists the parameter tensors in their fixed order (the order of the
// weights file). The Data slices alias w.
func (w *Weights) Tensors() []Tensor { return w.tensors(false) }

// tensors lists the tensors, allocating them first when alloc is set.
func (w *Weights) tensors(alloc bool) []Tensor {
	c := w.Config
	d, h, v := c.Dim, c.Hidden, c.Vocab
	if alloc {
		w.Blocks = make([]Block, c.Layers)
	}
	var ts []Tensor
	add := func(name string, p *[]float32, ones bool, shape ...int) {
		if alloc {
			n := 1
			for _, s := range shape {
				n *= s
			}
			*p = make([]float32, n)
			if ones {
				for i := range *p {
					(*p)[i] = 1
				}
			}
		}
		ts = append(ts, Tensor{Name: name, Shape: shape, Data: *p})
	}
	add("token_embed", &w.TokenEmbed, false, v, d)
	add("segment_embed", &w.SegmentEmbed, false, c.SegmentPositions, d)
	for i := range w.Blocks {
		b := &w.Blocks[i]
		p := fmt.Sprintf("blocks.%d.", i)
		add(p+"attn_norm", &b.AttnNorm, true, d)
		add(p+"query", &b.Query, false, d, d)
		add(p+"key", &b.Key, false, d, d)
		add(p+"value", &b.Value, false, d, d)
		add(p+"attn_out", &b.AttnOut, false, d, d)
		add(p+"mlp_norm", &b.MLPNorm, true, d)
		add(p+"up", &b.Up, false, d, h)
		add(p+"down", &b.Down, false, h, d)
	}
	add("final_norm", &w.FinalNorm, true, d)
	add("output", &w.Output, false, d, v)
	return ts
}

// Params counts the parameters.
func (w *Weights) Params() int {
	n := 0
	for _, t := range w.Tensors() {
		n += len(t.Data)
	}
	return n
}

// The weights file: the magic line, a little-endian uint32 header length, a
// JSON header (config, dtype, tensor names and shapes, free-form training
// notes), then every tensor's values in order as little-endian IEEE floats of
// the header's dtype: half precision (DTypeF16, what ships) or single
// precision (DTypeF32, exact checkpoints of training).
const magic = "retrain-local-weights v1\n"

// The dtypes of a weights file.
const (
	// DTypeF16 stores values in IEEE half precision: half the size, what
	// the built-in weights use, and what every version of the loader reads.
	DTypeF16 = "f16"
	// DTypeF32 stores values in single precision, exactly as trained: a
	// checkpoint that reloads into the very weights that were saved.
	DTypeF32 = "f32"
)

type fileHeader struct {
	Config  Config          `json:"config"`
	DType   string          `json:"dtype"`
	Tensors []tensorHeader  `json:"tensors"`
	Notes   json.RawMessage `json:"notes,omitempty"`
}

type tensorHeader struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// ErrBadWeights is wrapped by the errors of DecodeWeights.
var ErrBadWeights = errors.New("local: not a valid weights file")

// EncodeOptions configure WriteWeights. The zero value (or nil) writes half
// precision without notes.
type EncodeOptions struct {
	// DType is DTypeF16 (the default) or DTypeF32.
	DType string
	// Notes is any JSON value stored in the header (e.g. how the weights
	// were trained); nil means none.
	Notes any
}

// EncodeWeights writes w to out in the weights file format, in half
// precision, with notes (any JSON value, e.g. how it was trained) in the
// header.
func EncodeWeights(out io.Writer, w *Weights, notes any) error {
	return WriteWeights(out, w, &EncodeOptions{Notes: notes})
}

// WriteWeights writes w to out in the weights file format with the dtype
// and notes of opts.
func WriteWeights(out io.Writer, w *Weights, opts *EncodeOptions) error {
	var o EncodeOptions
	if opts != nil {
		o = *opts
	}
	if o.DType == "" {
		o.DType = DTypeF16
	}
	if o.DType != DTypeF16 && o.DType != DTypeF32 {
		return fmt.Errorf("local: weights dtype %q: use %q or %q", o.DType, DTypeF16, DTypeF32)
	}
	h := fileHeader{Config: w.Config, DType: o.DType}
	ts := w.Tensors()
	for _, t := range ts {
		h.Tensors = append(h.Tensors, tensorHeader{Name: t.Name, Shape: t.Shape})
	}
	if o.Notes != nil {
		b, err := json.Marshal(o.Notes)
		if err != nil {
			return fmt.Errorf("local: encode weights notes: %w", err)
		}
		h.Notes = b
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("local: encode weights header: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(magic)
	binary.Write(&buf, binary.LittleEndian, uint32(len(hb))) //nolint:errcheck // bytes.Buffer
	buf.Write(hb)
	for _, t := range ts {
		for _, x := range t.Data {
			if o.DType == DTypeF32 {
				binary.Write(&buf, binary.LittleEndian, math.Float32bits(x)) //nolint:errcheck // bytes.Buffer
			} else {
				binary.Write(&buf, binary.LittleEndian, float32ToHalf(x)) //nolint:errcheck // bytes.Buffer
			}
		}
	}
	if _, err := out.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("local: write weights: %w", err)
	}
	return nil
}

// DecodeWeights reads a weights file written by EncodeWeights or
// WriteWeights, in either dtype. It returns the weights and the header's
// notes.
func DecodeWeights(b []byte) (*Weights, json.RawMessage, error) {
	rest, ok := bytes.CutPrefix(b, []byte(magic))
	if !ok {
		return nil, nil, fmt.Errorf("%w: it does not start with %q", ErrBadWeights, magic[:len(magic)-1])
	}
	if len(rest) < 4 {
		return nil, nil, fmt.Errorf("%w: truncated header", ErrBadWeights)
	}
	n := binary.LittleEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(n) > uint64(len(rest)) {
		return nil, nil, fmt.Errorf("%w: header of %d bytes, file has %d left", ErrBadWeights, n, len(rest))
	}
	var h fileHeader
	if err := json.Unmarshal(rest[:n], &h); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrBadWeights, err)
	}
	rest = rest[n:]
	size := 0
	switch h.DType {
	case DTypeF16:
		size = 2
	case DTypeF32:
		size = 4
	default:
		return nil, nil, fmt.Errorf("%w: dtype %q (want %s or %s)", ErrBadWeights, h.DType, DTypeF16, DTypeF32)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadWeights, err)
	}
	if n, ok := h.Config.params(); !ok || uint64(n)*uint64(size) != uint64(len(rest)) {
		return nil, nil, fmt.Errorf("%w: %d bytes of values, the config %+v needs %d", ErrBadWeights, len(rest), h.Config, size*n)
	}
	w, err := NewWeights(h.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadWeights, err)
	}
	ts := w.Tensors()
	if len(ts) != len(h.Tensors) {
		return nil, nil, fmt.Errorf("%w: %d tensors, want %d", ErrBadWeights, len(h.Tensors), len(ts))
	}
	for i, t := range ts {
		th := h.Tensors[i]
		if th.Name != t.Name || !slices.Equal(th.Shape, t.Shape) {
			return nil, nil, fmt.Errorf("%w: tensor %d is %s%v, want %s%v", ErrBadWeights, i, th.Name, th.Shape, t.Name, t.Shape)
		}
		if len(rest) < size*len(t.Data) {
			return nil, nil, fmt.Errorf("%w: truncated in tensor %s", ErrBadWeights, t.Name)
		}
		for j := range t.Data {
			if size == 4 {
				t.Data[j] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*j:]))
			} else {
				t.Data[j] = halfToFloat32(binary.LittleEndian.Uint16(rest[2*j:]))
			}
		}
		rest = rest[size*len(t.Data):]
	}
	if len(rest) != 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes after the last tensor", ErrBadWeights, len(rest))
	}
	return w, h.Notes, nil
}

// Clone returns a deep copy of w.
func (w *Weights) Clone() *Weights {
	c := &Weights{Config: w.Config}
	c.tensors(true)
	CopyWeights(c, w)
	return c
}

// CopyWeights copies the values of src into dst, which has the same Config.
func CopyWeights(dst, src *Weights) {
	d := dst.Tensors()
	for i, t := range src.Tensors() {
		copy(d[i].Data, t.Data)
	}
}

// float32ToHalf rounds f to the nearest IEEE 754 half-precision value (ties
// to even); values beyond the half range become infinities.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff == 0:
		return sign
	case exp >= 0x1f: // overflow, Inf or NaN
		if b>>23&0xff == 0xff && mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp <= 0: // subnormal half, or zero
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		half := mant >> shift
		rem := mant & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is right
	}
	return sign | uint16(half)
}

// halfToFloat32 widens an IEEE 754 half-precision value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
