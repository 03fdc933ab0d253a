package gym

import (
	"encoding/json"
	"fmt"
	"strings"
)

// toyText is what the bridge knows of one of Gymnasium's toy-text
// environments: its action names, and how to say what an observation
// means when the text render leaves it unclear or there is none.
type toyText struct {
	// actions are the names of the Discrete actions, from 0.
	actions []string
	// describe says what an observation means, or "" when it is not as
	// expected; nil when the render says enough.
	describe func(obs json.RawMessage) string
	// fits reports whether the observation space is the one describe reads.
	fits func(Space) bool
}

// toyTexts are Gymnasium's toy-text environments by name (the id without
// its version). Their actions are Gymnasium's: FrozenLake 0 left, 1 down,
// 2 right, 3 up; Taxi 0 south, 1 north, 2 east, 3 west, 4 pickup,
// 5 dropoff; CliffWalking 0 up, 1 right, 2 down, 3 left; Blackjack 0
// stick, 1 hit.
var toyTexts = map[string]toyText{
	"FrozenLake":           {actions: []string{"left", "down", "right", "up"}},
	"FrozenLake8x8":        {actions: []string{"left", "down", "right", "up"}},
	"CliffWalking":         {actions: []string{"up", "right", "down", "left"}},
	"CliffWalkingSlippery": {actions: []string{"up", "right", "down", "left"}},
	"Taxi": {
		actions:  []string{"south", "north", "east", "west", "pickup", "dropoff"},
		describe: describeTaxi,
		fits:     func(s Space) bool { return s.Type == SpaceDiscrete && s.Start == 0 && s.N == 500 },
	},
	"Blackjack": {
		actions:  []string{"stick", "hit"},
		describe: describeBlackjack,
		fits: func(s Space) bool {
			return s.Type == SpaceTuple && len(s.Spaces) == 3 &&
				s.Spaces[0].Type == SpaceDiscrete && s.Spaces[1].Type == SpaceDiscrete && s.Spaces[2].Type == SpaceDiscrete
		},
	},
}

// lookupToyText finds the toy-text environment that env names: a Gymnasium
// id such as "Taxi-v3", possibly after "module:" (gymnasium.make's
// "module:EnvId"). Namespaced ids ("ns/Name-v0") belong to others.
func lookupToyText(env string) (toyText, bool) {
	if _, after, ok := strings.Cut(env, ":"); ok {
		env = after
	}
	env = strings.TrimSpace(env)
	if strings.Contains(env, "/") {
		return toyText{}, false
	}
	if i := strings.LastIndex(env, "-v"); i > 0 && isDigits(env[i+2:]) {
		env = env[:i]
	}
	t, ok := toyTexts[env]
	return t, ok
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// defaultActionNames returns the built-in action names of a toy-text
// environment, when env names one and its action space is Discrete with
// as many actions from 0; nil otherwise.
func defaultActionNames(env string, space Space) []string {
	t, ok := lookupToyText(env)
	if !ok || space.Type != SpaceDiscrete || space.Start != 0 || space.N != int64(len(t.actions)) {
		return nil
	}
	return t.actions
}

// describer returns how to describe the observations of env, or nil.
func describer(env string, obs Space) func(json.RawMessage) string {
	t, ok := lookupToyText(env)
	if !ok || t.describe == nil || !t.fits(obs) {
		return nil
	}
	return t.describe
}

// describeBlackjack reads Blackjack's observation (player's sum, the
// dealer's showing card with 1 for an ace, usable ace 0 or 1).
func describeBlackjack(obs json.RawMessage) string {
	var v []float64
	if json.Unmarshal(obs, &v) != nil || len(v) != 3 {
		return ""
	}
	sum, dealer, ace := v[0], v[1], v[2]
	shows := num(dealer)
	if dealer == 1 {
		shows = "an ace"
	}
	usable := "no"
	if ace != 0 {
		usable = "yes"
	}
	return fmt.Sprintf("player sum %s, dealer shows %s, usable ace: %s", num(sum), shows, usable)
}

// taxiStops are Taxi's four stops, by index: letter, row, column.
var taxiStops = []struct {
	letter   string
	row, col int
}{{"R", 0, 0}, {"G", 0, 4}, {"Y", 4, 0}, {"B", 4, 3}}

// describeTaxi decodes Taxi's state, ((row*5 + col)*5 + passenger)*4 +
// destination, where passenger 4 is in the taxi.
func describeTaxi(obs json.RawMessage) string {
	var f float64
	if json.Unmarshal(obs, &f) != nil {
		return ""
	}
	s, ok := integer(f)
	if !ok || s < 0 || s >= 500 {
		return ""
	}
	dest := s % 4
	s /= 4
	passenger := s % 5
	s /= 5
	row, col := s/5, s%5
	stop := func(i int64) string {
		p := taxiStops[i]
		return fmt.Sprintf("%s (row %d, column %d)", p.letter, p.row, p.col)
	}
	where := "in the taxi"
	if passenger < 4 {
		where = "waiting at " + stop(passenger)
	}
	return fmt.Sprintf("taxi at row %d, column %d; passenger %s; destination %s", row, col, where, stop(dest))
}
