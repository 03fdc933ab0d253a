package report

import (
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
)

func TestWriteTable(t *testing.T) {
	b := NewBuilder(&Options{Pass: "correct", Threshold: ptr(0.5)})
	a := ep("a", 0, 1, []float64{1, 0}, []float64{0, -0.1})
	a.Rewards.Errors = []string{"turn 0: format: no dialect"}
	b.Add(a)
	b.Add(failed("a", 1, "timeout"))
	b.Add(failed("b", 0, ""))
	var out strings.Builder
	if err := b.Report().WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"episodes 3 (2 tasks, 2 failed: timeout 1, unknown 1)",
		"success rate 33.3% (1 of 3 pass: correct >= 0.5)",
		"pass@k pass@1 0.2500", // a: 1 of 2; b: 0 of 1; k only up to 1
		"mean turns 2",
		"parse errors 0 of 2 turns (0.0%)",
		"stop reasons error 2, terminated 1",
		"reward errors 1",
		"total 1.9000 0.0000 1.9000 1.9000 1",
		"correct rollout 1.0000",
		"env step (sum) -0.1000",
		"format step (sum) 1.0000",
	} {
		if !strings.Contains(squeeze(out.String()), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "pass@2") {
		t.Errorf("pass@2 reported though task b has one episode:\n%s", out.String())
	}

	out.Reset()
	empty := NewBuilder(nil)
	empty.Add(&retrain.Trajectory{StopReason: "terminated"})
	empty.Report().WriteTable(&out)
	if !strings.Contains(out.String(), "no scored episodes") || strings.Contains(out.String(), "success rate") {
		t.Errorf("table of unscored episodes without a pass criterion:\n%s", out.String())
	}
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }
