package gym_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/bridge/gym"
	"github.com/retrain-rl/retrain/env/envtest"
)

func TestConformanceGrid(t *testing.T) {
	needPython(t)
	o := options(t, "gridworld:make", `{"render_mode": "ansi", "max_episode_steps": 20}`)
	o.ActionNames = frozenNames
	envtest.Run(t, func() retrain.Environment { return gym.New(o) }, &envtest.Options{
		Seed:    7,
		Actions: func(retrain.Observation) retrain.Action { return answer("right") },
	})
}

func TestGridEpisode(t *testing.T) {
	o := options(t, "gridworld:GridWorld", `{"render_mode": "ansi", "is_slippery": false}`)
	o.ActionNames = frozenNames
	e := ready(t, o)
	obs, info, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(5)})
	if err != nil {
		t.Fatal(err)
	}
	if got := info["env_info"].(map[string]any)["seed"]; got != 5.0 {
		t.Errorf("the environment was reset with seed %v, want 5", got)
	}
	wantStart := "[S]FFF\nFHFH\nFFFH\nHFFG\nObservation: 0\nYour action?"
	if obs.Content != wantStart {
		t.Errorf("first observation:\n%s\nwant\n%s", obs.Content, wantStart)
	}
	sys := obs.Messages[0].Content
	for _, want := range []string{"gridworld:GridWorld", "one of left (0), down (1), right (2), up (3)", "<answer>left</answer>"} {
		if !strings.Contains(sys, want) {
			t.Errorf("system prompt does not contain %q:\n%s", want, sys)
		}
	}
	var total float64
	var step retrain.Step
	for i, a := range []string{"right", "2", "DOWN", "down", "down", "right"} {
		step, err = e.Step(t.Context(), answer(a))
		if err != nil {
			t.Fatal(err)
		}
		total += step.Reward
		if step.Info["invalid_action"] != false {
			t.Fatalf("step %d (%s) was invalid: %s", i+1, a, step.Observation.Content)
		}
		if i < 5 && step.Done() {
			t.Fatalf("episode ended at step %d: %s", i+1, step.Observation.Content)
		}
	}
	if !step.Terminated || total != 1 || step.Observation.RequiresAction {
		t.Errorf("end: terminated %v, total %v, requires action %v", step.Terminated, total, step.Observation.RequiresAction)
	}
	if !strings.Contains(step.Observation.Content, "HFF[G]") || !strings.Contains(step.Observation.Content, "(Right)") {
		t.Errorf("final render does not show the agent on G:\n%s", step.Observation.Content)
	}
	if step.Info["action"] != "2" {
		t.Errorf("action sent %v, want 2", step.Info["action"])
	}
	// Unseeded resets pass None.
	_, info, err = e.Reset(t.Context(), retrain.ResetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info["env_info"].(map[string]any)["seed"]; got != nil {
		t.Errorf("unseeded reset passed seed %v, want None", got)
	}
	// Reset options reach reset(options=…), from the task's metadata.
	obs, _, err = e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{
		Prompt: "Reach G.", Metadata: map[string]any{"reset_options": map[string]any{"start": 5}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(obs.Content, "Reach G.\n\n") || !strings.Contains(obs.Content, "Observation: 5") {
		t.Errorf("with reset options and a task prompt:\n%s", obs.Content)
	}
}

// trajectory plays actions from a seed and returns what the model saw.
func trajectory(t *testing.T, e *gym.Env, seed int64, actions ...string) []string {
	t.Helper()
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(seed)})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{obs.Content}
	for _, a := range actions {
		step, err := e.Step(t.Context(), answer(a))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(step.Info)
		out = append(out, step.Observation.Content, string(b))
		if step.Done() {
			break
		}
	}
	return out
}

func TestSeededReproducible(t *testing.T) {
	o := options(t, "gridworld:make", `{"render_mode": "ansi"}`)
	o.ActionNames = frozenNames
	a, b := ready(t, o), ready(t, o)
	moves := []string{"right", "right", "down", "down", "down", "right", "up", "left"}
	first := trajectory(t, a, 42, moves...)
	if diff := cmp.Diff(first, trajectory(t, b, 42, moves...)); diff != "" {
		t.Errorf("same seed, two processes, different trajectories (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(first, trajectory(t, a, 42, moves...)); diff != "" {
		t.Errorf("same seed, same process after another episode, different trajectory (-first +again):\n%s", diff)
	}
	differ := false
	for seed := int64(43); seed < 48 && !differ; seed++ {
		differ = !cmp.Equal(first, trajectory(t, b, seed, moves...))
	}
	if !differ {
		t.Error("seeds 42 to 47 all gave the same slippery trajectory")
	}
}

func TestInvalidActions(t *testing.T) {
	o := options(t, "misbehave:counter", `{"steps": 3}`)
	o.ActionNames = []string{"stay", "go"}
	o.InvalidActionPenalty = new(-0.25)
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	parse := e.Dialect().Parse
	tests := []struct{ raw, want string }{
		{"<answer>jump</answer>", `"jump" is not an action: answer with one of stay, go, or its number (0 to 1)`},
		{"<answer>7</answer>", "7 is out of range: it must be from 0 to 1"},
		{"<answer>1.5</answer>", "expected an integer, got 1.5"},
		{"go", "found neither a <tool> block nor an <answer> block"},
		{`<tool>{"name": "move", "args": {}}</tool>`, "no tools are available here"},
	}
	for i, tt := range tests {
		step, err := e.Step(t.Context(), parse(tt.raw, nil))
		if err != nil {
			t.Fatal(err)
		}
		c := step.Observation.Content
		if step.Reward != -0.25 || step.Done() || step.Info["invalid_actions"] != i+1 || !strings.Contains(c, tt.want) ||
			!strings.Contains(c, "write it like this: <answer>stay</answer>") || !strings.Contains(c, "Observation: 0") {
			t.Errorf("%s: reward %v, done %v, info %v, content:\n%s", tt.raw, step.Reward, step.Done(), step.Info, c)
		}
	}
	// Nothing was sent: the counter is still at 0, so this step makes it 1.
	step, err := e.Step(t.Context(), parse("<answer>go</answer>", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(step.Observation.Content, "Observation: 1") || step.Reward != 1 {
		t.Errorf("after invalid actions, the first valid step: reward %v\n%s", step.Reward, step.Observation.Content)
	}
}

func TestMaxSteps(t *testing.T) {
	o := options(t, "misbehave:counter", `{"steps": 50}`)
	o.MaxSteps = 3
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		step, err := e.Step(t.Context(), answer("nonsense"))
		if err != nil {
			t.Fatal(err)
		}
		if step.Truncated != (i == 3) || step.Terminated {
			t.Fatalf("step %d: truncated %v terminated %v", i, step.Truncated, step.Terminated)
		}
	}
}

func TestStructuredActions(t *testing.T) {
	tests := []struct {
		space, describe string
		good            string
		wantObs         string
		bad             map[string]string // answer -> problem
	}{
		{
			space:    "dict",
			describe: `a JSON object with the keys "move": an integer from 0 to 2; "power": a JSON array of 2 numbers, each from 0 to 1; "flags": a JSON array of 3 zeros and ones`,
			good:     `{"move": 2, "power": [0.5, 1], "flags": [1, 0, 1]}`,
			wantObs:  `"types":{"move":"int","power":["list","float","int"],"flags":["list","int","int","int"]}`,
			bad: map[string]string{
				`{"move": 2, "power": [0.5, 1.5], "flags": [1, 0, 1]}`: "1.5 at .power[1] is out of bounds: it must be from 0 to 1",
				`{"move": 2, "power": [0.5, 1]}`:                       `missing key "flags"`,
				`{"move": 2, "power": [0.5], "flags": [1, 0, 1]}`:      "expected a JSON array of 2 items at .power",
				`{"move": 3, "power": [0, 0], "flags": [0, 0, 2]}`:     "3 at .move is out of range",
				`move 2`: "is not valid JSON",
			},
		},
		{
			space:    "tuple",
			describe: "a JSON array of 2 items (item 1: an integer from 1 to 2; item 2: a JSON array of 2 integers, from 0 to 2, 10 to 14 respectively)",
			good:     `[2, [1, 12]]`,
			wantObs:  `"types":["tuple","int",["list","int","int"]]`,
			bad:      map[string]string{`[2, [1, 9]]`: "9 at [1][1] is out of range: it must be from 10 to 14"},
		},
		{
			space:    "text",
			describe: `a text of 2 to 8 characters using only the characters "abc"`,
			good:     `abca`,
			wantObs:  `"action":"abca"`,
			bad:      map[string]string{"abd": `contains 'd'`, "a": "has 1 characters"},
		},
		{
			space:    "box",
			describe: "a number from -1 to 1",
			good:     `-0.25`,
			wantObs:  `"action":-0.25`,
			bad:      map[string]string{"2": "out of bounds", "[0.5]": "expected a single number"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.space, func(t *testing.T) {
			e := ready(t, options(t, "structured:Echo", `{"space": "`+tt.space+`"}`))
			obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(obs.Messages[0].Content, "An action is "+tt.describe+".") {
				t.Errorf("system prompt does not describe the space as %q:\n%s", tt.describe, obs.Messages[0].Content)
			}
			for ans, want := range tt.bad {
				step, err := e.Step(t.Context(), answer(ans))
				if err != nil {
					t.Fatal(err)
				}
				if step.Info["invalid_action"] != true || !strings.Contains(step.Observation.Content, want) {
					t.Errorf("%s: want feedback containing %q, got:\n%s", ans, want, step.Observation.Content)
				}
			}
			step, err := e.Step(t.Context(), answer(tt.good))
			if err != nil {
				t.Fatal(err)
			}
			if step.Info["invalid_action"] != false || !strings.Contains(step.Observation.Content, tt.wantObs) || step.Reward != 0.5 {
				t.Errorf("%s: reward %v, observation:\n%s\nwant it to contain %s", tt.good, step.Reward, step.Observation.Content, tt.wantObs)
			}
			if got := step.Info["env_info"].(map[string]any)["inf"]; got != "Infinity" {
				t.Errorf("info inf = %v, want the string Infinity", got)
			}
		})
	}
}

// TestStepLimit checks the limit a rollout uses when the user sets none:
// the environment's TimeLimit once set up, max_steps when given.
func TestStepLimit(t *testing.T) {
	if got := gym.New(nil).StepLimit(); got != gym.DefaultMaxSteps {
		t.Errorf("StepLimit before Setup = %d, want %d", got, gym.DefaultMaxSteps)
	}
	if got := gym.New(&gym.Options{MaxSteps: 7}).StepLimit(); got != 7 {
		t.Errorf("StepLimit with MaxSteps 7 = %d", got)
	}
}
