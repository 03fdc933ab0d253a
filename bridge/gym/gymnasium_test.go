package gym_test

// Tests of the "registered Gymnasium id" path: gymnasium.make(id) in the
// shim, on the stand-ins in testdata (fakegym/gymnasium, a gymnasium
// look-alike whose registry holds FrozenLake-v1, FrozenLake8x8-v1,
// Taxi-v3, CliffWalking-v0/v1, Blackjack-v1 and SpacesLike-v0, made by
// frozenlake_like.py, taxi_like.py, cliffwalking_like.py, blackjack_like.py
// and spaces_like.py, with numpy-like values from fakenp.py).
//
// With RETRAIN_REAL_GYMNASIUM=1 and gymnasium installed, the tests that do
// not pin the stand-ins' random draws run on real Gymnasium instead.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/bridge/gym"
	"github.com/retrain-rl/retrain/env/envtest"
)

// realGymnasium reports whether the tests run on an installed gymnasium
// rather than the stand-in.
func realGymnasium() bool { return os.Getenv("RETRAIN_REAL_GYMNASIUM") == "1" }

// gymnasiumPath is the PYTHONPATH of the id tests: the stand-in gymnasium
// and its environments, or nothing on real Gymnasium.
func gymnasiumPath(t testing.TB) []string {
	t.Helper()
	needPython(t)
	if realGymnasium() {
		if err := exec.Command("python3", "-c", "import gymnasium").Run(); err != nil {
			t.Skip("RETRAIN_REAL_GYMNASIUM=1 but gymnasium does not import")
		}
		return nil
	}
	return []string{filepath.Join(testdata(t), "fakegym"), testdata(t)}
}

// standInOnly skips t on real Gymnasium: it pins the stand-ins' draws.
func standInOnly(t testing.TB) {
	if realGymnasium() {
		t.Skip("pins the stand-ins' random draws (Python's random, not numpy's)")
	}
}

// byID returns Options for the Gymnasium id.
func byID(t testing.TB, id, kwargs string) *gym.Options {
	t.Helper()
	o := &gym.Options{Env: id, Process: gym.ProcessOptions{
		PythonPath: gymnasiumPath(t),
		Env:        []string{"PYTHONDONTWRITEBYTECODE=1"}, // no __pycache__ in testdata
	}}
	if kwargs != "" {
		o.Kwargs = json.RawMessage(kwargs)
	}
	return o
}

// call is one reset or step of a plan.
type call struct {
	Reset  *int64 `json:"reset,omitempty"`
	Step   *int   `json:"step,omitempty"`
	IsStep bool   `json:"-"`
}

// plan builds calls: ints are steps, "reset:N" resets with seed N and
// "reset" without one.
func plan(items ...any) []call {
	var out []call
	for _, it := range items {
		switch v := it.(type) {
		case int:
			out = append(out, call{Step: &v, IsStep: true})
		case int64:
			out = append(out, call{Reset: &v})
		case nil:
			out = append(out, call{})
		}
	}
	return out
}

// MarshalJSON writes {"reset": seed-or-null} or {"step": action}.
func (c call) MarshalJSON() ([]byte, error) {
	if c.IsStep {
		return json.Marshal(map[string]int{"step": *c.Step})
	}
	return json.Marshal(map[string]*int64{"reset": c.Reset})
}

// direct is one line of testdata/reference.py: a call played on the
// environment without the bridge.
type direct struct {
	Skipped     bool            `json:"skipped"`
	Observation json.RawMessage `json:"observation"`
	Reward      float64         `json:"reward"`
	Terminated  bool            `json:"terminated"`
	Truncated   bool            `json:"truncated"`
	Info        map[string]any  `json:"info"`
	Render      *string         `json:"render"`
}

// playDirect plays calls on the environment in Python, without the bridge.
func playDirect(t *testing.T, id string, kwargs map[string]any, calls []call) []direct {
	t.Helper()
	kw, _ := json.Marshal(kwargs)
	pl, _ := json.Marshal(calls)
	cmd := exec.Command("python3", filepath.Join(testdata(t), "reference.py"), id, string(kw), string(pl))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if p := gymnasiumPath(t); p != nil {
		cmd.Env = append(cmd.Env, "PYTHONPATH="+strings.Join(p, string(filepath.ListSeparator)))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference.py %s: %v\n%s", id, err, stderr.String())
	}
	var res []direct
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var d direct
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		res = append(res, d)
	}
	if len(res) != len(calls) {
		t.Fatalf("reference.py gave %d lines for %d calls", len(res), len(calls))
	}
	return res
}

func compact(t *testing.T, raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %s: %v", raw, err)
	}
	return b.String()
}

// TestMatchesDirectPlay plays the same seeded plans through the bridge and
// directly in Python: observations, rewards, end flags, infos and renders
// must agree call for call (the plans reseed, reset unseeded — which keeps
// the generator — and reseed again).
func TestMatchesDirectPlay(t *testing.T) {
	tests := []struct {
		id     string
		kwargs map[string]any
		names  []string // the actions as the model writes them, by number
		calls  []call
	}{
		{"FrozenLake-v1", nil, []string{"left", "down", "right", "up"},
			plan(int64(42), 2, 2, 1, 1, 1, 2, 0, 3, 1, 2, nil, 1, 2, 1, int64(42), 2, 2, 1)},
		{"FrozenLake-v1", map[string]any{"is_slippery": false, "max_episode_steps": 3}, []string{"left", "down", "right", "up"},
			plan(int64(1), 3, 0, 3, 0, int64(2), 2, 2, 1, 1)},
		{"FrozenLake8x8-v1", nil, []string{"left", "down", "right", "up"},
			plan(int64(5), 2, 2, 2, 1, 1, 1, 2, 2)},
		{"Taxi-v3", nil, []string{"south", "north", "east", "west", "pickup", "dropoff"},
			plan(int64(7), 0, 1, 2, 3, 4, 5, 0, 0, 3, 3, nil, 1, 1, 4, int64(7), 0, 1)},
		{"CliffWalking-v1", nil, []string{"up", "right", "down", "left"},
			plan(int64(0), 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2)},
		{"CliffWalking-v0", nil, []string{"up", "right", "down", "left"},
			plan(int64(3), 0, 3, 1, 2)},
		{"Blackjack-v1", nil, []string{"stick", "hit"},
			plan(int64(3), 1, 1, 1, 0, nil, 1, 0, int64(3), 0, int64(11), 1, 0)},
	}
	for _, tt := range tests {
		name := tt.id
		if len(tt.kwargs) > 0 {
			name += "/kwargs"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var kw string
			if tt.kwargs != nil {
				b, _ := json.Marshal(tt.kwargs)
				kw = string(b)
			}
			e := ready(t, byID(t, tt.id, kw))
			refKwargs := map[string]any{}
			for k, v := range tt.kwargs {
				refKwargs[k] = v
			}
			if m := e.Info().RenderMode; m != "" {
				refKwargs["render_mode"] = m
			}
			want := playDirect(t, tt.id, refKwargs, tt.calls)
			for i, c := range tt.calls {
				d := want[i]
				var content string
				var info retrain.Info
				if c.IsStep {
					if d.Skipped {
						continue
					}
					step, err := e.Step(t.Context(), answer(tt.names[*c.Step]))
					if err != nil {
						t.Fatalf("call %d (step %s): %v", i, tt.names[*c.Step], err)
					}
					if step.Reward != d.Reward || step.Terminated != d.Terminated || step.Truncated != d.Truncated {
						t.Errorf("call %d: reward %v, terminated %v, truncated %v; directly %v, %v, %v",
							i, step.Reward, step.Terminated, step.Truncated, d.Reward, d.Terminated, d.Truncated)
					}
					content, info = step.Observation.Content, step.Info
				} else {
					obs, inf, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: c.Reset})
					if err != nil {
						t.Fatalf("call %d (reset): %v", i, err)
					}
					content, info = obs.Content, inf
				}
				if diff := cmp.Diff(d.Info, info["env_info"]); diff != "" {
					t.Errorf("call %d: info differs (-direct +bridge):\n%s", i, diff)
				}
				if want := "Observation: " + compact(t, d.Observation) + "\n"; !strings.Contains(content, want) {
					t.Errorf("call %d: the model's text does not hold %q:\n%s", i, want, content)
				}
				if d.Render != nil {
					r, err := e.Render()
					if err != nil || r != gym.PlainANSI(*d.Render) {
						t.Errorf("call %d: Render() = %q, %v; want %q", i, r, err, gym.PlainANSI(*d.Render))
					}
					if want := strings.Trim(gym.PlainANSI(*d.Render), "\n"); !strings.Contains(content, want) {
						t.Errorf("call %d: the model's text does not hold the render\n%s\n---\n%s", i, want, content)
					}
				}
			}
		})
	}
}

func TestFrozenLakeByID(t *testing.T) {
	e := ready(t, byID(t, "FrozenLake-v1", `{"is_slippery": false}`))
	if info := e.Info(); info.RenderMode != "ansi" || info.MaxEpisodeSteps != 100 || info.ActionSpace.N != 4 || info.ObservationSpace.N != 16 {
		t.Errorf("Info() = %+v; want render mode ansi, max_episode_steps 100, Discrete(4) actions, Discrete(16) observations", info)
	}
	if e.StepLimit() != 100 {
		t.Errorf("StepLimit = %d, want FrozenLake's TimeLimit, 100 (a rollout's default turn limit)", e.StepLimit())
	}
	obs, info, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(42)})
	if err != nil {
		t.Fatal(err)
	}
	// The render's empty header line (no action yet) is trimmed.
	if want := "[S]FFF\nFHFH\nFFFH\nHFFG\nObservation: 0\nYour action?"; obs.Content != want {
		t.Errorf("reset:\n%q\nwant\n%q", obs.Content, want)
	}
	if diff := cmp.Diff(map[string]any{"prob": 1.0}, info["env_info"]); diff != "" {
		t.Errorf("reset info (-want +got):\n%s", diff)
	}
	if sys := obs.Messages[0].Content; !strings.Contains(sys, "one of left (0), down (1), right (2), up (3)") || !strings.Contains(sys, "FrozenLake-v1") {
		t.Errorf("the system prompt does not name FrozenLake's actions:\n%s", sys)
	}
	step, err := e.Step(t.Context(), answer("right"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Reward: 0\n\n  (Right)\nS[F]FF\nFHFH\nFFFH\nHFFG\nObservation: 1\nYour action?"; step.Observation.Content != want {
		t.Errorf("after right:\n%q\nwant\n%q", step.Observation.Content, want)
	}
	if step.Info["action"] != "2" {
		t.Errorf("the action sent was %v, want 2 (an int)", step.Info["action"])
	}
	var total float64
	for _, a := range []string{"right", "DOWN", "1", "down", "right"} {
		if step, err = e.Step(t.Context(), answer(a)); err != nil {
			t.Fatal(err)
		}
		total += step.Reward
	}
	c := step.Observation.Content
	if !step.Terminated || step.Truncated || total != 1 || !strings.Contains(c, "  (Right)\nSFFF\nFHFH\nFFFH\nHFF[G]\n") ||
		!strings.Contains(c, "it reached an end state. Total reward: 1.") {
		t.Errorf("at the goal: terminated %v, truncated %v, total %v:\n%s", step.Terminated, step.Truncated, total, c)
	}
}

// TestTimeLimit: gymnasium.make's TimeLimit (the registered
// max_episode_steps, or make's max_episode_steps argument) ends episodes
// as truncated, and sets the bridge's default step limit.
func TestTimeLimit(t *testing.T) {
	tests := []struct {
		id, kwargs, action string
		limit              int
	}{
		{"FrozenLake-v1", `{"is_slippery": false}`, "left", 100}, // registered
		{"Taxi-v3", `{"max_episode_steps": 3}`, "pickup", 3},     // make's argument
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			e := ready(t, byID(t, tt.id, tt.kwargs))
			if got := e.Info().MaxEpisodeSteps; got != tt.limit {
				t.Fatalf("Info().MaxEpisodeSteps = %d, want %d", got, tt.limit)
			}
			if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(3)}); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= tt.limit; i++ {
				step, err := e.Step(t.Context(), answer(tt.action))
				if err != nil {
					t.Fatal(err)
				}
				if step.Terminated || step.Truncated != (i == tt.limit) {
					t.Fatalf("step %d: terminated %v, truncated %v", i, step.Terminated, step.Truncated)
				}
				if i == tt.limit {
					c := step.Observation.Content
					if !strings.Contains(c, "the environment cut it short") || strings.Contains(c, "The step limit") {
						t.Errorf("the last step does not say the environment truncated the episode:\n%s", c)
					}
				}
			}
		})
	}
	// Without a TimeLimit, the bridge's own limit applies.
	e := ready(t, byID(t, "CliffWalking-v1", ""))
	if got := e.Info().MaxEpisodeSteps; got != 0 {
		t.Errorf("CliffWalking-v1: Info().MaxEpisodeSteps = %d, want 0 (no TimeLimit)", got)
	}
}

func TestTaxiByID(t *testing.T) {
	e := ready(t, byID(t, "Taxi-v3", ""))
	if sys := e.Info(); sys.RenderMode != "ansi" || sys.MaxEpisodeSteps != 200 {
		t.Errorf("Info() = %+v, want render mode ansi and max_episode_steps 200", sys)
	}
	obs, info, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(42)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(obs.Messages[0].Content, "one of south (0), north (1), east (2), west (3), pickup (4), dropoff (5)") {
		t.Errorf("the system prompt does not name Taxi's actions:\n%s", obs.Messages[0].Content)
	}
	mask, ok := info["env_info"].(map[string]any)["action_mask"].([]any)
	if !ok || len(mask) != 6 {
		t.Fatalf("the reset info's action_mask is %v, want a list of 6 (numpy int8 array encoded)", info["env_info"])
	}
	step, err := e.Step(t.Context(), answer("fly"))
	if err != nil {
		t.Fatal(err)
	}
	if !step.Info["invalid_action"].(bool) || !strings.Contains(step.Observation.Content, `"fly" is not an action: answer with one of south, north, east, west, pickup, dropoff, or its number (0 to 5)`) {
		t.Errorf("an unknown action name:\n%s", step.Observation.Content)
	}
	if realGymnasium() {
		return
	}
	want := "+---------+\n|R: | : :G|\n| : | : : |\n| : : : : |\n|[ ]| : | : |\n|[Y]| : |[B]: |\n+---------+\n" +
		"State: taxi at row 3, column 0; passenger waiting at B (row 4, column 3); destination Y (row 4, column 0)\n" +
		"Observation: 314\nYour action?"
	if obs.Content != want {
		t.Errorf("reset, seed 42:\n%s\nwant\n%s", obs.Content, want)
	}
	if diff := cmp.Diff([]any{1.0, 1.0, 0.0, 0.0, 0.0, 0.0}, mask); diff != "" {
		t.Errorf("action mask (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		action string
		reward float64
		want   string
	}{
		{"north", -1, "  (North)\nState: taxi at row 2, column 0; passenger waiting at B"},
		{"pickup", -10, "  (Pickup)\nState: taxi at row 2, column 0;"},
	} {
		step, err := e.Step(t.Context(), answer(tt.action))
		if err != nil {
			t.Fatal(err)
		}
		if step.Reward != tt.reward || !strings.Contains(step.Observation.Content, tt.want) {
			t.Errorf("%s: reward %v (want %v):\n%s", tt.action, step.Reward, tt.reward, step.Observation.Content)
		}
	}
}

func TestBlackjackByID(t *testing.T) {
	e := ready(t, byID(t, "Blackjack-v1", ""))
	if info := e.Info(); info.RenderMode != "" || info.MaxEpisodeSteps != 0 {
		t.Errorf("Info() = %+v: Blackjack has no ansi render mode and no TimeLimit", info)
	}
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(42)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(obs.Messages[0].Content, "one of stick (0), hit (1)") {
		t.Errorf("the system prompt does not name Blackjack's actions:\n%s", obs.Messages[0].Content)
	}
	if !strings.HasPrefix(obs.Content, "State: player sum ") || !strings.Contains(obs.Content, ", dealer shows ") {
		t.Errorf("reset does not describe the hand:\n%s", obs.Content)
	}
	if !realGymnasium() {
		if want := "State: player sum 21, dealer shows 10, usable ace: yes\nObservation: [21,10,1]\nYour action?"; obs.Content != want {
			t.Errorf("reset, seed 42:\n%q\nwant\n%q", obs.Content, want)
		}
		if r, err := e.Render(); err != nil || r != "player sum 21, dealer shows 10, usable ace: yes" {
			t.Errorf("Render() = %q, %v", r, err)
		}
	}
	// Blackjack asserts that its action is in its space: an int, not 0.0.
	step, err := e.Step(t.Context(), answer("stick"))
	if err != nil {
		t.Fatal(err)
	}
	if !step.Terminated || !strings.Contains(step.Observation.Content, "\nState: player sum ") {
		t.Errorf("after stick: terminated %v\n%s", step.Terminated, step.Observation.Content)
	}

	// Asked for ansi anyway, the environment is made (make only warns),
	// its first render fails, and the bridge goes on without a render.
	e = ready(t, byID(t, "Blackjack-v1", `{"render_mode": "ansi"}`))
	_, info, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(42)})
	if err != nil {
		t.Fatal(err)
	}
	if msg, _ := info["render_error"].(string); !strings.HasPrefix(msg, "AssertionError") {
		t.Errorf("render_error = %q, want the environment checker's AssertionError", msg)
	}
}

// TestNumpyTypedValues: numpy scalars and arrays (as values of spaces,
// observations, rewards, flags and infos) reach Go as plain JSON, ints as
// ints, though numpy itself is never imported by the shim.
func TestNumpyTypedValues(t *testing.T) {
	standInOnly(t)
	e := ready(t, byID(t, "SpacesLike-v0", ""))
	wantSpace := gym.Space{Type: gym.SpaceDict, Keys: []string{"move", "power", "dial", "flags", "word"}, Spaces: []gym.Space{
		{Type: gym.SpaceDiscrete, N: 3, Start: 1},
		{Type: gym.SpaceBox, Shape: []int{2}, Dtype: "float32"},
		{Type: gym.SpaceMultiDiscrete, Shape: []int{2}, NVec: []int64{3, 5}, Starts: []int64{0, 10}},
		{Type: gym.SpaceMultiBinary, Shape: []int{3}},
		{Type: gym.SpaceText, MinLength: 1, MaxLength: 4, Charset: "ab"},
	}}
	got := e.Info().ActionSpace
	if diff := cmp.Diff(wantSpace, got, cmpopts.IgnoreFields(gym.Space{}, "Low", "High")); diff != "" {
		t.Errorf("action space (-want +got):\n%s", diff)
	}
	// Box bounds: one number when all elements share it, else a list.
	if d := got.Describe(); !strings.Contains(d, `"power": a JSON array of 2 numbers within the bounds low=[-1], high=[1, +Inf]`) {
		t.Errorf("the Box bounds are not described: %s", d)
	}
	obs, info, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(9)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "t=0\nObservation: 0\nYour action?"; obs.Content != want {
		t.Errorf("reset:\n%q\nwant %q", obs.Content, want)
	}
	wantInfo := map[string]any{
		"np_int": 7.0, "np_float32": 0.5, "np_float64": 0.25, "flag": true,
		"mask": []any{1.0, 0.0, 1.0}, "grid": []any{[]any{1.0, 2.0}, []any{3.0, 4.0}},
		"pair": []any{1.0, 2.0}, "nan": "NaN", "seed": 9.0,
	}
	if diff := cmp.Diff(wantInfo, info["env_info"]); diff != "" {
		t.Errorf("reset info (-want +got):\n%s", diff)
	}
	action := `{"move": 2, "power": [0.5, 3], "dial": [1, 12], "flags": [0, 1, 1], "word": "ab"}`
	for i, want := range []float64{0.5, 2, -1.5} {
		step, err := e.Step(t.Context(), answer(action))
		if err != nil {
			t.Fatal(err)
		}
		if step.Reward != want || step.Terminated || step.Truncated != (i == 2) {
			t.Errorf("step %d: reward %v (want %v), terminated %v, truncated %v", i+1, step.Reward, want, step.Terminated, step.Truncated)
		}
		if !strings.Contains(step.Observation.Content, "\nObservation: "+string(rune('1'+i))+"\n") {
			t.Errorf("step %d: the observation is not a plain int:\n%s", i+1, step.Observation.Content)
		}
		types := step.Info["env_info"].(map[string]any)["types"].(map[string]any)
		if types["move"] != "int" {
			t.Errorf("the Discrete part of the action arrived as %v, want int", types["move"])
		}
	}
	// An unseeded reset passes None.
	if _, info, err = e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := info["env_info"].(map[string]any)["seed"]; got != nil {
		t.Errorf("unseeded reset: seed %v, want None", got)
	}
}

func TestUserActionNamesWin(t *testing.T) {
	o := byID(t, "FrozenLake-v1", "")
	o.ActionNames = []string{"west", "south", "east", "north"}
	e := ready(t, o)
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(obs.Messages[0].Content, "one of west (0), south (1), east (2), north (3)") {
		t.Errorf("the given action names are not used:\n%s", obs.Messages[0].Content)
	}
}

func TestConformanceGymnasium(t *testing.T) {
	tests := []struct {
		id, kwargs, action string
	}{
		{"FrozenLake-v1", `{"max_episode_steps": 20}`, "right"}, // slippery, seeded
		{"Blackjack-v1", "", "hit"},                             // a tuple observation, no render
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			o := byID(t, tt.id, tt.kwargs)
			envtest.Run(t, func() retrain.Environment { return gym.New(o) }, &envtest.Options{
				Seed:    5,
				Actions: func(retrain.Observation) retrain.Action { return answer(tt.action) },
			})
		})
	}
}

// TestRenderModeChoice: render_mode="ansi" is passed exactly when the
// environment declares it, however the id is written; an explicit
// render_mode is left alone.
func TestRenderModeChoice(t *testing.T) {
	standInOnly(t) // "frozenlake_like:" names a stand-in module
	tests := []struct{ env, kwargs, want string }{
		{"FrozenLake-v1", "", "ansi"},
		{"FrozenLake", "", "ansi"},                       // unversioned: the latest version
		{"frozenlake_like:FrozenLake-v1", "", "ansi"},    // "module:EnvId"
		{"CliffWalking-v1", "", "ansi"},                  // ansi listed last
		{"Blackjack-v1", "", ""},                         // human and rgb_array only
		{"Blackjack", "", ""},                            // unversioned, without ansi
		{"FrozenLake-v1", `{"render_mode": null}`, ""},   // explicitly none
		{"Taxi-v3", `{"render_mode": "human"}`, "human"}, // as asked
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			e := ready(t, byID(t, tt.env, tt.kwargs))
			if got := e.Info().RenderMode; got != tt.want {
				t.Errorf("%s %s: render mode %q, want %q", tt.env, tt.kwargs, got, tt.want)
			}
			if tt.want != "ansi" {
				return
			}
			obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)})
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(obs.Content, "Observation:") {
				t.Errorf("%s: no render in the model's text:\n%s", tt.env, obs.Content)
			}
		})
	}
}

// TestRegisteredByID makes a Gymnasium id through the registered "gym"
// environment's configuration, without action_names.
func TestRegisteredByID(t *testing.T) {
	cfg, _ := json.Marshal(map[string]any{"env": "CliffWalking-v1", "pythonpath": gymnasiumPath(t)})
	_, e := envtest.Registered(t, "gym", cfg)
	if err := e.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(obs.Messages[0].Content, "one of up (0), right (1), down (2), left (3)") {
		t.Errorf("the system prompt does not name CliffWalking's actions:\n%s", obs.Messages[0].Content)
	}
	step, err := e.Step(t.Context(), e.(*gym.Env).Dialect().Parse("<answer>right</answer>", nil))
	if err != nil {
		t.Fatal(err)
	}
	if step.Reward != -100 || step.Done() || !strings.Contains(step.Observation.Content, "Observation: 36") {
		t.Errorf("into the cliff: reward %v, done %v:\n%s", step.Reward, step.Done(), step.Observation.Content)
	}
}
