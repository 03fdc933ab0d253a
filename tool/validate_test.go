package tool_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/tool"
)

const calcSchema = `{
	"type": "object",
	"properties": {
		"expression": {"type": "string"},
		"precision": {"type": "integer", "minimum": 0},
		"mode": {"enum": ["exact", "float"]},
		"options": {
			"type": "object",
			"properties": {"verbose": {"type": "boolean"}, "trace": {"type": "boolean"}},
			"additionalProperties": false
		},
		"tags": {"type": "array", "items": {"type": "string"}}
	},
	"required": ["expression"],
	"additionalProperties": false
}`

func TestValidate(t *testing.T) {
	v, err := tool.NewValidator(json.RawMessage(calcSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, args string
		want       string // the whole message; "" means valid
	}{
		{"valid", `{"expression": "1+1", "precision": 3}`, ""},
		{"empty args mean {}", ``, "invalid arguments: at /expression: missing required property"},
		{"two problems", `{"precision": "3"}`,
			"invalid arguments: at /expression: missing required property; at /precision: expected integer, got string"},
		{"every problem", `{"expression": 1, "precision": -1, "mode": "fast", "extra": true, "options": {"verbose": 1, "x": 2}, "tags": ["a", 2]}`,
			"invalid arguments: " + strings.Join([]string{
				"at /expression: expected string, got number",
				"at /extra: unknown property (allowed: expression, mode, options, precision, tags)",
				"at /mode: value must be one of 'exact', 'float'",
				"at /options/verbose: expected boolean, got number",
				"at /options/x: unknown property (allowed: trace, verbose)",
				"at /precision: minimum: got -1, want 0",
				"at /tags/1: expected string, got number",
			}, "; ")},
		{"odd names", `{"expression": "1", "a\nb/c~d": 1}`, `invalid arguments: at /a\nb~1c~0d: unknown property`},
		{"not an object", `[1, 2]`, "invalid arguments: at (root): expected object, got array"},
		{"not JSON", `{"expression": `, "invalid arguments: not valid JSON"},
		{"trailing garbage", `{"expression": "1"} x`, "invalid arguments: not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate(json.RawMessage(tt.args))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate(%s) = %v, want nil", tt.args, err)
				}
				return
			}
			var te *tool.Error
			if !errors.As(err, &te) {
				t.Fatalf("Validate(%s) = %v (%T), want *tool.Error", tt.args, err, err)
			}
			if !strings.HasPrefix(te.Message, tt.want) {
				t.Errorf("Validate(%s) message:\n got %s\nwant %s", tt.args, te.Message, tt.want)
			}
			if te.Err == nil {
				t.Error("Err is nil; want the underlying cause")
			}
		})
	}
}

func TestNewValidator(t *testing.T) {
	// An empty schema accepts anything.
	for _, schema := range []string{"", "{}", "true"} {
		v, err := tool.NewValidator(json.RawMessage(schema))
		if err != nil {
			t.Fatalf("NewValidator(%q): %v", schema, err)
		}
		if err := v.Validate(json.RawMessage(`{"a": [1]}`)); err != nil {
			t.Errorf("NewValidator(%q).Validate: %v", schema, err)
		}
	}
	// Invalid schemas are Go errors.
	for _, schema := range []string{`{"type": 5}`, `{"type": "object"`, `{"$ref": "file:///etc/passwd"}`, `{"$ref": "https://example.com/s.json"}`} {
		if _, err := tool.NewValidator(json.RawMessage(schema)); err == nil {
			t.Errorf("NewValidator(%s) succeeded, want an error", schema)
		}
	}
	// References inside the schema work.
	v, err := tool.NewValidator(json.RawMessage(`{"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(json.RawMessage(`{"a": "x"}`)); err == nil || !strings.Contains(err.Error(), "at /a: expected integer, got string") {
		t.Errorf("Validate through $ref = %v", err)
	}
	// A draft-07 schema is understood by its $schema.
	v, err = tool.NewValidator(json.RawMessage(`{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["q"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "at /q: missing required property") {
		t.Errorf("draft-07 Validate = %v", err)
	}
}

func FuzzValidate(f *testing.F) {
	v, err := tool.NewValidator(json.RawMessage(calcSchema))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{``, `{}`, `{"expression": "1"}`, `{"precision": "3", "x": [1]}`, `[`, `null`, `{"options": {"x": {}}}`, `{"tags": [1, {"a": 2}]}`, "\xff", `{"a\nb": 1, "options": {"\u0000": 1}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, args string) {
		err := v.Validate(json.RawMessage(args))
		if err == nil {
			if !json.Valid([]byte(args)) && strings.TrimSpace(args) != "" {
				t.Fatalf("Validate(%q) accepted invalid JSON", args)
			}
			return
		}
		var te *tool.Error
		if !errors.As(err, &te) || !strings.HasPrefix(te.Message, "invalid arguments: ") || strings.Contains(te.Message, "\n") {
			t.Fatalf("Validate(%q) = %q (%T); want a one-line *tool.Error", args, err, err)
		}
	})
}
