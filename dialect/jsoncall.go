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
		return call, "invalid JSON: " + jsonErr(err)
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
			return nil, "are not valid JSON: " + jsonErr(err)
		}
		return validUTF8(b.Bytes()), ""
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, "are not valid JSON: " + jsonErr(err)
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

// jsonErr is the message of a JSON syntax error, with a hint for the
// mistakes models make most: raw line breaks inside strings, Python's
// quotes and literals, trailing commas.
func jsonErr(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "in string literal"):
		return msg + " (write line breaks and tabs inside JSON strings as \\n and \\t)"
	case strings.Contains(msg, `invalid character '\''`):
		return msg + " (JSON strings and keys take double quotes, not single quotes)"
	case strings.Contains(msg, "looking for beginning of value") &&
		(strings.Contains(msg, "'T'") || strings.Contains(msg, "'F'") || strings.Contains(msg, "'N'")):
		return msg + " (JSON writes true, false and null, not True, False and None)"
	case strings.Contains(msg, "invalid character '}' looking for beginning of object key") ||
		strings.Contains(msg, "invalid character ']' looking for beginning of value"):
		return msg + " (JSON allows no trailing comma)"
	}
	return msg
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
			return nil, s, "invalid JSON in the list of calls: " + jsonErr(err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, s, "invalid JSON in the list of calls: " + jsonErr(err)
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
			return nil, s, ordinal(first+len(calls)) + ": invalid JSON: " + jsonErr(err)
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
	var str jsonStrings
	for _, c := range raw {
		b.WriteByte(c)
		if str.outside(c) && (c == ',' || c == ':') {
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

// maxJSONCandidates bounds how many places findJSONCall tries in one reply,
// so that text full of brackets costs linear time.
const maxJSONCandidates = 64

// findJSONCall returns the offset of the first top-level JSON call object
// in s (or of a JSON array of them), or -1. Objects nested in a larger JSON
// value are not calls. budget counts the places tried; it is shared by the
// searches of one reply.
//
// An object that opens like a call ({"name": … or {"type": "function", …,
// either quote) and is not closed before the end of s, or that also has
// an "arguments" or "parameters" key but is not valid JSON, is a malformed
// call: problem says what is wrong and at is its offset.
func findJSONCall(s string, budget *int) (at int, problem string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '{' && s[i] != '[' {
			continue
		}
		// Cheap test first: an object opens with a key, a list of calls
		// with an object.
		j := i + 1
		for j < len(s) && strings.IndexByte(" \t\r\n", s[j]) >= 0 {
			j++
		}
		if j >= len(s) || !(s[j] == '"' || s[j] == '\'' || (s[i] == '[' && s[j] == '{')) {
			continue
		}
		if *budget--; *budget < 0 {
			return -1, ""
		}
		attempt := isCallAttempt(s[i:])
		if s[i] == '[' {
			attempt = isCallAttempt(s[j:])
		}
		end := valueEnd(s[i:])
		if end < 0 {
			if attempt {
				return i, "the call is not complete (was the output cut off?): " + snippet(s[i:])
			}
			continue
		}
		v := json.RawMessage(s[i : i+end])
		if !json.Valid(v) {
			if attempt && hasArgsKey(s[i:i+end]) {
				var x json.RawMessage
				err := json.Unmarshal(v, &x)
				return i, "invalid JSON in the call: " + jsonErr(err)
			}
		} else if isCallShaped(v) {
			return i, ""
		}
		i += end - 1
	}
	return -1, ""
}

// isCallAttempt reports whether s starts like a JSON call object: "{" and
// then the key "name", or "type" with the value "function" (either quote,
// as models write Python dicts too).
func isCallAttempt(s string) bool {
	if !strings.HasPrefix(s, "{") {
		return false
	}
	t := strings.TrimLeft(s[1:], " \t\r\n")
	for _, q := range []string{`"`, `'`} {
		if strings.HasPrefix(t, q+"name"+q) {
			return true
		}
		if r, ok := strings.CutPrefix(t, q+"type"+q); ok {
			r = strings.TrimLeft(r, " \t\r\n")
			if r, ok = strings.CutPrefix(r, ":"); ok {
				return strings.HasPrefix(strings.TrimLeft(r, " \t\r\n"), q+"function"+q)
			}
		}
	}
	return false
}

// hasArgsKey reports whether the JSON-like text s has an "arguments" or
// "parameters" key, either quote.
func hasArgsKey(s string) bool {
	for _, k := range []string{`"arguments"`, `'arguments'`, `"parameters"`, `'parameters'`} {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

// valueEnd returns the length of the bracketed JSON-like value at the start
// of s, counting brackets outside strings, or -1 when it is not closed.
func valueEnd(s string) int {
	depth := 0
	var str jsonStrings
	for k := 0; k < len(s); k++ {
		switch c := s[k]; {
		case !str.outside(c):
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return k + 1
			}
		}
	}
	return -1
}

// jsonStrings follows, byte by byte, whether JSON text is inside a string.
type jsonStrings struct{ in, escaped bool }

// outside takes the next byte c and reports whether it stands outside every
// string: false for the bytes of a string and for its quotes.
func (s *jsonStrings) outside(c byte) bool {
	switch {
	case s.in && s.escaped:
		s.escaped = false
	case s.in && c == '\\':
		s.escaped = true
	case c == '"':
		s.in = !s.in
	case !s.in:
		return true
	}
	return false
}

// isCallShaped reports whether v is a JSON object with a "name" and
// "parameters" or "arguments" (or the OpenAI {"function": {…}} shape), or
// a non-empty array of such objects.
func isCallShaped(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil || len(items) == 0 {
			return false
		}
		for _, it := range items {
			if !isCallShaped(it) {
				return false
			}
		}
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return false
	}
	if f, ok := m["function"]; ok && m["name"] == nil {
		return isCallShaped(f)
	}
	var name string
	if json.Unmarshal(m["name"], &name) != nil || name == "" {
		return false
	}
	_, p := m["parameters"]
	_, a := m["arguments"]
	return p || a
}

// untaggedCall returns the JSON call objects that end s, after any prose
// and in a code fence or not: the reply of a model that wrote its call
// without the wrapper its dialect asks for (tags, [TOOL_CALLS], Python
// syntax). Such a reply is a malformed call, not an answer. found is false
// when s does not end with a JSON call.
func untaggedCall(s string) (call string, found bool) {
	budget := maxJSONCandidates
	at, problem := findJSONCall(s, &budget)
	if at < 0 || problem != "" {
		return "", false
	}
	_, tail, p := callsFromJSON(s[at:], 0)
	if _, after := unfence(s[:at], tail); p != "" || trimContent(after) != "" {
		return "", false
	}
	return strings.TrimSpace(s[at : len(s)-len(tail)]), true
}
