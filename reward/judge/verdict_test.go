package judge

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var ten = Scale{Min: 0, Max: 10}

func TestParseVerdict(t *testing.T) {
	yesNo := Scale{Min: 0, Max: 1, YesNo: true}
	tests := []struct {
		name  string
		reply string
		scale Scale
		want  float64 // -1: an error
	}{
		{"bare score", "7", ten, 0.7},
		{"bare score with period", "7.", ten, 0.7},
		{"decimal", "8.5", ten, 0.85},
		{"score line in prose", "The response is mostly right but misses a step.\nScore: 6", ten, 0.6},
		{"bold label", "Overall it is clear.\n\n**Score:** 9/10", ten, 0.9},
		{"score of", "I would give this response a score of 4 because it is vague.", ten, 0.4},
		{"rating out of", "Rating: 3 out of 10", ten, 0.3},
		{"fraction only", "Good answer overall. 8/10", ten, 0.8},
		{"last label wins", "Score: 2 at first glance, but on reflection\nScore: 5", ten, 0.5},
		{"json", `{"score": 10, "reason": "perfect"}`, ten, 1},
		{"json string score", `{"rating": "7/10"}`, ten, 0.7},
		{"json nested", `{"verdict": {"score": 3, "why": "wrong"}}`, ten, 0.3},
		{"fenced json", "Here is my verdict:\n```json\n{\"score\": 2}\n```\nThanks.", ten, 0.2},
		{"fenced json without tag", "```\n{\"Score\": 5}\n```", ten, 0.5},
		{"after think", "<think>The score could be 2 or 3. Score: 2</think>\nScore: 8", ten, 0.8},
		{"json after think", "<think>{\"score\": 1}</think>{\"score\": 9}", ten, 0.9},
		{"unfinished think", "<think>Let me weigh this. Score: 4", ten, -1},
		{"garbage", "I cannot judge this.", ten, -1},
		{"empty", "", ten, -1},
		{"outside the scale", "Score: 12", ten, -1},
		{"negative outside", "Score: -1", ten, -1},
		{"other denominator", "Score: 4/5", ten, -1},
		{"custom scale", "Score: 3", Scale{Min: 1, Max: 5}, 0.5},
		{"custom scale fraction", "4/5", Scale{Min: 1, Max: 5}, 0.75},
		{"yes", "Yes.", yesNo, 1},
		{"no", "no", yesNo, 0},
		{"verdict label", "The answer matches the reference.\nVerdict: yes", yesNo, 1},
		{"verdict bold no", "**Verdict:** No, it is wrong.", yesNo, 0},
		{"yes json", `{"verdict": "no"}`, yesNo, 0},
		{"yes json bool", `{"answer": true}`, yesNo, 1},
		{"yes after think", "<think>yes? no?</think>\n\nYES", yesNo, 1},
		{"yes_no garbage", "Maybe.", yesNo, -1},
		{"yes_no number", "Verdict: 7", yesNo, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVerdict(tt.reply, tt.scale)
			if tt.want < 0 {
				if err == nil {
					t.Fatalf("ParseVerdict(%q) = %v, want an error", tt.reply, got)
				}
				if !errors.Is(err, errNoVerdict) {
					t.Errorf("error %v does not wrap errNoVerdict", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseVerdict(%q): %v", tt.reply, err)
			}
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("ParseVerdict(%q) = %v, want %v", tt.reply, got, tt.want)
			}
		})
	}
}

func TestParseVerdictErrorsSayWhy(t *testing.T) {
	for reply, want := range map[string]string{
		"Score: 12":    "outside the scale 0 to 10",
		"nothing here": "found no score from 0 to 10",
		"<think>hmm":   "never ends",
		"Score: 3/5":   "not on the scale",
		"Score: lots":  "is not a number",
	} {
		_, err := ParseVerdict(reply, ten)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseVerdict(%q) error = %v, want it to say %q", reply, err, want)
		}
	}
}

func TestParseRubric(t *testing.T) {
	names := []string{"accuracy", "clarity"}
	tests := []struct {
		name    string
		reply   string
		want    []float64
		failed  []bool
		wantErr bool
	}{
		{"json", `{"accuracy": 8, "clarity": 6}`, []float64{0.8, 0.6}, []bool{false, false}, false},
		{"json under scores, any case", "```json\n{\"scores\": {\"Accuracy\": {\"score\": 10}, \"CLARITY\": \"5/10\"}}\n```", []float64{1, 0.5}, []bool{false, false}, false},
		{"prose lines", "accuracy: 7\nclarity: 9 - very readable", []float64{0.7, 0.9}, []bool{false, false}, false},
		{"one missing", `{"accuracy": 4}`, []float64{0.4, 0}, []bool{false, true}, false},
		{"one out of scale", `{"accuracy": 4, "clarity": 40}`, []float64{0.4, 0}, []bool{false, true}, false},
		{"none", "It is fine.", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, errs, err := parseRubric(tt.reply, names, ten)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; vals %v", vals)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			failed := make([]bool, len(errs))
			for i, e := range errs {
				failed[i] = e != nil
				if e != nil {
					vals[i] = 0
				}
			}
			if diff := cmp.Diff(tt.want, vals); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.failed, failed); diff != "" {
				t.Errorf("failed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGroup(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		want  []float64 // nil: an error
	}{
		{"scores list", `{"scores": [7, 3, 10]}`, []float64{0.7, 0.3, 1}},
		{"fenced after think", "<think>1 is best</think>\n```json\n{\"scores\": [9, 2, 5]}\n```", []float64{0.9, 0.2, 0.5}},
		{"objects with ids", `{"scores": [{"id": 3, "score": 1}, {"id": 1, "score": 9}, {"id": 2, "score": 4}]}`, []float64{0.9, 0.4, 0.1}},
		{"keyed", `{"1": 5, "2": 6, "3": 7}`, []float64{0.5, 0.6, 0.7}},
		{"bare array", "Scores: [1, 2, 3]", []float64{0.1, 0.2, 0.3}},
		{"prose", "Response 1: 8\nResponse 2: 4 (vague)\n**Response 3:** 6/10", []float64{0.8, 0.4, 0.6}},
		{"too few", `{"scores": [7, 3]}`, nil},
		{"missing in prose", "Response 1: 8\nResponse 3: 6", nil},
		{"out of scale", `{"scores": [7, 3, 11]}`, nil},
		{"bad id", `{"scores": [{"id": 4, "score": 1}, {"id": 1, "score": 9}, {"id": 2, "score": 4}]}`, nil},
		{"garbage", "All are good.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGroup(tt.reply, 3, ten)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("parseGroup = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpApprox); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

var cmpApprox = cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })

// FuzzParse checks that the parsers never panic and that what they read is
// a verdict in [0, 1].
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"7", "Score: 6", "**Score:** 9/10", `{"score": 10}`, "```json\n{\"score\": 2}\n```",
		"<think>x</think>Score: 8", "<think>never", "Verdict: yes", `{"scores": [7, 3, 10]}`,
		"Response 1: 8\nResponse 2: 4", `{"accuracy": 8, "clarity": 6}`, "{{{{[[[", "score of 1e308",
		`{"scores": [{"id": 2, "score": 1}, {"id": 1, "score": 9}]}`, "3 out of 10", "Score: NaN",
	} {
		f.Add(seed)
	}
	scales := []Scale{ten, {Min: 1, Max: 5}, {Min: 0, Max: 1, YesNo: true}}
	inRange := func(t *testing.T, what string, v float64) {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("%s read %v, outside [0, 1]", what, v)
		}
	}
	f.Fuzz(func(t *testing.T, reply string) {
		for _, s := range scales {
			if v, err := ParseVerdict(reply, s); err == nil {
				inRange(t, "ParseVerdict", v)
			}
			if vals, errs, err := parseRubric(reply, []string{"accuracy", "clarity"}, s); err == nil {
				for i, v := range vals {
					if errs[i] == nil {
						inRange(t, "parseRubric", v)
					}
				}
			}
			if vals, err := parseGroup(reply, 2, s); err == nil {
				if len(vals) != 2 {
					t.Fatalf("parseGroup read %d values for 2 responses", len(vals))
				}
				for _, v := range vals {
					inRange(t, "parseGroup", v)
				}
			}
		}
	})
}
