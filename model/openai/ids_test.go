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
		want []int
		err  bool
	}{
		{in: `null`, want: nil},
		{in: `[]`, want: []int{}},
		{in: ` [ ] `, want: []int{}},
		{in: `[1,2,3]`, want: []int{1, 2, 3}},
		{in: "[ 0 ,\n-7,\t151643 ]", want: []int{0, -7, 151643}},
		{in: `[-0]`, want: []int{0}},
		{in: `[9223372036854775807,-9223372036854775808]`, want: []int{9223372036854775807, -9223372036854775808}},
		{in: `[9223372036854775808]`, err: true},
		{in: `[-9223372036854775809]`, err: true},
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
		if diff := cmp.Diff(tt.want, []int(l)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, diff)
		}
		if cap(l) != len(l) {
			t.Errorf("%s: capacity %d for %d ids, want exact", tt.in, cap(l), len(l))
		}
	}
}

// FuzzIDList checks idList against encoding/json's []int on valid JSON:
// what idList accepts, encoding/json accepts with the same values, and what
// encoding/json refuses, idList refuses. (idList also refuses null elements,
// which encoding/json reads as 0.)
func FuzzIDList(f *testing.F) {
	for _, s := range []string{`[1,2,3]`, `[]`, `null`, `[-0, 12 ,3]`, `[1.0]`, `[1e2]`, `["x"]`, `[18446744073709551616]`, `[-9223372036854775808]`, `[1,null]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		var want []int
		wantErr := json.Unmarshal([]byte(s), &want)
		var got idList
		gotErr := json.Unmarshal([]byte(s), &got)
		if gotErr == nil && wantErr != nil {
			t.Fatalf("%s: idList accepted what encoding/json refused (%v)", s, wantErr)
		}
		if gotErr != nil && wantErr == nil && !strings.Contains(s, "null") {
			t.Fatalf("%s: idList refused what encoding/json accepted (%v)", s, gotErr)
		}
		if gotErr == nil && !cmp.Equal(want, []int(got)) {
			t.Fatalf("%s: encoding/json %v, idList %v", s, want, got)
		}
	})
}
