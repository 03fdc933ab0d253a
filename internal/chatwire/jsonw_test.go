package chatwire

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"a\nb\tc\r", `"a\nb\tc\r"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"<&>", `"<&>"`},
		{"é漢🙂", `"é漢🙂"`},
		{"bad\xffbyte", `"bad\ufffdbyte"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
	}
	for _, tt := range tests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, f := range []float64{0, -0.5, 1e-9, 1e-5, -3.2e-7, 1e6, 1234567, -9999, 1e21, 1e20, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		b, err := AppendFloat(nil, f)
		if err != nil {
			t.Fatalf("AppendFloat(%v): %v", f, err)
		}
		var back float64
		if err := json.Unmarshal(b, &back); err != nil || back != f {
			t.Errorf("AppendFloat(%v) = %s, decodes to %v (%v)", f, b, back, err)
		}
		if want, _ := json.Marshal(f); string(b) != string(want) {
			t.Errorf("AppendFloat(%v) = %s, encoding/json writes %s", f, b, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := AppendFloat(nil, f); err == nil {
			t.Errorf("AppendFloat(%v) succeeded, want an error", f)
		}
	}
}

func TestAppendInts(t *testing.T) {
	if got := string(AppendInts(nil, []int32{1, -2, 300})); got != "[1,-2,300]" {
		t.Errorf("AppendInts = %s", got)
	}
	if got := string(AppendInts(nil, nil)); got != "[]" {
		t.Errorf("AppendInts(nil) = %s", got)
	}
}

// FuzzAppendString checks that every string is written as valid JSON that
// decodes to what encoding/json makes of the same string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff\xfe", "\u2028", "\x00", "漢字\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: not valid JSON: %v", s, b, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("AppendString(%q) decodes to %q, encoding/json gives %q", s, got, want)
		}
	})
}
