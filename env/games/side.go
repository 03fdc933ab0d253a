package games

import (
	"encoding/json"
	"fmt"
)

// Side says which player the trained model is.
type Side int

// Sides.
const (
	// First: the model is player 0 and moves first.
	First Side = iota
	// Second: the model is player 1; the opponent opens.
	Second
	// Alternate: the model moves first when the episode's seed is even,
	// second when it is odd, so a dataset of consecutive seeds trains both
	// sides equally and each seed replays the same side.
	Alternate
)

// Player is the model's player (0 or 1) in an episode with the given seed.
func (s Side) Player(seed uint64) int {
	switch s {
	case Second:
		return 1
	case Alternate:
		return int(seed % 2)
	}
	return 0
}

// String returns "first", "second" or "alternate".
func (s Side) String() string {
	switch s {
	case First:
		return "first"
	case Second:
		return "second"
	case Alternate:
		return "alternate"
	}
	return fmt.Sprintf("Side(%d)", int(s))
}

// UnmarshalJSON accepts true (first), false (second), or one of the strings
// "first", "second", "alternate".
func (s *Side) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v {
	case nil:
		return nil
	case true, "first":
		*s = First
	case false, "second":
		*s = Second
	case "alternate":
		*s = Alternate
	default:
		return fmt.Errorf("invalid side %s: use true (the model moves first), false (second) or \"alternate\" (by seed)", b)
	}
	return nil
}

// MarshalJSON writes the side as "first", "second" or "alternate".
func (s Side) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// DescribeType names the JSON forms of a side, for config descriptions.
func (Side) DescribeType() string {
	return `true (the model moves first), false (second) or "alternate" (by seed)`
}
