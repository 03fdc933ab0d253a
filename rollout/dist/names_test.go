package dist

import (
	"strings"
	"testing"
)

// A run id either is refused or names subjects and streams that are single
// NATS tokens: no dots, wildcards or spaces can reach another run's subjects.
func FuzzRunID(f *testing.F) {
	for _, s := range []string{"", "retrain", "exp-42_b", "a.b", "*", ">", "a b", strings.Repeat("x", 65), "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		n, err := namesOf(id)
		if err != nil {
			if !strings.Contains(err.Error(), "run id") {
				t.Fatalf("error %q does not name the run id", err)
			}
			return
		}
		if strings.ContainsAny(n.run, ".*> \t\r\n") || n.run == "" || len(n.run) > 64 {
			t.Fatalf("run id %q accepted as %q", id, n.run)
		}
		if n.episodes != "retrain."+n.run+".episodes" || n.results != "retrain."+n.run+".results" {
			t.Fatalf("names of %q: %+v", id, n)
		}
	})
}
