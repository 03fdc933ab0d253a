package gym

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func decodeSpace(t testing.TB, s string) Space {
	t.Helper()
	var sp Space
	if err := json.Unmarshal([]byte(s), &sp); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return sp
}

// Spaces as the shim describes them.
const (
	discreteJSON = `{"type": "discrete", "n": 4, "start": 0}`
	boxJSON      = `{"type": "box", "shape": [2], "dtype": "float32", "low": [-1, 0], "high": ["Infinity", 1]}`
	intBoxJSON   = `{"type": "box", "shape": [2, 2], "dtype": "uint8", "low": 0, "high": 255}`
	multiJSON    = `{"type": "multi_discrete", "shape": [2], "nvec": [3, 2], "starts": [0, 5]}`
	binaryJSON   = `{"type": "multi_binary", "shape": [3]}`
	tupleJSON    = `{"type": "tuple", "spaces": [` + discreteJSON + `, {"type": "text", "min_length": 1, "max_length": 3, "charset": "xy"}]}`
	dictJSON     = `{"type": "dict", "keys": ["a", "b"], "spaces": [` + discreteJSON + `, ` + binaryJSON + `]}`
	unknownJSON  = `{"type": "unknown", "name": "Graph", "repr": "Graph(...)"}`
)

func TestParseActions(t *testing.T) {
	tests := []struct {
		space   string
		names   []string
		answer  string
		want    string // the JSON sent, or "" when invalid
		problem string
	}{
		{discreteJSON, nil, "2", "2", ""},
		{discreteJSON, nil, " 3 ", "3", ""},
		{discreteJSON, nil, "4", "", "4 is out of range: it must be from 0 to 3"},
		{discreteJSON, nil, "-1", "", "out of range"},
		{discreteJSON, nil, "two", "", "answer with an integer from 0 to 3"},
		{discreteJSON, []string{"left", "down", "right", "up"}, "Right", "2", ""},
		{discreteJSON, []string{"left", "down", "right", "up"}, "1", "1", ""},
		{discreteJSON, []string{"left", "down", "right", "up"}, "jump", "", "one of left, down, right, up, or its number (0 to 3)"},
		{`{"type": "discrete", "n": 3, "start": -1}`, nil, "-1", "-1", ""},
		{boxJSON, nil, "[0.5, 1]", "[0.5,1]", ""},
		{boxJSON, nil, "[-2, 1]", "", "-2 at [0] is out of bounds: it must be from -1 to +Inf"},
		{boxJSON, nil, "[1e300, 0]", "[1e+300,0]", ""},
		{boxJSON, nil, "[1, 2, 3]", "", "expected a JSON array of 2 items"},
		{boxJSON, nil, `[1, "a"]`, "", `expected a number at [1], got "a"`},
		{intBoxJSON, nil, "[[0, 255], [1, 2]]", "[[0,255],[1,2]]", ""},
		{intBoxJSON, nil, "[[0, 255], [1, 2.5]]", "", "2.5 at [1][1] is not an integer"},
		{intBoxJSON, nil, "[[0, 256], [1, 2]]", "", "256 at [0][1] is out of bounds"},
		{multiJSON, nil, "[2, 6]", "[2,6]", ""},
		{multiJSON, nil, "[2, 4]", "", "4 at [1] is out of range: it must be from 5 to 6"},
		{binaryJSON, nil, "[1, 0, 1]", "[1,0,1]", ""},
		{binaryJSON, nil, "[1, 0, 2]", "", "must be 0 or 1"},
		{tupleJSON, nil, `[1, "xy"]`, `[1,"xy"]`, ""},
		{tupleJSON, nil, `[1, "xz"]`, "", `the text at [1] contains 'z'`},
		{tupleJSON, nil, `[1]`, "", "expected a JSON array of 2 items"},
		{dictJSON, nil, `{"a": 1, "b": [0, 0, 1]}`, `{"a":1,"b":[0,0,1]}`, ""},
		{dictJSON, nil, `{"a": 1, "b": [0, 0, 1], "c": 2}`, "", `unknown key "c"`},
		{dictJSON, nil, `{"a": 1}`, "", `missing key "b"`},
		{dictJSON, nil, `{"a": 1,`, "", "is not valid JSON: the action must be a JSON object"},
		{`{"type": "text", "min_length": 1, "max_length": 5, "charset": ""}`, nil, `hello`, `"hello"`, ""},
		{`{"type": "text", "min_length": 1, "max_length": 5, "charset": ""}`, nil, `"hi there"`, "", "has 8 characters"},
		{unknownJSON, nil, `{"nodes": [1]}`, `{"nodes":[1]}`, ""},
		{unknownJSON, nil, `anything`, `"anything"`, ""},
	}
	for _, tt := range tests {
		acts, err := newActions(decodeSpace(t, tt.space), tt.names)
		if err != nil {
			t.Fatal(err)
		}
		v, err := acts.parse(tt.answer)
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("%s: parse(%q): err = %v, want one containing %q", tt.space, tt.answer, err, tt.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: parse(%q): %v", tt.space, tt.answer, err)
			continue
		}
		raw, err := acts.encode(v)
		if err != nil || string(raw) != tt.want {
			t.Errorf("%s: parse(%q) sends %s, %v; want %s", tt.space, tt.answer, raw, err, tt.want)
		}
	}
}

func TestDescribeAndExample(t *testing.T) {
	tests := []struct {
		space, describe, example string
	}{
		{discreteJSON, "an integer from 0 to 3", "0"},
		{boxJSON, "a JSON array of 2 numbers within the bounds low=[-1, 0], high=[+Inf, 1]", "[0,0]"},
		{`{"type": "box", "shape": [], "dtype": "float64", "low": "-Infinity", "high": "Infinity"}`, "a number", "0"},
		{`{"type": "box", "shape": [3], "dtype": "float32", "low": 2, "high": 5}`, "a JSON array of 3 numbers, each from 2 to 5", "[2,2,2]"},
		{intBoxJSON, "a JSON array of shape [2 2] (nested arrays) of integers, each from 0 to 255", "[[0,0],[0,0]]"},
		{multiJSON, "a JSON array of 2 integers, from 0 to 2, 5 to 6 respectively", "[0,5]"},
		{binaryJSON, "a JSON array of 3 zeros and ones", "[0,0,0]"},
		{tupleJSON, `a JSON array of 2 items (item 1: an integer from 0 to 3; item 2: a text of 1 to 3 characters using only the characters "xy")`, `[0,"x"]`},
		{dictJSON, `a JSON object with the keys "a": an integer from 0 to 3; "b": a JSON array of 3 zeros and ones`, `{"a":0,"b":[0,0,0]}`},
	}
	for _, tt := range tests {
		sp := decodeSpace(t, tt.space)
		if got := sp.Describe(); got != tt.describe {
			t.Errorf("%s: Describe() = %q, want %q", tt.space, got, tt.describe)
		}
		acts, _ := newActions(sp, nil)
		if got := acts.example(); got != tt.example {
			t.Errorf("%s: example = %s, want %s", tt.space, got, tt.example)
		}
		// The example is a valid action.
		if v, err := acts.parse(acts.example()); err != nil {
			t.Errorf("%s: the example %s does not parse: %v", tt.space, acts.example(), err)
		} else if err := sp.Check(v); err != nil {
			t.Errorf("%s: the example fails its check: %v", tt.space, err)
		}
	}
}

func TestActionNames(t *testing.T) {
	sp := decodeSpace(t, discreteJSON)
	for _, names := range [][]string{{"a", "b"}, {"a", "b", "A", "c"}, {"a", "", "b", "c"}} {
		if _, err := newActions(sp, names); err == nil {
			t.Errorf("names %q accepted for 4 actions", names)
		}
	}
	if _, err := newActions(decodeSpace(t, boxJSON), []string{"x", "y"}); err == nil || !strings.Contains(err.Error(), "not Discrete") {
		t.Errorf("names for a Box: err = %v", err)
	}
	acts, err := newActions(sp, []string{"left", "down", "right", "up"})
	if err != nil {
		t.Fatal(err)
	}
	if got := acts.canonical(2.0); got != "right" {
		t.Errorf("canonical(2) = %q", got)
	}
	if got := acts.describe(); got != "one of left (0), down (1), right (2), up (3): write the name or the number" {
		t.Errorf("describe() = %q", got)
	}
}

func TestPlainANSI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SFFF\n", "SFFF\n"},
		{"\x1b[41mS\x1b[0mFFF", "[S]FFF"},
		{"|\x1b[34;1mR\x1b[0m: |\x1b[43m \x1b[0m:G|", "|[R]: |[ ]:G|"},
		{"\x1b[2J\x1b[Hclear", "clear"},
		{"\x1b[1mbold", "[bold]"},
		{"cut \x1b[4", "cut "},
	}
	for _, tt := range tests {
		if got := plainANSI(tt.in); got != tt.want {
			t.Errorf("plainANSI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadable(t *testing.T) {
	tests := []struct{ in, want string }{
		{`5`, "5"},
		{`"higher"`, "higher"},
		{`[14, 10, 0]`, "[14,10,0]"},
		{`{"a": [1, 2]}`, `{"a":[1,2]}`},
		{``, "null"},
	}
	for _, tt := range tests {
		if got := readable(json.RawMessage(tt.in)); got != tt.want {
			t.Errorf("readable(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResultDecoding(t *testing.T) {
	var r Result
	err := json.Unmarshal([]byte(`{"observation": [1, "NaN"], "reward": "-Infinity", "terminated": true, "truncated": false, "info": null, "render": "x"}`), &r)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(r.Reward, -1) || !r.Terminated || *r.Render != "x" || r.Info == nil {
		t.Errorf("decoded %+v", r)
	}
	if err := json.Unmarshal([]byte(`{"reward": "lots"}`), &r); err == nil {
		t.Error(`reward "lots" decoded`)
	}
	var b bounds
	if err := json.Unmarshal([]byte(`"-Infinity"`), &b); err != nil || !cmp.Equal([]float64(b), []float64{math.Inf(-1)}) {
		t.Errorf("bounds: %v, %v", b, err)
	}
}

func FuzzParseAction(f *testing.F) {
	spaces := []string{discreteJSON, boxJSON, intBoxJSON, multiJSON, binaryJSON, tupleJSON, dictJSON, unknownJSON,
		`{"type": "text", "min_length": 0, "max_length": 4, "charset": "ab"}`}
	for i, s := range []string{"2", "[0.5, 1]", `{"a": 1, "b": [0, 1, 1]}`, `[1, "xy"]`, "left", "", "[[1,2],[3,4]]", "1e400", "ab"} {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, which uint8, ans string) {
		sp := decodeSpace(t, spaces[int(which)%len(spaces)])
		var names []string
		if sp.Type == SpaceDiscrete {
			names = []string{"left", "down", "right", "up"}
		}
		acts, err := newActions(sp, names)
		if err != nil {
			t.Fatal(err)
		}
		v, err := acts.parse(ans)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty problem")
			}
			return
		}
		// A parsed action passes its check, encodes, and reads back the
		// same from its canonical spelling.
		if err := sp.Check(v); err != nil {
			t.Fatalf("parse(%q) = %v, which fails Check: %v", ans, v, err)
		}
		raw, err := acts.encode(v)
		if err != nil {
			t.Fatalf("encode(%v): %v", v, err)
		}
		var back any
		if err := json.Unmarshal(raw, &back); err != nil || !sameAction(back, v) {
			t.Fatalf("encoded %s does not decode to %v", raw, v)
		}
		again, err := acts.parse(acts.canonical(v))
		if err != nil || !sameAction(again, v) {
			t.Fatalf("canonical %q of %v parses to %v, %v", acts.canonical(v), v, again, err)
		}
	})
}

func FuzzPlainANSI(f *testing.F) {
	for _, s := range []string{"\x1b[41mS\x1b[0m", "\x1b[", "\x1b", "plain", "\x1b[1;2;3m\x1b[m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := plainANSI(s)
		if strings.Contains(out, "\x1b") {
			t.Fatalf("plainANSI(%q) = %q still has an escape", s, out)
		}
		if strings.Count(out, "[")-strings.Count(s, "[") > strings.Count(s, "\x1b") {
			t.Fatalf("plainANSI(%q) = %q added more brackets than escapes", s, out)
		}
	})
}
