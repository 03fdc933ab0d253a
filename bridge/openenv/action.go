package openenv

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
)

// fieldNone is the ActionField that makes the model write the whole action.
const fieldNone = "none"

// actionMapper turns model output into the server's action object. It is
// read-only once built, shared by a factory's environments.
type actionMapper struct {
	schema    json.RawMessage // the action schema, or nil
	validator *tool.Validator // nil without a usable schema
	field     string          // the text field, or "" when the model writes the object
	tag       string          // the answer tag, or "" for the whole output
}

// newActionMapper chooses how output maps to actions for schema (nil when
// the server has none), honouring the configured field and tag.
func newActionMapper(schema json.RawMessage, field string, tag *string) (*actionMapper, error) {
	m := &actionMapper{}
	var props map[string]any
	var required []string
	if len(bytes.TrimSpace(schema)) > 0 {
		m.schema = schema
		if v, err := tool.NewValidator(schema); err == nil {
			m.validator = v
		}
		var doc struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		}
		if err := json.Unmarshal(schema, &doc); err != nil {
			return nil, fmt.Errorf("openenv: the server's action schema is not a JSON object: %w", err)
		}
		props, required = doc.Properties, doc.Required
	}
	switch field {
	case fieldNone:
		field = ""
	case "":
		field = chooseField(props, required)
	default:
		if props != nil {
			if _, ok := props[field]; !ok {
				return nil, fmt.Errorf("openenv: action_field %q is not a property of the server's action schema; its properties: %s", field, strings.Join(sortedKeys(props), ", "))
			}
		}
	}
	m.field = field
	switch {
	case tag == nil && field == "raw":
		m.tag = ""
	case tag == nil:
		m.tag = "answer"
	case *tag == fieldNone:
		m.tag = ""
	default:
		m.tag = *tag
	}
	return m, nil
}

// chooseField picks the action's text field from its schema: the only
// required property, when it is a string; with no required property, "raw"
// (retrain serve's raw model output), else the only string property. ""
// means none: the model writes the whole object.
func chooseField(props map[string]any, required []string) string {
	switch {
	case len(required) == 1 && isString(props[required[0]]):
		return required[0]
	case len(required) > 0:
		return "" // other required properties: the model writes the object
	}
	if isString(props["raw"]) {
		return "raw"
	}
	var strs []string
	for name, p := range props {
		if isString(p) {
			strs = append(strs, name)
		}
	}
	if len(strs) == 1 {
		return strs[0]
	}
	return ""
}

// isString reports whether a property schema is a string (possibly
// nullable, as Pydantic writes Optional[str]).
func isString(p any) bool {
	s, ok := p.(map[string]any)
	if !ok {
		return false
	}
	switch t := s["type"].(type) {
	case string:
		return t == "string"
	case []any:
		return slices.Contains(t, any("string"))
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[key].([]any); ok {
			for _, a := range alts {
				if as, ok := a.(map[string]any); ok && as["type"] == "string" {
					return true
				}
			}
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mapAction returns the action object for a, or what is wrong with it
// (shown to the model).
func (m *actionMapper) mapAction(a retrain.Action) (json.RawMessage, string) {
	if a.ParseError != "" {
		return nil, a.ParseError
	}
	var obj json.RawMessage
	switch {
	case m.field == "" && len(a.ToolCalls) == 1:
		obj = a.ToolCalls[0].Arguments
		if len(bytes.TrimSpace(obj)) == 0 {
			obj = json.RawMessage(`{}`)
		}
	case m.field == "" && len(a.ToolCalls) > 1:
		return nil, fmt.Errorf("you made %d tool calls; this environment takes one action per turn", len(a.ToolCalls)).Error()
	case m.field == "raw":
		b, err := json.Marshal(map[string]string{m.field: cmp.Or(a.Raw, a.Text)})
		if err != nil {
			return nil, "your output could not be encoded: " + err.Error()
		}
		obj = b
	default:
		text := cmp.Or(a.Text, a.Raw)
		inner, tagged := lastTagged(text, m.tag)
		if !tagged {
			inner = text
		}
		inner = strings.TrimSpace(inner)
		if m.field != "" {
			b, err := json.Marshal(map[string]string{m.field: inner})
			if err != nil {
				return nil, "your output could not be encoded: " + err.Error()
			}
			obj = b
			break
		}
		inner = stripFence(inner)
		if !isObject(inner) {
			if m.tag != "" && !tagged {
				return nil, fmt.Sprintf("no action found: write the action as a JSON object inside <%s></%s>", m.tag, m.tag)
			}
			return nil, "the action is not a JSON object"
		}
		obj = json.RawMessage(inner)
	}
	if m.validator != nil {
		if err := m.validator.Validate(obj); err != nil {
			msg := err.Error()
			var te *tool.Error
			if errors.As(err, &te) {
				msg = te.Message
			}
			return nil, "invalid action " + compact(obj) + ": " + strings.TrimPrefix(msg, "invalid arguments: ")
		}
	}
	return obj, ""
}

// instructions says how to write an action, for feedback and the default
// system prompt.
func (m *actionMapper) instructions() string {
	if m.field != "" {
		return ""
	}
	var b strings.Builder
	if m.tag != "" {
		fmt.Fprintf(&b, "Reply with your action as one JSON object inside <%s></%s>", m.tag, m.tag)
	} else {
		b.WriteString("Reply with your action as one JSON object")
	}
	if m.schema != nil {
		var pretty bytes.Buffer
		if json.Indent(&pretty, m.schema, "", "  ") == nil {
			b.WriteString(", matching this JSON Schema:\n")
			b.Write(pretty.Bytes())
			return b.String()
		}
	}
	b.WriteString(".")
	return b.String()
}

// lastTagged returns the text inside the last <tag>...</tag> of s.
func lastTagged(s, tag string) (string, bool) {
	if tag == "" {
		return "", false
	}
	open, end := "<"+tag+">", "</"+tag+">"
	j := strings.LastIndex(s, end)
	if j < 0 {
		return "", false
	}
	i := strings.LastIndex(s[:j], open)
	if i < 0 {
		return "", false
	}
	return s[i+len(open) : j], true
}

// stripFence removes a Markdown code fence around s.
func stripFence(s string) string {
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	body := strings.TrimSuffix(s[3:], "```")
	if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{[") {
		body = body[nl+1:] // the language tag
	}
	return strings.TrimSpace(body)
}

func isObject(s string) bool {
	if !strings.HasPrefix(s, "{") || !json.Valid([]byte(s)) {
		return false
	}
	return true
}

// compact abbreviates a JSON value for a message.
func compact(b json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		buf.Reset()
		buf.Write(b)
	}
	s := buf.String()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// rawOf is the model's output of a, as recorded in the conversation.
func rawOf(a retrain.Action) string { return cmp.Or(a.Raw, a.Text) }
