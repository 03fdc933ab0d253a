package gym

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// actions reads actions out of the model's answers for one action space,
// and writes them back as the model would.
type actions struct {
	space Space
	// names are the names of a Discrete space's actions, in order from
	// Start; empty when the actions have no names.
	names []string
}

// newActions checks names against the space.
func newActions(space Space, names []string) (actions, error) {
	if len(names) > 0 {
		if space.Type != SpaceDiscrete {
			return actions{}, fmt.Errorf("action names are given but the action space is %s, not Discrete", space.Describe())
		}
		if int64(len(names)) != space.N {
			return actions{}, fmt.Errorf("%d action names are given (%s) but the action space has %d actions", len(names), strings.Join(names, ", "), space.N)
		}
		seen := map[string]bool{}
		for _, n := range names {
			k := strings.ToLower(strings.TrimSpace(n))
			if k == "" || seen[k] {
				return actions{}, fmt.Errorf("action names must be distinct and non-empty (case is ignored), got %q", names)
			}
			seen[k] = true
		}
	}
	return actions{space: space, names: names}, nil
}

// describe says what an action is, for the system prompt.
func (a actions) describe() string {
	if len(a.names) == 0 {
		return a.space.Describe()
	}
	parts := make([]string, len(a.names))
	for i, n := range a.names {
		parts[i] = fmt.Sprintf("%s (%d)", n, a.space.Start+int64(i))
	}
	return "one of " + strings.Join(parts, ", ") + ": write the name or the number"
}

// example is an action as the model should write it.
func (a actions) example() string {
	if len(a.names) > 0 {
		return a.names[0]
	}
	return a.canonical(a.space.Example())
}

// parse reads the action in an answer; the error is written for the model.
// The action is a value decoded from JSON (float64, string, []any,
// map[string]any).
func (a actions) parse(ans string) (any, error) {
	ans = strings.TrimSpace(strings.ToValidUTF8(ans, "\uFFFD"))
	switch a.space.Type {
	case SpaceDiscrete:
		for i, n := range a.names {
			if strings.EqualFold(strings.TrimSpace(n), ans) {
				return float64(a.space.Start + int64(i)), nil
			}
		}
		f, err := strconv.ParseFloat(ans, 64)
		if err != nil {
			if len(a.names) > 0 {
				return nil, fmt.Errorf("%q is not an action: answer with one of %s, or its number (%d to %d)",
					clip(ans), strings.Join(a.names, ", "), a.space.Start, a.space.Start+a.space.N-1)
			}
			return nil, fmt.Errorf("%q is not an action: answer with an integer from %d to %d", clip(ans), a.space.Start, a.space.Start+a.space.N-1)
		}
		return f, a.space.Check(f)
	case SpaceText:
		v := any(ans)
		if strings.HasPrefix(ans, `"`) {
			var s string
			if json.Unmarshal([]byte(ans), &s) == nil {
				v = s
			}
		}
		return v, a.space.Check(v)
	case SpaceUnknown:
		var v any
		if err := json.Unmarshal([]byte(ans), &v); err != nil {
			return ans, nil
		}
		return v, nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(ans))
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, fmt.Errorf("%q is not valid JSON: the action must be %s", clip(ans), a.space.Describe())
	}
	return v, a.space.Check(v)
}

// encode is the JSON sent to the shim for action v.
func (a actions) encode(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("gym: encode action %v: %w", v, err)
	}
	return b, nil
}

// canonical spells action v as the model should write it: the action's
// name, a Discrete action's number, a text itself, or compact JSON.
func (a actions) canonical(v any) string {
	switch a.space.Type {
	case SpaceDiscrete:
		if n, ok := integer(v); ok {
			if i := n - a.space.Start; len(a.names) > 0 && i >= 0 && i < int64(len(a.names)) {
				return a.names[i]
			}
			return strconv.FormatInt(n, 10)
		}
	case SpaceText:
		if s, ok := v.(string); ok {
			return s
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// sameAction reports whether two decoded actions are equal as JSON.
func sameAction(x, y any) bool {
	bx, err1 := json.Marshal(x)
	by, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && bytes.Equal(bx, by)
}

var errNotLegal = errors.New("not a legal action now")

// clip shortens a model's text for an error message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
