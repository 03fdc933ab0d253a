package openenv

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
)

const echoSchema = `{"type": "object", "properties": {"message": {"type": "string", "minLength": 1}, "metadata": {"type": "object"}},
  "required": ["message"], "additionalProperties": false}`

func TestChooseField(t *testing.T) {
	for _, tc := range []struct {
		name, schema, field, want string
	}{
		{"RequiredString", echoSchema, "", "message"},
		{"RetrainRaw", `{"properties": {"raw": {"type": "string"}, "text": {"type": "string"}, "kind": {"type": "string"}}}`, "", "raw"},
		{"OnlyString", `{"properties": {"command": {"type": "string"}, "n": {"type": "integer"}}}`, "", "command"},
		{"NullableString", `{"properties": {"code": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "n": {"type": "integer"}}}`, "", "code"},
		{"TwoRequired", `{"properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a", "b"]}`, "", ""},
		{"RequiredInteger", `{"properties": {"move": {"type": "integer"}, "note": {"type": "string"}}, "required": ["move"]}`, "", ""},
		{"None", echoSchema, "none", ""},
		{"Explicit", echoSchema, "metadata", "metadata"},
		{"NoSchema", ``, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newActionMapper(json.RawMessage(tc.schema), tc.field, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.field != tc.want {
				t.Errorf("field %q, want %q", m.field, tc.want)
			}
		})
	}
}

func TestMapAction(t *testing.T) {
	none := "none"
	for _, tc := range []struct {
		name, field string
		tag         *string
		action      retrain.Action
		want        string // the action object, or "!" + part of the problem
	}{
		{name: "TextTagged", action: retrain.Action{Text: "so <answer> hi </answer>"}, want: `{"message":"hi"}`},
		{name: "TextLastTag", action: retrain.Action{Text: "<answer>a</answer> then <answer>b</answer>"}, want: `{"message":"b"}`},
		{name: "TextUntagged", action: retrain.Action{Text: "hello"}, want: `{"message":"hello"}`},
		{name: "TagOff", tag: &none, action: retrain.Action{Text: "<answer>x</answer>"}, want: `{"message":"\u003canswer\u003ex\u003c/answer\u003e"}`},
		{name: "Empty", action: retrain.Action{Text: "<answer></answer>"}, want: "!at /message"},
		{name: "JSON", field: "none", action: retrain.Action{Text: `<answer>{"message": "m"}</answer>`}, want: `{"message": "m"}`},
		{name: "JSONBare", field: "none", action: retrain.Action{Text: ` {"message": "m"} `}, want: `{"message": "m"}`},
		{name: "JSONToolCall", field: "none", action: retrain.Action{Kind: retrain.ActionToolCall, ToolCalls: []retrain.ToolCall{{Name: "act", Arguments: json.RawMessage(`{"message":"t"}`)}}}, want: `{"message":"t"}`},
		{name: "JSONTwoCalls", field: "none", action: retrain.Action{ToolCalls: []retrain.ToolCall{{Name: "a"}, {Name: "b"}}}, want: "!2 tool calls"},
		{name: "JSONArray", field: "none", action: retrain.Action{Text: `<answer>[1]</answer>`}, want: "!not a JSON object"},
		{name: "ParseError", action: retrain.Action{ParseError: "unclosed <think>"}, want: "!unclosed <think>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newActionMapper(json.RawMessage(echoSchema), tc.field, tc.tag)
			if err != nil {
				t.Fatal(err)
			}
			got, problem := m.mapAction(tc.action)
			if p, ok := strings.CutPrefix(tc.want, "!"); ok {
				if !strings.Contains(problem, p) {
					t.Errorf("problem %q, want it to contain %q", problem, p)
				}
				return
			}
			if problem != "" || string(got) != tc.want {
				t.Errorf("got %s (problem %q), want %s", got, problem, tc.want)
			}
		})
	}
	// The raw field (retrain serve) gets the whole output, tags included.
	m, _ := newActionMapper(json.RawMessage(`{"properties": {"raw": {"type": "string"}, "kind": {"type": "string"}}}`), "", nil)
	got, _ := m.mapAction(retrain.Action{Raw: "<think>x</think><answer>4</answer>", Text: "4"})
	if string(got) != `{"raw":"\u003cthink\u003ex\u003c/think\u003e\u003canswer\u003e4\u003c/answer\u003e"}` {
		t.Errorf("raw action %s", got)
	}
}

func FuzzMapAction(f *testing.F) {
	for _, s := range []string{"<answer>hi</answer>", `<answer>{"message": "x"}</answer>`, "```json\n{\"message\": 1}\n```", "<answer>", "</answer><answer>", "``````", ""} {
		f.Add(s)
	}
	text, _ := newActionMapper(json.RawMessage(echoSchema), "", nil)
	obj, _ := newActionMapper(json.RawMessage(echoSchema), "none", nil)
	f.Fuzz(func(t *testing.T, out string) {
		for _, m := range []*actionMapper{text, obj} {
			got, problem := m.mapAction(retrain.Action{Kind: retrain.ActionText, Text: out, Raw: out})
			if problem != "" {
				if got != nil {
					t.Fatalf("a problem and an action for %q", out)
				}
				continue
			}
			if m.validator.Validate(got) != nil {
				t.Fatalf("%q mapped to %s, which the schema rejects", out, got)
			}
			var v map[string]any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Fatalf("%q mapped to %s, not a JSON object: %v", out, got, err)
			}
		}
		if inner, ok := lastTagged(out, "answer"); ok && !strings.Contains(out, inner) {
			t.Fatalf("lastTagged(%q) = %q, not part of the input", out, inner)
		}
		if s := stripFence(out); len(s) > len(out) {
			t.Fatalf("stripFence grew %q to %q", out, s)
		}
	})
}
