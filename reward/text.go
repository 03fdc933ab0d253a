package reward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Targets of regex and json_schema: what text they look at.
const (
	TargetCompletion = "completion"
	TargetAnswer     = "answer"
)

// targetText returns the text a target names. The answer target takes an
// answer tag's or \boxed{}'s content as written, else [ExtractAnswer]'s.
func targetText(s Sample, target string) (text, extracted string) {
	if target != TargetAnswer {
		return s.Completion, ""
	}
	c := afterThink(s.Completion)
	a, ok := answerTag(c)
	if !ok {
		a, ok = lastBoxed(c)
	}
	if !ok {
		a, _ = ExtractAnswer(s.Completion)
	}
	return a, a
}

func checkTarget(target string) error {
	if target != TargetCompletion && target != TargetAnswer {
		return fmt.Errorf("%w: target must be %q or %q, got %q", ErrBadParams, TargetCompletion, TargetAnswer, target)
	}
	return nil
}

// lengthParams are length's parameters. Inside [min, max] the score is
// Inside; outside it is Inside - Penalty, or, with PerUnit, Inside - Penalty
// × the number of units outside.
type lengthParams struct {
	// Unit is "tokens" (the action's generated tokens; an error when the
	// model reported none) or "chars" (characters).
	Unit string `json:"unit"`
	// Min and Max bound the budget; 0 means no bound.
	Min int `json:"min"`
	Max int `json:"max"`
	// Penalty is subtracted outside the budget (default 1).
	Penalty *float64 `json:"penalty"`
	// PerUnit multiplies Penalty by how far outside the budget the length is.
	PerUnit bool `json:"per_unit"`
	// Inside is the score within the budget (default 0).
	Inside float64 `json:"inside"`
}

func newLength(p lengthParams) (Func, error) {
	if p.Unit != "tokens" && p.Unit != "chars" {
		return nil, fmt.Errorf("%w: unit must be \"tokens\" or \"chars\", got %q", ErrBadParams, p.Unit)
	}
	if p.Min < 0 || p.Max < 0 || p.Max > 0 && p.Min > p.Max {
		return nil, fmt.Errorf("%w: need 0 <= min <= max (0 = no bound), got min %d max %d", ErrBadParams, p.Min, p.Max)
	}
	penalty := 1.0
	if p.Penalty != nil {
		penalty = *p.Penalty
	}
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		n, err := sampleLength(s, p.Unit)
		if err != nil {
			return Score{}, err
		}
		out := 0
		switch {
		case n < p.Min:
			out = p.Min - n
		case p.Max > 0 && n > p.Max:
			out = n - p.Max
		}
		sc := Score{Value: p.Inside, Detail: fmt.Sprintf("%d %s", n, p.Unit)}
		if out > 0 {
			if p.PerUnit {
				sc.Value -= penalty * float64(out)
			} else {
				sc.Value -= penalty
			}
			sc.Detail += fmt.Sprintf(", %d outside the budget", out)
		}
		return sc, nil
	}), nil
}

// sampleLength measures a sample: one turn's completion, or for a
// rollout-level sample with a trajectory, all its turns together.
func sampleLength(s Sample, unit string) (int, error) {
	var actions []*retrain.Action
	switch {
	case s.RolloutLevel() && s.Trajectory != nil:
		for i := range s.Trajectory.Turns {
			actions = append(actions, &s.Trajectory.Turns[i].Action)
		}
	case s.Action != nil:
		actions = append(actions, s.Action)
	}
	n := 0
	switch {
	case unit == "chars" && s.RolloutLevel() && s.Trajectory != nil:
		for _, a := range actions {
			n += utf8.RuneCountInString(a.Raw)
		}
	case unit == "chars":
		n = utf8.RuneCountInString(s.Completion)
	case len(actions) == 0:
		return 0, errors.New("length: no action to count tokens of; use unit: chars")
	default:
		for _, a := range actions {
			if a.Tokens.Len() == 0 {
				return 0, errors.New("length: the model reported no tokens; use unit: chars")
			}
			n += a.Tokens.Len()
		}
	}
	return n, nil
}

// regexParams are regex's parameters: 1 when Pattern matches the target.
type regexParams struct {
	Pattern string `json:"pattern"`
	// Target is "completion" (default) or "answer" (the extracted answer).
	Target string `json:"target"`
}

func newRegex(p regexParams) (Func, error) {
	if err := checkTarget(p.Target); err != nil {
		return nil, err
	}
	if p.Pattern == "" {
		return nil, fmt.Errorf("%w: param pattern is required", ErrBadParams)
	}
	re, err := regexp.Compile(p.Pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: pattern: %v", ErrBadParams, err)
	}
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		text, extracted := targetText(s, p.Target)
		sc := Score{Extracted: extracted}
		if re.MatchString(text) {
			sc.Value = 1
		} else {
			sc.Detail = "no match"
		}
		return sc, nil
	}), nil
}

// jsonSchemaParams are json_schema's parameters: 1 when the target holds
// JSON that validates against Schema.
type jsonSchemaParams struct {
	// Schema is the JSON Schema, as an object or a JSON string.
	Schema any `json:"schema"`
	// Target is "answer" (default, the extracted answer) or "completion".
	Target string `json:"target"`
}

// noRemoteLoader refuses to load schemas from files or the network.
type noRemoteLoader struct{}

func (noRemoteLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("json_schema: refusing to load %s: schemas must be self-contained", url)
}

func newJSONSchema(p jsonSchemaParams) (Func, error) {
	if err := checkTarget(p.Target); err != nil {
		return nil, err
	}
	var raw []byte
	switch v := p.Schema.(type) {
	case nil:
		return nil, fmt.Errorf("%w: param schema is required", ErrBadParams)
	case string:
		raw = []byte(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: schema: %v", ErrBadParams, err)
		}
		raw = b
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: schema is not JSON: %v", ErrBadParams, err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noRemoteLoader{})
	if err := c.AddResource("reward-schema.json", doc); err != nil {
		return nil, fmt.Errorf("%w: schema: %v", ErrBadParams, err)
	}
	schema, err := c.Compile("reward-schema.json")
	if err != nil {
		return nil, fmt.Errorf("%w: schema: %v", ErrBadParams, err)
	}
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		text, _ := targetText(s, p.Target)
		js := jsonIn(text)
		sc := Score{Extracted: js}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(js))
		if err != nil {
			sc.Detail = "not JSON"
			return sc, nil
		}
		if err := schema.Validate(v); err != nil {
			// Drop the first line, which names the schema's internal URL.
			msg := err.Error()
			if _, rest, ok := strings.Cut(msg, "\n"); ok {
				msg = strings.TrimSpace(rest)
			}
			sc.Detail = msg
			return sc, nil
		}
		sc.Value = 1
		return sc, nil
	}), nil
}

// jsonIn finds the JSON in text: a ```json fenced block, the whole text, or
// the span from the first '{' or '[' to the last matching '}' or ']'.
func jsonIn(text string) string {
	t := strings.TrimSpace(text)
	if i := strings.Index(t, "```"); i >= 0 {
		body := t[i+3:]
		if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{[") {
			body = body[nl+1:]
		}
		if j := strings.Index(body, "```"); j >= 0 {
			body = body[:j]
		}
		return strings.TrimSpace(body)
	}
	if json.Valid([]byte(t)) {
		return t
	}
	i := strings.IndexAny(t, "{[")
	if i < 0 {
		return t
	}
	closer := map[byte]byte{'{': '}', '[': ']'}[t[i]]
	j := strings.LastIndexByte(t, closer)
	if j <= i {
		return t
	}
	return t[i : j+1]
}
