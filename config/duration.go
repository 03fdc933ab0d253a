package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration in a configuration: a Go duration string
// ("30s", "1m30s") or a number of seconds. It must not be negative. A field
// of type time.Duration is decoded the same way.
type Duration time.Duration

// UnmarshalJSON accepts a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	out, err := parseDuration(v, b)
	if err != nil {
		return err
	}
	if v != nil {
		*d = Duration(out)
	}
	return nil
}

// MarshalJSON writes the duration as a string ("1m30s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// String formats the duration like time.Duration, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// parseDuration reads a decoded JSON value (raw is its text, for messages)
// as a duration: a string or a number of seconds; null is zero.
func parseDuration(v any, raw []byte) (time.Duration, error) {
	var out time.Duration
	switch v := v.(type) {
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: use a form like \"30s\", \"500ms\" or \"2m\", or a number of seconds", v)
		}
		out = p
	case float64:
		out = time.Duration(v * float64(time.Second))
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, fmt.Errorf("invalid duration %s: use a string like \"30s\" or a number of seconds", v)
		}
		out = time.Duration(f * float64(time.Second))
	case nil:
		return 0, nil
	default:
		return 0, fmt.Errorf("invalid duration %s: use a string like \"30s\" or a number of seconds", raw)
	}
	if out < 0 {
		return 0, fmt.Errorf("invalid duration %s: must not be negative", raw)
	}
	return out, nil
}
