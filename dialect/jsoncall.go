package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
)

// argKeys are the keys that may hold a JSON call's arguments, in order of
// preference: models trained on different formats use each of them.
var argKeys = []string{"arguments", "parameters", "args"}

// emptyObject is the arguments of a call written without any.
var emptyObject = json.RawMessage(`{}`)

// callFromJSON decodes one call object {"name": …, "arguments": {…}}, also
// accepting "parameters" or "args" for the arguments, an "id", and the
// OpenAI shape {"type": "function", "function": {…}}. problem says what is
// wrong when the object is not a valid call.
func callFromJSON(raw []byte) (call retrain.ToolCall, problem string) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return call, "expected a JSON object, got " + snippet(string(t))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return call, "invalid JSON: " + err.Error()
	}
	if _, ok := m["name"]; !ok {
		if f, ok := m["function"]; ok && len(bytes.TrimSpace(f)) > 0 && bytes.TrimSpace(f)[0] == '{' {
			call, problem = callFromJSON(f)
			if call.ID == "" {
				call.ID = stringField(m, "id")
			}
			return call, problem
		}
		return call, `the call has no "name"`
	}
	var name string
	if err := json.Unmarshal(m["name"], &name); err != nil {
		return call, `"name" must be a string`
	}
	if name = strings.TrimSpace(name); name == "" {
		return call, `"name" is empty`
	}
	var args json.RawMessage
	key := "arguments"
	for _, k := range argKeys {
		if v, ok := m[k]; ok {
			args, key = v, k
			break
		}
	}
	norm, problem := normalizeArgs(args)
	if problem != "" {
		return call, fmt.Sprintf("the %q of %q %s", key, name, problem)
	}
	return retrain.ToolCall{ID: stringField(m, "id"), Name: name, Arguments: norm}, ""
}

// stringField is m[key] when it is a JSON string, else "".
func stringField(m map[string]json.RawMessage, key string) string {
	var s string
	if v, ok := m[key]; ok && json.Unmarshal(v, &s) == nil {
		return strings.TrimSpace(s)
	}
	return ""
}

// normalizeArgs returns arguments as a compact JSON object: absent or null
// arguments become {}, and a JSON string holding an object (the OpenAI wire
// form, which some models imitate) is decoded. Anything else is a problem.
func normalizeArgs(args json.RawMessage) (json.RawMessage, string) {
	t := bytes.TrimSpace(args)
	if len(t) == 0 || string(t) == "null" {
		return emptyObject, ""
	}
	switch t[0] {
	case '{':
		var b bytes.Buffer
		if err := json.Compact(&b, t); err != nil {
			return nil, "are not valid JSON: " + err.Error()
		}
		return validUTF8(b.Bytes()), ""
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, "are not valid JSON: " + err.Error()
		}
		inner := strings.TrimSpace(s)
		if inner == "" {
			return emptyObject, ""
		}
		if inner[0] == '{' {
			var b bytes.Buffer
			if json.Compact(&b, []byte(inner)) == nil {
				return validUTF8(b.Bytes()), ""
			}
		}
		return nil, "must be a JSON object, got a string"
	}
	return nil, "must be a JSON object, got " + jsonKind(t)
}

// validUTF8 replaces invalid UTF-8 (possible only inside JSON strings) with
// U+FFFD so that the arguments are valid JSON text.
func validUTF8(b []byte) json.RawMessage {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(t []byte) string {
	switch {
	case len(t) == 0:
		return "nothing"
	case t[0] == '[':
		return "an array"
	case t[0] == '"':
		return "a string"
	case t[0] == 't' || t[0] == 'f':
		return "a boolean"
	case t[0] == 'n':
		return "null"
	case t[0] == '-' || (t[0] >= '0' && t[0] <= '9'):
		return "a number"
	}
	return snippet(string(t))
}

// nextJSON decodes the JSON value at the start of s (after white space) and
// returns it with the rest of s.
func nextJSON(s string) (json.RawMessage, string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("unexpected end of JSON input")
		}
		return nil, s, err
	}
	return v, s[dec.InputOffset():], nil
}

// callsFromJSON decodes the calls written at the start of s: one JSON call
// object, several separated by white space, ";" or ",", or a JSON array of
// call objects. It returns the calls and the text after them; problem says
// what was wrong. first is the index of the first call, for messages.
func callsFromJSON(s string, first int) (calls []retrain.ToolCall, rest, problem string) {
	s = strings.TrimLeft(s, " \t\r\n")
	if strings.HasPrefix(s, "[") {
		v, rest, err := nextJSON(s)
		if err != nil {
			return nil, s, "invalid JSON in the list of calls: " + err.Error()
		}
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, s, "invalid JSON in the list of calls: " + err.Error()
		}
		if len(items) == 0 {
			return nil, s, "the list of calls is empty"
		}
		for i, it := range items {
			c, p := callFromJSON(it)
			if p != "" {
				return nil, s, ordinal(first+i) + ": " + p
			}
			calls = append(calls, c)
		}
		return calls, rest, ""
	}
	for {
		if !strings.HasPrefix(s, "{") {
			if len(calls) == 0 {
				return nil, s, "expected a JSON object, got " + snippet(s)
			}
			return calls, s, ""
		}
		v, after, err := nextJSON(s)
		if err != nil {
			return nil, s, ordinal(first+len(calls)) + ": invalid JSON: " + err.Error()
		}
		c, p := callFromJSON(v)
		if p != "" {
			return nil, s, ordinal(first+len(calls)) + ": " + p
		}
		calls = append(calls, c)
		s = after
		// Separators between objects: white space, ";" or ",".
		s = strings.TrimLeft(s, " \t\r\n;,")
		if !strings.HasPrefix(s, "{") {
			return calls, s, ""
		}
	}
}

// compactJSON is raw with insignificant white space removed, or raw itself
// when it is not valid JSON.
func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// pyJSON re-spaces compact JSON the way Python's json.dumps (and so the
// tojson filter of Hugging Face chat templates) writes it: ", " and ": "
// between items. Models have seen their tool lists and calls in this form.
func pyJSON(raw []byte) string {
	raw = compactJSON(raw)
	var b strings.Builder
	b.Grow(len(raw) + len(raw)/8)
	inString, escaped := false, false
	for _, c := range raw {
		b.WriteByte(c)
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == ':'):
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// jsonString is s encoded as a JSON string, without HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// object builds a JSON object whose keys keep their first position; setting
// a key again replaces its value (Python's dict semantics).
type object struct {
	keys []string
	vals map[string]string
}

// set sets key to the JSON text v.
func (o *object) set(key, v string) {
	if o.vals == nil {
		o.vals = map[string]string{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// json is the compact JSON text of o.
func (o *object) json() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(k))
		b.WriteByte(':')
		b.WriteString(o.vals[k])
	}
	b.WriteByte('}')
	return b.String()
}
