package reward

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
)

// formatParams are format's parameters.
type formatParams struct {
	// Dialect names the dialect to parse with; by default the sample's.
	Dialect string `json:"dialect"`
	// Partial is the score of output that does not parse but whose XML-like
	// tags are all balanced (default 0.5).
	Partial *float64 `json:"partial"`
}

// newFormat scores how well a completion follows the dialect's format: 1
// for a clean parse, Partial when the parse fails but there are tags and
// they are balanced (<a>…</a> nested properly), else 0. A rollout-level
// sample with a trajectory scores the mean over its turns. A trajectory of
// an environment without a dialect (plain text) scores 1.
func newFormat(p formatParams) (Func, error) {
	partial := 0.5
	if p.Partial != nil {
		partial = *p.Partial
	}
	if p.Dialect != "" {
		if _, err := dialect.Get(p.Dialect); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadParams, err)
		}
	}
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		name := p.Dialect
		if name == "" {
			name = s.Dialect
		}
		if name == "" && s.Trajectory != nil {
			// The environment takes plain text (it names no dialect): every
			// completion is well-formed.
			return Score{Value: 1, Detail: "plain-text environment: nothing to parse"}, nil
		}
		if name == "" {
			return Score{}, errors.New("format: no dialect known; set the param dialect or the calculator's dialect")
		}
		d, err := dialect.Get(name)
		if err != nil {
			return Score{}, fmt.Errorf("format: %w", err)
		}
		if s.RolloutLevel() && s.Trajectory != nil && len(s.Trajectory.Turns) > 0 {
			total := 0.0
			for _, t := range s.Trajectory.Turns {
				v, _ := formatScore(d, t.Action.Raw, t.Action.ToolCalls, partial)
				total += v
			}
			n := len(s.Trajectory.Turns)
			return Score{Value: total / float64(n), Detail: fmt.Sprintf("mean over %d turns", n)}, nil
		}
		var native []retrain.ToolCall
		if s.Action != nil {
			native = s.Action.ToolCalls
		}
		v, why := formatScore(d, s.Completion, native, partial)
		return Score{Value: v, Detail: why}, nil
	}), nil
}

func formatScore(d dialect.Dialect, text string, native []retrain.ToolCall, partial float64) (float64, string) {
	a := d.Parse(text, native)
	switch {
	case a.ParseError == "":
		return 1, "parses as " + d.Name()
	case tagsBalanced(text):
		return partial, "tags balanced but: " + a.ParseError
	}
	return 0, a.ParseError
}

var tagRE = regexp.MustCompile(`<(/?)([A-Za-z_][\w:.\-]*)[^<>]*?(/?)>`)

// tagsBalanced reports whether text has XML-like tags and every opening tag
// is closed in order.
func tagsBalanced(text string) bool {
	var stack []string
	seen := false
	for _, m := range tagRE.FindAllStringSubmatch(text, -1) {
		closing, name, selfClosing := m[1] == "/", m[2], m[3] == "/"
		seen = true
		switch {
		case selfClosing:
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return false
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, name)
		}
	}
	return seen && len(stack) == 0
}
