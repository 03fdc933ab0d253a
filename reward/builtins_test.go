package reward

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
)

// toolTrajectory has three turns: two tool calls (one fails), one call of
// an unknown tool with no result, and a final answer.
func toolTrajectory() *retrain.Trajectory {
	call := func(name string) retrain.ToolCall {
		return retrain.ToolCall{ID: name, Name: name, Arguments: json.RawMessage(`{}`)}
	}
	return &retrain.Trajectory{
		Task:       retrain.Task{Prompt: "What is 6*7?", Answer: "42"},
		StopReason: "terminated",
		Turns: []retrain.Turn{
			{
				Action: retrain.Action{Kind: retrain.ActionToolCall, Raw: "calls", ToolCalls: []retrain.ToolCall{call("calculator"), call("search")},
					Tokens: &retrain.Tokens{Logprobs: []float64{-1, -1, -1}}},
				Observation: retrain.Observation{ToolResults: []retrain.ToolResult{
					{Name: "calculator", Success: true}, {Name: "search", Success: false, Error: "down"},
				}},
			},
			{
				Action: retrain.Action{Kind: retrain.ActionToolCall, Raw: "call", ToolCalls: []retrain.ToolCall{call("nope")},
					Tokens: &retrain.Tokens{Logprobs: []float64{-1, -1}}},
			},
			{
				Action: retrain.Action{Kind: retrain.ActionText, Raw: "<think>6*7</think>The answer is 42.", Text: "The answer is 42.",
					Tokens: &retrain.Tokens{Logprobs: []float64{-1, -1, -1, -1, -1}}},
				Terminated: true,
			},
		},
	}
}

func scoreWith(t *testing.T, name string, params map[string]any, s Sample) Score {
	t.Helper()
	f, err := NewRegistry().New(name, params)
	if err != nil {
		t.Fatalf("New(%s, %v): %v", name, params, err)
	}
	sc, err := f.Score(context.Background(), s)
	if err != nil {
		t.Fatalf("%s(%v).Score: %v", name, params, err)
	}
	return sc
}

func stepSample(tr *retrain.Trajectory, i int) Sample {
	return Sample{Task: tr.Task, Completion: tr.Turns[i].Action.Raw, Action: &tr.Turns[i].Action, Step: i, Trajectory: tr}
}

func TestToolSuccessAndUsed(t *testing.T) {
	tr := toolTrajectory()
	tests := []struct {
		name   string
		params map[string]any
		s      Sample
		want   float64
	}{
		{"tool_success", nil, RolloutSample(tr, ""), 1.0 / 3}, // 1 of 3 calls succeeded
		{"tool_success", nil, stepSample(tr, 0), 0.5},
		{"tool_success", nil, stepSample(tr, 1), 0},
		{"tool_success", nil, stepSample(tr, 2), 1}, // no calls: if_none
		{"tool_success", map[string]any{"if_none": 0}, stepSample(tr, 2), 0},
		{"tool_used", nil, RolloutSample(tr, ""), 1},
		{"tool_used", nil, stepSample(tr, 2), 0},
		{"tool_used", map[string]any{"tool": "search"}, RolloutSample(tr, ""), 1},
		{"tool_used", map[string]any{"tool": "wiki"}, RolloutSample(tr, ""), 0},
		{"tool_used", nil, Sample{Step: -1, Completion: "plain"}, 0},
	}
	for _, tt := range tests {
		if got := scoreWith(t, tt.name, tt.params, tt.s).Value; math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s %v step %d = %v, want %v", tt.name, tt.params, tt.s.Step, got, tt.want)
		}
	}
}

func TestLength(t *testing.T) {
	tr := toolTrajectory()
	tests := []struct {
		params map[string]any
		s      Sample
		want   float64
	}{
		{map[string]any{"max": 4}, stepSample(tr, 0), 0},                                          // 3 tokens
		{map[string]any{"max": 2}, stepSample(tr, 0), -1},                                         // fixed penalty
		{map[string]any{"max": 2, "penalty": 0.1, "per_unit": true}, RolloutSample(tr, ""), -0.8}, // 10 tokens, 8 over
		{map[string]any{"min": 5, "per_unit": true}, stepSample(tr, 1), -3},                       // 2 tokens, 3 short
		{map[string]any{"max": 5, "inside": 1}, stepSample(tr, 2), 1},
		{map[string]any{"unit": "chars", "max": 4}, Sample{Step: -1, Completion: "héllo"}, -1},
		{map[string]any{"unit": "chars", "max": 5}, Sample{Step: -1, Completion: "héllo"}, 0},
	}
	for _, tt := range tests {
		if got := scoreWith(t, "length", tt.params, tt.s).Value; math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("length %v = %v, want %v", tt.params, got, tt.want)
		}
	}
	f, _ := NewRegistry().New("length", map[string]any{"max": 5})
	if _, err := f.Score(context.Background(), Sample{Step: -1, Completion: "no tokens"}); err == nil || !strings.Contains(err.Error(), "unit: chars") {
		t.Errorf("tokens without tokens: err = %v, want advice to use chars", err)
	}
	for _, bad := range []map[string]any{{"unit": "words"}, {"min": 5, "max": 2}, {"max": -1}} {
		if _, err := NewRegistry().New("length", bad); !errors.Is(err, ErrBadParams) {
			t.Errorf("length %v: err = %v, want ErrBadParams", bad, err)
		}
	}
}

func TestRegex(t *testing.T) {
	s := Sample{Step: -1, Completion: "Reasoning... The answer is 42."}
	tests := []struct {
		params map[string]any
		want   float64
	}{
		{map[string]any{"pattern": `answer is \d+`}, 1},
		{map[string]any{"pattern": `^\d+$`}, 0},
		{map[string]any{"pattern": `^\d+$`, "target": "answer"}, 1},
		{map[string]any{"pattern": `^4$`, "target": "answer"}, 0},
	}
	for _, tt := range tests {
		if got := scoreWith(t, "regex", tt.params, s).Value; got != tt.want {
			t.Errorf("regex %v = %v, want %v", tt.params, got, tt.want)
		}
	}
	for _, bad := range []map[string]any{nil, {"pattern": "("}, {"pattern": "a", "target": "everything"}} {
		if _, err := NewRegistry().New("regex", bad); !errors.Is(err, ErrBadParams) {
			t.Errorf("regex %v: err = %v, want ErrBadParams", bad, err)
		}
	}
}

func TestJSONSchema(t *testing.T) {
	schema := map[string]any{
		"type":     "object",
		"required": []any{"name", "age"},
		"properties": map[string]any{
			"name": map[string]any{"type": "string"},
			"age":  map[string]any{"type": "integer", "minimum": 0},
		},
	}
	tests := []struct {
		completion string
		target     string
		want       float64
	}{
		{`{"name": "Ada", "age": 36}`, "completion", 1},
		{"Here it is:\n```json\n{\"name\": \"Ada\", \"age\": 36}\n```", "completion", 1},
		{`Sure! {"name": "Ada", "age": 36} Hope that helps.`, "completion", 1},
		{`{"name": "Ada", "age": -1}`, "completion", 0},
		{`{"name": "Ada"}`, "completion", 0},
		{`not json at all`, "completion", 0},
		{`<answer>{"name": "Ada", "age": 36}</answer>`, "answer", 1},
		{`<answer>{"name": 5, "age": 36}</answer>`, "answer", 0},
	}
	for _, tt := range tests {
		sc := scoreWith(t, "json_schema", map[string]any{"schema": schema, "target": tt.target}, Sample{Step: -1, Completion: tt.completion})
		if sc.Value != tt.want {
			t.Errorf("json_schema on %q = %v (%s), want %v", tt.completion, sc.Value, sc.Detail, tt.want)
		}
	}
	// A schema given as a JSON string works the same.
	sc := scoreWith(t, "json_schema", map[string]any{"schema": `{"type": "array", "items": {"type": "number"}}`, "target": "completion"},
		Sample{Step: -1, Completion: "[1, 2.5]"})
	if sc.Value != 1 {
		t.Errorf("string schema: %v (%s), want 1", sc.Value, sc.Detail)
	}
	for _, bad := range []map[string]any{nil, {"schema": "{"}, {"schema": map[string]any{"type": 5}}, {"schema": map[string]any{"$ref": "http://example.com/s.json"}}} {
		if _, err := NewRegistry().New("json_schema", bad); !errors.Is(err, ErrBadParams) {
			t.Errorf("json_schema %v: err = %v, want ErrBadParams", bad, err)
		}
	}
}

func TestFormat(t *testing.T) {
	good := "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"6*7\"}}\n</tool_call>"
	balancedBad := "<tool_call>\n{\"name\": calculator}\n</tool_call>"
	broken := "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\""
	tests := []struct {
		params     map[string]any
		completion string
		want       float64
	}{
		{nil, good, 1},
		{nil, "The answer is 42.", 1}, // plain text is a final answer in hermes
		{nil, balancedBad, 0.5},
		{map[string]any{"partial": 0.25}, balancedBad, 0.25},
		{nil, broken, 0},
	}
	for _, tt := range tests {
		sc := scoreWith(t, "format", tt.params, Sample{Step: 0, Completion: tt.completion, Dialect: "hermes"})
		if sc.Value != tt.want {
			t.Errorf("format %v on %q = %v (%s), want %v", tt.params, tt.completion, sc.Value, sc.Detail, tt.want)
		}
	}
	// The param overrides the sample's dialect; no dialect at all is an error.
	if sc := scoreWith(t, "format", map[string]any{"dialect": "hermes"}, Sample{Completion: good}); sc.Value != 1 {
		t.Errorf("format with param dialect = %v, want 1", sc.Value)
	}
	f, _ := NewRegistry().New("format", nil)
	if _, err := f.Score(context.Background(), Sample{Completion: good}); err == nil || !strings.Contains(err.Error(), "dialect") {
		t.Errorf("no dialect: err = %v, want an error about the dialect", err)
	}
	// A trajectory of a plain-text environment (no dialect) always parses.
	plain := &retrain.Trajectory{Turns: []retrain.Turn{{Action: retrain.Action{Kind: retrain.ActionText, Raw: "42", Text: "42"}}}}
	if sc, err := f.Score(context.Background(), RolloutSample(plain, "")); err != nil || sc.Value != 1 {
		t.Errorf("plain-text trajectory: format = %+v, %v; want 1", sc, err)
	}
	if _, err := NewRegistry().New("format", map[string]any{"dialect": "klingon"}); !errors.Is(err, ErrBadParams) {
		t.Errorf("unknown dialect param: err = %v, want ErrBadParams", err)
	}
	// Rollout level: the mean over turns.
	tr := &retrain.Trajectory{Turns: []retrain.Turn{{Action: retrain.Action{Raw: good}}, {Action: retrain.Action{Raw: broken}}}}
	if sc := scoreWith(t, "format", nil, RolloutSample(tr, "hermes")); sc.Value != 0.5 {
		t.Errorf("rollout format = %v, want 0.5", sc.Value)
	}
}

func TestTagsBalanced(t *testing.T) {
	tests := map[string]bool{
		"<a><b/></a>":                    true,
		"<think>x</think> <a>y</a>":      true,
		"<a><b></a></b>":                 false,
		"<a>":                            false,
		"</a>":                           false,
		"no tags, 3 < 4 > 2":             false, // no tags at all
		`<tool_call x="1">y</tool_call>`: true,
	}
	for in, want := range tests {
		if got := tagsBalanced(in); got != want {
			t.Errorf("tagsBalanced(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestComposite(t *testing.T) {
	params := map[string]any{"components": []any{
		map[string]any{"name": "math_equal", "weight": 0.75},
		map[string]any{"name": "regex", "weight": 0.25, "params": map[string]any{"pattern": `\\boxed`}},
	}}
	tests := []struct {
		completion string
		want       float64
	}{
		{`so \boxed{42}`, 1},
		{`so 42`, 0.75},
		{`so \boxed{41}`, 0.25},
		{`so 41`, 0},
	}
	for _, tt := range tests {
		sc := scoreWith(t, "composite", params, Sample{Step: -1, Task: retrain.Task{Answer: "42"}, Completion: tt.completion})
		if math.Abs(sc.Value-tt.want) > 1e-12 {
			t.Errorf("composite on %q = %v (%s), want %v", tt.completion, sc.Value, sc.Detail, tt.want)
		}
	}
	for _, bad := range []map[string]any{
		nil,
		{"components": []any{map[string]any{"weight": 1}}},
		{"components": []any{map[string]any{"name": "nope"}}},
		{"components": []any{map[string]any{"name": "regex", "params": map[string]any{"bogus": 1}}}},
	} {
		if _, err := NewRegistry().New("composite", bad); err == nil {
			t.Errorf("composite %v: no error", bad)
		}
	}
	// Composites use the registry they are built in, so they see its rewards.
	reg := NewRegistry()
	if err := reg.Register("half", Static(ScoreFunc(func(context.Context, Sample) (Score, error) { return Score{Value: 0.5}, nil }))); err != nil {
		t.Fatal(err)
	}
	f, err := reg.New("composite", map[string]any{"components": []any{map[string]any{"name": "half", "weight": 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if sc, _ := f.Score(context.Background(), Sample{}); sc.Value != 1 {
		t.Errorf("composite of a private reward = %v, want 1", sc.Value)
	}
}
