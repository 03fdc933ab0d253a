package dist

import (
	"slices"
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

// The coordinator publishes acks only to ack subjects of its run's
// episodes delivered to the workers' consumer: no wildcard, no other
// stream, consumer or API subject is accepted, and no input panics.
func FuzzAckSubject(f *testing.F) {
	for _, s := range []string{"", "$JS.ACK.RETRAIN_r_EPISODES.workers.1.2.3.4.0", "$JS.ACK.hub.ACC.RETRAIN_r_EPISODES.workers.1.2.3.4.0.xyz",
		"$JS.ACK.RETRAIN_r_EPISODES.>", "$JS.ACK.RETRAIN_r_EPISODES.workers.*.1.1.1.0", "$JS.ACK.OTHER.workers.1.1.1.1.0",
		"$JS.API.CONSUMER.DELETE.RETRAIN_r_EPISODES.workers.1", "$JS.ACK..RETRAIN_r_EPISODES.workers.1.1.1.1"} {
		f.Add(s)
	}
	n, err := namesOf("r")
	if err != nil {
		f.Fatal(err)
	}
	c := &coordinator{n: n}
	f.Fuzz(func(t *testing.T, s string) {
		if !c.ackSubject(s) {
			return
		}
		tok := strings.Split(s, ".")
		if !strings.HasPrefix(s, "$JS.ACK.") || strings.ContainsAny(s, "*> ") || !strings.Contains(s, ".RETRAIN_r_EPISODES.workers.") || slices.Contains(tok, "") {
			t.Fatalf("accepted %q", s)
		}
	})
}
