package chatwire

import (
	"bytes"
	"encoding/json"
	"strings"
)

// UnmarshalJSON decodes a function call. Arguments may be a JSON string (the
// API's form), null, or any other JSON value (some servers send an object),
// which is kept as its JSON text.
func (f *FunctionCall) UnmarshalJSON(b []byte) error {
	var w struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	f.Name = w.Name
	raw := bytes.TrimSpace(w.Arguments)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		f.Arguments = ""
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &f.Arguments); err != nil {
			return err
		}
	default:
		f.Arguments = string(raw)
	}
	return nil
}

// ArgumentsJSON turns the arguments text of a tool call, as the model wrote
// it, into JSON: the text itself (trimmed) when it is valid JSON other than a
// string, {} when it is blank, and otherwise (invalid JSON, or a JSON string)
// the text as a JSON string value, so that nothing the model wrote is lost
// ([ArgumentsText] gives it back unchanged).
func ArgumentsJSON(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return json.RawMessage("{}")
	case t[0] != '"' && json.Valid([]byte(t)):
		return json.RawMessage(t)
	}
	return AppendString(nil, text)
}

// ArgumentsText is the wire form of a tool call's arguments: the JSON text,
// "{}" when empty, and the string itself when args is a JSON string (how
// [ArgumentsJSON] keeps arguments that were not valid JSON), so they
// round-trip unchanged.
func ArgumentsText(args json.RawMessage) string {
	args = bytes.TrimSpace(args)
	switch {
	case len(args) == 0:
		return "{}"
	case args[0] == '"':
		var s string
		if json.Unmarshal(args, &s) == nil {
			return s
		}
	}
	return string(args)
}
