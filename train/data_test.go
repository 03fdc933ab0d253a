package train

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/rollout"
)

func TestEstimate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1171", "1200"}, {"196020", "200000"}, {"42", "42"}, {"7", "7"}, {"-1234", "-1200"}, {"0", "0"}, {"x", "x"},
	}
	for _, tt := range tests {
		if got := estimate(tt.in); got != tt.want {
			t.Errorf("estimate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The generator plays real calculator episodes: the tool call carries the
// task's expression, the environment's <result> comes back, and the answer
// copies it; guessed episodes answer at once. Held-out tasks never appear.
func TestGenerator(t *testing.T) {
	ctx := context.Background()
	g, err := NewGenerator(ctx, 1, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	heldOut := map[string]bool{}
	for _, s := range HeldOutSeeds {
		for _, task := range rollout.ArithmeticTasks(heldOutTasks, s) {
			heldOut[task.Prompt] = true
		}
	}
	call := regexp.MustCompile(`^<tool>\{"name": "calculator", "args": \{"expression": "([^"]+)"\}\}</tool>$`)
	tools, guesses := 0, 0
	for range 40 {
		msgs, err := g.Episode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if msgs[0].Role != retrain.RoleSystem || msgs[1].Role != retrain.RoleUser {
			t.Fatalf("episode starts with %s, %s", msgs[0].Role, msgs[1].Role)
		}
		q := msgs[1].Content
		if heldOut[q] {
			t.Errorf("held-out task %q in the training data", q)
		}
		switch len(msgs) {
		case 5:
			tools++
			m := call.FindStringSubmatch(msgs[2].Content)
			if m == nil || q != "What is "+m[1]+"?" {
				t.Errorf("tool call %q for %q", msgs[2].Content, q)
			}
			result := strings.TrimSuffix(strings.TrimPrefix(msgs[3].Content, "<result>"), "</result>")
			if msgs[4].Content != "<answer>"+result+"</answer>" {
				t.Errorf("answer %q after %q", msgs[4].Content, msgs[3].Content)
			}
		case 3:
			guesses++
			if !strings.HasPrefix(msgs[2].Content, "<answer>") {
				t.Errorf("guess %q", msgs[2].Content)
			}
		default:
			t.Errorf("episode of %d messages", len(msgs))
		}
		if ids, _ := local.RenderTraining(msgs); len(ids) > 200 {
			t.Errorf("episode of %d tokens", len(ids))
		}
	}
	if tools == 0 || guesses == 0 {
		t.Errorf("%d tool episodes, %d guesses; want both at guess rate 0.5", tools, guesses)
	}
}

func TestCorrect(t *testing.T) {
	traj := func(kind retrain.ActionKind, text, parseErr string) *retrain.Trajectory {
		return &retrain.Trajectory{Task: retrain.Task{Answer: "12"}, Turns: []retrain.Turn{{Action: retrain.Action{Kind: kind, Text: text, ParseError: parseErr}}}}
	}
	tests := []struct {
		t    *retrain.Trajectory
		want bool
	}{
		{traj(retrain.ActionText, "12", ""), true},
		{traj(retrain.ActionText, " 12 ", ""), true},
		{traj(retrain.ActionText, "13", ""), false},
		{traj(retrain.ActionText, "12", "no answer block"), false},
		{traj(retrain.ActionToolCall, "12", ""), false},
		{&retrain.Trajectory{Task: retrain.Task{Answer: "12"}}, false},
	}
	for i, tt := range tests {
		if got := Correct(tt.t); got != tt.want {
			t.Errorf("case %d: Correct = %v, want %v", i, got, tt.want)
		}
	}
	var r Report
	r.Score(tests[0].t)
	r.Score(tests[2].t)
	if r.Accuracy() != 0.5 || r.ParseRate() != 1 || !strings.Contains(r.String(), "50.0% right") {
		t.Errorf("report %v", r)
	}
}
