package chatwire

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []int32
		err  bool
	}{
		{in: `null`, want: nil},
		{in: `[]`, want: []int32{}},
		{in: ` [ ] `, want: []int32{}},
		{in: `[1,2,3]`, want: []int32{1, 2, 3}},
		{in: "[ 0 ,\n-7,\t151643 ]", want: []int32{0, -7, 151643}},
		{in: `[-0]`, want: []int32{0}},
		{in: `[2147483647,-2147483648]`, want: []int32{2147483647, -2147483648}},
		{in: `[0000000000002147483647]`, want: []int32{2147483647}}, // not JSON, but in range
		// Out of int32's range: malformed, not wrapped around.
		{in: `[2147483648]`, err: true},
		{in: `[-2147483649]`, err: true},
		{in: `[4294967296]`, err: true},
		{in: `[1,4294967297]`, err: true},
		{in: `[9223372036854775807]`, err: true},
		{in: `[-9223372036854775808]`, err: true},
		{in: `[99999999999999999999999]`, err: true},
		{in: `[1.5]`, err: true},
		{in: `[1e3]`, err: true},
		{in: `["1"]`, err: true},
		{in: `[[1]]`, err: true},
		{in: `[1,]`, err: true},
		{in: `[,1]`, err: true},
		{in: `[-]`, err: true},
		{in: `{"a":1}`, err: true},
		{in: `7`, err: true},
		{in: `[null]`, err: true},
	}
	for _, tt := range tests {
		var l TokenIDs
		err := l.UnmarshalJSON([]byte(tt.in))
		if tt.err {
			if !errors.Is(err, ErrTokenIDs) {
				t.Errorf("%s: error %v, want ErrTokenIDs", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, []int32(l)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, diff)
		}
		if cap(l) != len(l) {
			t.Errorf("%s: capacity %d for %d ids, want exact", tt.in, cap(l), len(l))
		}
	}
}

// FuzzTokenIDs checks TokenIDs against encoding/json's []int32 on valid JSON:
// what TokenIDs accepts, encoding/json accepts with the same values, and what
// encoding/json refuses (out of int32's range included), TokenIDs refuses.
// (TokenIDs also refuses null elements, which encoding/json reads as 0.)
func FuzzTokenIDs(f *testing.F) {
	for _, s := range []string{`[1,2,3]`, `[]`, `null`, `[-0, 12 ,3]`, `[1.0]`, `[1e2]`, `["x"]`, `[18446744073709551616]`,
		`[-9223372036854775808]`, `[2147483647,-2147483648]`, `[2147483648]`, `[-2147483649]`, `[4294967296]`, `[1,null]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		var want []int32
		wantErr := json.Unmarshal([]byte(s), &want)
		var got TokenIDs
		gotErr := json.Unmarshal([]byte(s), &got)
		if gotErr == nil && wantErr != nil {
			t.Fatalf("%s: TokenIDs accepted what encoding/json refused (%v)", s, wantErr)
		}
		if gotErr != nil && wantErr == nil && !strings.Contains(s, "null") {
			t.Fatalf("%s: TokenIDs refused what encoding/json accepted (%v)", s, gotErr)
		}
		if gotErr == nil && !cmp.Equal(want, []int32(got)) {
			t.Fatalf("%s: encoding/json %v, TokenIDs %v", s, want, got)
		}
	})
}

func TestTokenIDPlaceholders(t *testing.T) {
	for _, id := range []int32{0, 7, 151643, math.MaxInt32} {
		s := FormatTokenID(id)
		if s != "token_id:"+strconv.Itoa(int(id)) || string(AppendTokenID([]byte("x"), id)) != "x"+s {
			t.Errorf("FormatTokenID(%d) = %q, AppendTokenID differs or the form is wrong", id, s)
		}
		if got, ok := ParseTokenID(s); !ok || got != id {
			t.Errorf("ParseTokenID(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "token_id:", "token_id:-1", "token_id:2147483648", "token_id:1x", "tok:1", " token_id:1"} {
		if id, ok := ParseTokenID(s); ok {
			t.Errorf("ParseTokenID(%q) = %d, true; want false", s, id)
		}
	}
}
