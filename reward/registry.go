package reward

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/internal/registry"
)

// Sample is what a reward function scores.
type Sample struct {
	// Task is the task: prompt, reference answer (Task.Answer), metadata.
	Task retrain.Task
	// Completion is the text being scored: a turn's raw output for
	// step-level scoring, the final answer text for rollout-level scoring.
	Completion string
	// Action is the parsed action, if any.
	Action *retrain.Action
	// Step is the turn index, or -1 for rollout-level scoring.
	Step int
	// Info is the step's info (the last turn's for rollout-level scoring).
	Info retrain.Info
	// Trajectory is the whole trajectory; nil when scoring a plain
	// {gold, pred} pair.
	Trajectory *retrain.Trajectory
	// Dialect is the environment's dialect name when known.
	Dialect string
}

// RolloutLevel reports whether s scores a whole rollout rather than one turn.
func (s Sample) RolloutLevel() bool { return s.Step < 0 }

// Score is a reward function's result.
type Score struct {
	// Value is the reward.
	Value float64 `json:"score"`
	// Extracted is the answer the function extracted, for display.
	Extracted string `json:"extracted,omitempty"`
	// Detail says briefly why the value is what it is.
	Detail string `json:"detail,omitempty"`
	// Parts, when set, are the named pieces the score is made of (a
	// rubric's criteria): Value is the sum of Weight × Value over the parts
	// that did not fail, and the [Calculator] lists each part as its own
	// component, "COMPONENT.PART".
	Parts []Part `json:"parts,omitempty"`
}

// Part is one named, weighted piece of a [Score], such as a rubric's
// criterion.
type Part struct {
	// Name names the part (a criterion's name).
	Name string `json:"name"`
	// Weight is the part's share of the score; the parts' weights sum to 1.
	Weight float64 `json:"weight"`
	// Value is the part's own score.
	Value float64 `json:"value"`
	// Error, when set, says why the part could not be scored (a judge's
	// verdict that could not be read, with the judge's reply); the
	// Calculator then lists it in Rewards.Errors and scores the part its
	// error score.
	Error string `json:"error,omitempty"`
}

// Func is a reward function. Implementations must be safe for concurrent
// use. An error means the function could not score the sample (a bad
// configuration, a missing dialect); a wrong answer is a low score, not an
// error.
type Func interface {
	Score(ctx context.Context, s Sample) (Score, error)
}

// ScoreFunc adapts an ordinary function to [Func].
type ScoreFunc func(ctx context.Context, s Sample) (Score, error)

// Score calls f.
func (f ScoreFunc) Score(ctx context.Context, s Sample) (Score, error) { return f(ctx, s) }

// Builder constructs a reward function from its parameters (decoded from
// YAML or JSON; nil means defaults). Unknown parameters must be an error:
// [DecodeParams] does that.
type Builder func(params map[string]any) (Func, error)

// Static returns a Builder for a function that takes no parameters.
func Static(f Func) Builder {
	return func(params map[string]any) (Func, error) {
		if len(params) > 0 {
			return nil, fmt.Errorf("%w: this reward takes no params, got %s", ErrBadParams, strings.Join(sortedKeys(params), ", "))
		}
		return f, nil
	}
}

// WithParams returns a Builder for a reward configured by a struct of type
// P, whose json tags name the parameters: it decodes the params onto
// defaults() (nil means P's zero value) with [DecodeParams] and passes the
// result to build.
//
//	type lengthParams struct {
//		Max int `json:"max"`
//	}
//	err := reward.Register("short", reward.WithParams(
//		func() lengthParams { return lengthParams{Max: 100} },
//		func(p lengthParams) (reward.Func, error) { ... }))
func WithParams[P any](defaults func() P, build func(P) (Func, error)) Builder {
	return func(params map[string]any) (Func, error) {
		var p P
		if defaults != nil {
			p = defaults()
		}
		if err := DecodeParams(params, &p); err != nil {
			return nil, err
		}
		return build(p)
	}
}

// Errors returned (wrapped) by registries and builders.
var (
	// ErrUnknownReward means no reward function is registered under a name.
	ErrUnknownReward = errors.New("reward: unknown reward")
	// ErrUnknownVerifier means no verifier is registered under a name.
	ErrUnknownVerifier = errors.New("reward: unknown verifier")
	// ErrBadParams means a reward's or verifier's parameters are wrong.
	ErrBadParams = errors.New("reward: bad params")
)

// Registry maps names to reward function builders and verifier builders. It
// is safe for concurrent use.
type Registry struct {
	rewards   *registry.Registry[Builder]
	verifiers *registry.Registry[VerifierBuilder]
	operator  *registry.Registry[operatorParams] // rewards registered with RegisterParams
}

// NewRegistry returns a registry holding the built-in reward functions and
// verifiers, independent of [Default]: use it for tests and private sets.
func NewRegistry() *Registry {
	r := &Registry{rewards: registry.New[Builder](), verifiers: registry.New[VerifierBuilder](), operator: registry.New[operatorParams]()}
	for name, b := range builtinRewards(r) {
		r.rewards.Add(name, b)
	}
	for name, b := range builtinVerifiers() {
		r.verifiers.Add(name, b)
	}
	return r
}

// Default is the process-wide registry used by [Register], [New] and a
// Calculator built with a nil registry.
var Default = NewRegistry()

// Register adds a reward function builder to the Default registry.
func Register(name string, b Builder) error { return Default.Register(name, b) }

// New builds a reward function from the Default registry.
func New(name string, params map[string]any) (Func, error) { return Default.New(name, params) }

// Register adds a reward function builder under name. A name already taken
// is an error.
func (r *Registry) Register(name string, b Builder) error { return add(r.rewards, "", name, b) }

// add registers the builder b under name in to; what is "" for a reward
// and "verifier " for a verifier, for the errors.
func add[A, V any, B ~func(A) (V, error)](to *registry.Registry[B], what, name string, b B) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("reward: register %s%q: %w", what, name, err)
	}
	if b == nil {
		return fmt.Errorf("reward: register %s%q: nil builder", what, name)
	}
	if !to.Add(name, b) {
		return fmt.Errorf("reward: register %s%q: name already registered; pick another name", what, name)
	}
	return nil
}

// New builds the reward function registered under name with params. An
// unknown name yields an error wrapping [ErrUnknownReward] listing the
// known names; a builder that panics yields an error.
func (r *Registry) New(name string, params map[string]any) (Func, error) {
	b, ok := r.rewards.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w %q; known rewards: %s", ErrUnknownReward, name, r.rewards.Known())
	}
	return build("reward", name, "function", b, params)
}

// build calls the builder b with arg for what (a "reward" or "verifier")
// named name. An error, a panic and a nil result (no noun) become errors
// that name it.
func build[A, V any](what, name, noun string, b func(A) (V, error), arg A) (v V, err error) {
	var none V
	defer func() {
		if p := recover(); p != nil {
			v, err = none, fmt.Errorf("%s %q: builder panicked: %v\n%s", what, name, p, debug.Stack())
		}
	}()
	v, err = b(arg)
	if err != nil {
		return none, fmt.Errorf("%s %q: %w", what, name, err)
	}
	if any(v) == nil {
		return none, fmt.Errorf("%s %q: builder returned no %s", what, name, noun)
	}
	return v, nil
}

// Names returns the registered reward names, sorted.
func (r *Registry) Names() []string { return r.rewards.Names() }

func checkName(name string) error {
	if name == "" || strings.TrimSpace(name) != name || strings.ContainsAny(name, ":, \t\n") {
		return errors.New("a name must be non-empty, without spaces, commas or colons")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DecodeParams decodes params into dst, a pointer to a struct whose json
// tags name the parameters and whose values are the defaults, with
// [config.DecodeValue]. A key that matches no field is an error wrapping
// [ErrBadParams] that lists the known ones; so is a value of the wrong type.
func DecodeParams(params map[string]any, dst any) error {
	if len(params) == 0 {
		return nil
	}
	err := config.DecodeValue(params, dst)
	var ce *config.Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &ce):
		return fmt.Errorf("%w: %v", ErrBadParams, err)
	case errors.Is(err, config.ErrUnknownKey):
		known := slices.Sorted(slices.Values(ce.Allowed))
		return fmt.Errorf("%w: unknown param %q; known params: %s", ErrBadParams, ce.Key, strings.Join(known, ", "))
	case ce.Key != "":
		return fmt.Errorf("%w: param %q: %v", ErrBadParams, ce.Key, ce.Err)
	}
	return fmt.Errorf("%w: %v", ErrBadParams, ce.Err)
}

// safeScore calls f.Score, turning a panic into an error.
func safeScore(ctx context.Context, f Func, s Sample) (sc Score, err error) {
	defer func() {
		if p := recover(); p != nil {
			sc, err = Score{}, fmt.Errorf("reward function panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return f.Score(ctx, s)
}
