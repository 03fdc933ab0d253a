package env

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/internal/strictjson"
)

// DecodeConfig decodes a configuration object into the struct that into
// points at. Nil, empty or JSON null config leaves into as it is (defaults).
// Unknown keys are an error that lists the allowed ones, and a value of the
// wrong type is an error that names its key and the expected type.
func DecodeConfig(raw json.RawMessage, into any) error {
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("env: DecodeConfig needs a non-nil pointer, got %T", into)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("config must be a JSON object like {\"key\": value}, got %s", abbreviate(trimmed))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return configError(err, rv.Elem().Type())
	}
	if dec.More() {
		return errors.New("config has extra data after its JSON object")
	}
	return nil
}

// configError rewrites a json decoding error in the words of a config file.
func configError(err error, t reflect.Type) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		key := typeErr.Field
		if key == "" {
			return fmt.Errorf("config: expected %s, got a JSON %s", jsonKind(typeErr.Type), typeErr.Value)
		}
		return fmt.Errorf("config key %q: expected %s, got a JSON %s", key, jsonKind(typeErr.Type), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("config is not valid JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("config is not valid JSON: unexpected end of input")
	}
	if name, ok := strictjson.UnknownField(err); ok {
		allowed := allowedKeys(t)
		if len(allowed) == 0 {
			return fmt.Errorf("unknown config key %q: this environment takes no configuration", name)
		}
		return fmt.Errorf("unknown config key %q; allowed keys: %s", name, strings.Join(allowed, ", "))
	}
	return fmt.Errorf("config: %w", err)
}

// allowedKeys lists the JSON keys of struct type t, in field order.
func allowedKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && !strings.Contains(tag, ",") {
			continue
		}
		if f.Anonymous && name == "" {
			keys = append(keys, allowedKeys(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys = append(keys, name)
	}
	return keys
}

// jsonKind names what a Go type looks like in JSON.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if t == reflect.TypeFor[Duration]() {
		return `a duration (like "30s") or a number of seconds`
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "an "), "a ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

func abbreviate(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// Duration is a time.Duration in a configuration: a Go duration string
// ("30s", "1m30s") or a number of seconds. It must not be negative.
type Duration time.Duration

// UnmarshalJSON accepts a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var out time.Duration
	switch v := v.(type) {
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q: use a form like \"30s\", \"500ms\" or \"2m\", or a number of seconds", v)
		}
		out = p
	case float64:
		out = time.Duration(v * float64(time.Second))
	case nil:
		return nil
	default:
		return fmt.Errorf("invalid duration %s: use a string like \"30s\" or a number of seconds", b)
	}
	if out < 0 {
		return fmt.Errorf("invalid duration %s: must not be negative", b)
	}
	*d = Duration(out)
	return nil
}

// MarshalJSON writes the duration as a string ("1m30s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}
