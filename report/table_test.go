package report

import "testing"

func TestFormatCounts(t *testing.T) {
	for _, tt := range []struct {
		m    map[string]int
		want string
	}{
		{nil, ""},
		{map[string]int{"max_turns": 2, "terminated": 7}, "terminated 7, max_turns 2"},
		{map[string]int{"b": 1, "a": 1, "": 3}, "(none) 3, a 1, b 1"},
	} {
		if got := FormatCounts(tt.m); got != tt.want {
			t.Errorf("FormatCounts(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}
