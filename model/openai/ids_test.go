package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIDList(t *testing.T) {
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
		var l idList
		err := l.UnmarshalJSON([]byte(tt.in))
		if tt.err {
			if !errors.Is(err, errNotIDs) {
				t.Errorf("%s: error %v, want errNotIDs", tt.in, err)
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

// FuzzIDList checks idList against encoding/json's []int32 on valid JSON:
// what idList accepts, encoding/json accepts with the same values, and what
// encoding/json refuses (out of int32's range included), idList refuses.
// (idList also refuses null elements, which encoding/json reads as 0.)
func FuzzIDList(f *testing.F) {
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
		var got idList
		gotErr := json.Unmarshal([]byte(s), &got)
		if gotErr == nil && wantErr != nil {
			t.Fatalf("%s: idList accepted what encoding/json refused (%v)", s, wantErr)
		}
		if gotErr != nil && wantErr == nil && !strings.Contains(s, "null") {
			t.Fatalf("%s: idList refused what encoding/json accepted (%v)", s, gotErr)
		}
		if gotErr == nil && !cmp.Equal(want, []int32(got)) {
			t.Fatalf("%s: encoding/json %v, idList %v", s, want, got)
		}
	})
}
