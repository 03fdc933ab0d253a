package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
)

func TestDecodeAction(t *testing.T) {
	smol, err := dialect.Get("smolagent")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		data    string
		dialect dialect.Dialect
		want    retrain.Action
		problem string
	}{
		{name: "RawPlain", data: `{"raw": "4"}`, want: retrain.Action{Kind: retrain.ActionText, Text: "4", Raw: "4"}},
		{name: "RawDialect", data: `{"raw": "<tool>{\"name\": \"calculator\", \"args\": {\"expression\": \"1+1\"}}</tool>"}`, dialect: smol,
			want: retrain.Action{Kind: retrain.ActionToolCall, Raw: `<tool>{"name": "calculator", "args": {"expression": "1+1"}}</tool>`,
				ToolCalls: []retrain.ToolCall{{ID: "call_0", Name: "calculator", Arguments: json.RawMessage(`{"expression":"1+1"}`)}}}},
		{name: "Text", data: `{"kind": "text", "text": "hi", "metadata": {"x": 1}}`, want: retrain.Action{Kind: retrain.ActionText, Text: "hi", Raw: "hi"}},
		{name: "ToolCall", data: `{"kind": "tool_call", "tool_calls": [{"name": "f"}]}`,
			want: retrain.Action{Kind: retrain.ActionToolCall, ToolCalls: []retrain.ToolCall{{ID: "call_0", Name: "f", Arguments: json.RawMessage(`{}`)}}}},
		{name: "NotObject", data: `"4"`, problem: "must be a JSON object"},
		{name: "Empty", data: ``, problem: "must be a JSON object"},
		{name: "Unknown", data: `{"message": "hi"}`, problem: `unknown field "message"`},
		{name: "Neither", data: `{}`, problem: `neither "raw" nor "kind"`},
		{name: "BadKind", data: `{"kind": "dance"}`, problem: `unknown kind "dance"`},
		{name: "NoCalls", data: `{"kind": "tool_call"}`, problem: "non-empty"},
		{name: "NoName", data: `{"kind": "tool_call", "tool_calls": [{"arguments": {}}]}`, problem: "has no name"},
		{name: "ArgsNotObject", data: `{"kind": "tool_call", "tool_calls": [{"name": "f", "arguments": [1]}]}`, problem: "must be a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, problem := decodeAction(json.RawMessage(tc.data), &session{dialect: tc.dialect})
			if tc.problem != "" {
				if !strings.Contains(problem, tc.problem) {
					t.Errorf("problem %q, want it to contain %q", problem, tc.problem)
				}
				return
			}
			if problem != "" {
				t.Fatalf("unexpected problem %q", problem)
			}
			if diff := cmp.Diff(tc.want, a); diff != "" {
				t.Errorf("action (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecodeAction(f *testing.F) {
	for _, s := range []string{
		`{"raw": "4"}`, `{"kind": "text", "text": "x"}`, `{"kind": "tool_call", "tool_calls": [{"name": "f", "arguments": {"a": 1}}]}`,
		`{"kind": "tool_call", "tool_calls": [{"name": "f", "arguments": null}]}`, `{}`, `[]`, `{"raw": "<tool>{}</tool>"}`, `{"kind":1}`,
	} {
		f.Add(s)
	}
	smol, _ := dialect.Get("smolagent")
	f.Fuzz(func(t *testing.T, data string) {
		for _, d := range []dialect.Dialect{nil, smol} {
			a, problem := decodeAction(json.RawMessage(data), &session{dialect: d})
			if problem != "" {
				continue
			}
			if a.Kind != retrain.ActionText && a.Kind != retrain.ActionToolCall {
				t.Fatalf("accepted %q as kind %q", data, a.Kind)
			}
			if a.Kind == retrain.ActionToolCall && a.ParseError == "" {
				if len(a.ToolCalls) == 0 {
					t.Fatalf("accepted %q as a tool call without calls", data)
				}
				for _, c := range a.ToolCalls {
					if c.ID == "" || c.Name == "" || !bytes.HasPrefix(bytes.TrimSpace(c.Arguments), []byte("{")) {
						t.Fatalf("accepted %q with call %+v", data, c)
					}
				}
			}
			if _, err := json.Marshal(a); err != nil {
				t.Fatalf("accepted action does not encode: %v", err)
			}
		}
	})
}
