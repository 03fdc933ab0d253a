package local

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestHalfRoundTrip(t *testing.T) {
	// Every half value but NaN survives widening and narrowing unchanged.
	for h := 0; h < 1<<16; h++ {
		f := halfToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := float32ToHalf(f); got != uint16(h) {
			t.Fatalf("half %#04x → %g → %#04x", h, f, got)
		}
	}
}

func TestFloat32ToHalf(t *testing.T) {
	tests := []struct {
		f    float32
		want uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {-1e6, 0xfc00},
		{float32(math.Inf(1)), 0x7c00}, {5.960464477539063e-08, 0x0001}, {1e-9, 0},
		{1 + 1.0/2048, 0x3c00}, // a tie rounds to even
		{1 + 3.0/2048, 0x3c02}, // a tie rounds to even (up)
		{0.1, 0x2e66},
	}
	for _, tt := range tests {
		if got := float32ToHalf(tt.f); got != tt.want {
			t.Errorf("float32ToHalf(%g) = %#04x, want %#04x", tt.f, got, tt.want)
		}
	}
	if h := float32ToHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN → %#04x, not a NaN", h)
	}
}

func testWeights(t testing.TB) *Weights {
	t.Helper()
	w, err := NewWeights(Config{Vocab: VocabSize, Dim: 4, Layers: 1, Heads: 2, Hidden: 6, SegmentPositions: 3, Context: 8, RopeBase: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range w.Tensors() {
		for j := range ts.Data {
			ts.Data[j] = float32(i) + float32(j)/8
		}
	}
	return w
}

func TestWeightsRoundTrip(t *testing.T) {
	w := testWeights(t)
	var buf bytes.Buffer
	if err := EncodeWeights(&buf, w, map[string]int{"steps": 3}); err != nil {
		t.Fatal(err)
	}
	got, notes, err := DecodeWeights(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if string(notes) != `{"steps":3}` {
		t.Errorf("notes = %s", notes)
	}
	if got.Config != w.Config {
		t.Errorf("config %+v, want %+v", got.Config, w.Config)
	}
	want := w.Tensors()
	for i, ts := range got.Tensors() {
		for j, v := range ts.Data {
			if v != halfToFloat32(float32ToHalf(want[i].Data[j])) {
				t.Fatalf("%s[%d] = %g, want %g", ts.Name, j, v, want[i].Data[j])
			}
		}
	}
}

func TestDecodeWeightsErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeWeights(&buf, testWeights(t), nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"other file", []byte("PK\x03\x04 a zip file")},
		{"truncated header", good[:len(magic)+2]},
		{"truncated data", good[:len(good)-1]},
		{"trailing bytes", append(bytes.Clone(good), 0)},
		{"bad header", append([]byte(magic), 2, 0, 0, 0, '{', '}')},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeWeights(tt.b)
			if !errors.Is(err, ErrBadWeights) {
				t.Errorf("err = %v, want ErrBadWeights", err)
			}
		})
	}
}

func FuzzDecodeWeights(f *testing.F) {
	var buf bytes.Buffer
	if err := EncodeWeights(&buf, testWeights(f), nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(magic))
	f.Add(append([]byte(magic), 200, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, _, err := DecodeWeights(b)
		if err != nil {
			if !errors.Is(err, ErrBadWeights) {
				t.Fatalf("error %v does not wrap ErrBadWeights", err)
			}
			return
		}
		header := int(binary.LittleEndian.Uint32(b[len(magic):]))
		if 2*w.Params() != len(b)-len(magic)-4-header {
			t.Fatalf("decoded %d parameters from a file of %d bytes", w.Params(), len(b))
		}
		if err := w.Config.Validate(); err != nil {
			t.Fatalf("decoded an invalid config: %v", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := Config{Vocab: VocabSize, Dim: 8, Layers: 1, Heads: 2, Hidden: 8, SegmentPositions: 4, Context: 16, RopeBase: 10000}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Config){
		func(c *Config) { c.Vocab = 300 },
		func(c *Config) { c.Dim = 0 },
		func(c *Config) { c.Heads = 3 },
		func(c *Config) { c.Heads = 8 }, // head width 1 is odd
		func(c *Config) { c.RopeBase = 1 },
		func(c *Config) { c.Context = -1 },
	}
	for i, mod := range bad {
		c := good
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: %+v is valid", i, c)
		}
	}
}

func TestHumanCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1k", 1499: "1k", 1500: "2k", 190_123: "190k", 999_999: "1000k", 1_000_000: "1.0M", 1_234_567: "1.2M"} {
		if got := humanCount(n); got != want {
			t.Errorf("humanCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// A float32 checkpoint reloads into exactly the weights saved; a bad dtype
// is refused by both the writer and the reader.
func TestWeightsFloat32RoundTrip(t *testing.T) {
	w := testWeights(t)
	w.TokenEmbed[3] = 1.0000001 // not a half-precision value
	var buf bytes.Buffer
	if err := WriteWeights(&buf, w, &EncodeOptions{DType: DTypeF32, Notes: "ckpt"}); err != nil {
		t.Fatal(err)
	}
	got, notes, err := DecodeWeights(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if string(notes) != `"ckpt"` {
		t.Errorf("notes = %s", notes)
	}
	want := w.Tensors()
	for i, ts := range got.Tensors() {
		for j, v := range ts.Data {
			if v != want[i].Data[j] {
				t.Fatalf("%s[%d] = %g, want %g", ts.Name, j, v, want[i].Data[j])
			}
		}
	}
	if err := WriteWeights(&buf, w, &EncodeOptions{DType: "bf16"}); err == nil || !strings.Contains(err.Error(), `"bf16"`) {
		t.Errorf("dtype bf16: %v", err)
	}
	bad := bytes.Replace(buf.Bytes(), []byte(`"dtype":"f32"`), []byte(`"dtype":"f64"`), 1)
	if _, _, err := DecodeWeights(bad); !errors.Is(err, ErrBadWeights) || !strings.Contains(err.Error(), "f64") {
		t.Errorf("dtype f64: %v", err)
	}
}

// Clone copies; FromWeights computes with the weights given, and its policy
// version follows their values.
func TestFromWeights(t *testing.T) {
	w := testWeights(t)
	c := w.Clone()
	for i := range c.Output {
		c.Output[i] *= -0.5
	}
	if w.Output[1] == c.Output[1] {
		t.Fatal("Clone shares its values")
	}
	m1, err := FromWeights(w, &Options{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := FromWeights(c, &Options{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := FromWeights(w.Clone(), &Options{Name: "m"})
	if v := m1.PolicyVersion(); !strings.HasPrefix(v, "m@") || len(v) != len("m@")+12 || v == m2.PolicyVersion() || v != again.PolicyVersion() {
		t.Errorf("policy versions %q, %q, %q", v, m2.PolicyVersion(), again.PolicyVersion())
	}
	ids := []int{TokenUser, 'a', 'b', TokenEnd}
	s1, err := m1.Score(ids, 1)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := m2.Score(ids, 1)
	if s1[len(s1)-1] == s2[len(s2)-1] {
		t.Errorf("changed output weights, same scores %v", s1)
	}
}
