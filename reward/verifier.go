package reward

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Verifier is a named boolean check on a sample (the seed's @verifier).
// When a verifier attached to a component fails, the component scores its
// penalty instead of its reward. Implementations must be safe for
// concurrent use. An error means the check could not be made.
type Verifier interface {
	Verify(ctx context.Context, s Sample) (bool, error)
}

// VerifierFunc adapts an ordinary function to [Verifier].
type VerifierFunc func(ctx context.Context, s Sample) (bool, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, s Sample) (bool, error) { return f(ctx, s) }

// VerifierBuilder constructs a verifier from its argument: a verifier is
// referred to as "NAME" (arg "") or "NAME:ARG", e.g. "max_length:2000".
type VerifierBuilder func(arg string) (Verifier, error)

// RegisterVerifier adds a verifier builder to the Default registry.
func RegisterVerifier(name string, b VerifierBuilder) error { return Default.RegisterVerifier(name, b) }

// RegisterVerifier adds a verifier builder under name. A name already taken
// is an error.
func (r *Registry) RegisterVerifier(name string, b VerifierBuilder) error {
	return add(r.verifiers, "verifier ", name, b)
}

// NewVerifier builds the verifier that spec ("NAME" or "NAME:ARG") refers
// to. An unknown name yields an error wrapping [ErrUnknownVerifier] listing
// the known names.
func (r *Registry) NewVerifier(spec string) (Verifier, error) {
	name, arg, _ := strings.Cut(strings.TrimSpace(spec), ":")
	b, ok := r.verifiers.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w %q; known verifiers: %s", ErrUnknownVerifier, name, r.verifiers.Known())
	}
	return build("verifier", spec, "verifier", b, arg)
}

// VerifierNames returns the registered verifier names, sorted.
func (r *Registry) VerifierNames() []string { return r.verifiers.Names() }

// safeVerify calls v.Verify, turning a panic into an error.
func safeVerify(ctx context.Context, v Verifier, s Sample) (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("verifier panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return v.Verify(ctx, s)
}

// noArg makes a builder for a verifier that takes no argument.
func noArg(f VerifierFunc) VerifierBuilder {
	return func(arg string) (Verifier, error) {
		if arg != "" {
			return nil, fmt.Errorf("%w: this verifier takes no argument, got %q", ErrBadParams, arg)
		}
		return f, nil
	}
}

// limitArg makes a builder for a verifier bounded by a positive integer
// argument ("max_length:2000").
func limitArg(f func(limit int) VerifierFunc) VerifierBuilder {
	return func(arg string) (Verifier, error) {
		n, err := strconv.Atoi(arg)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%w: needs a positive integer argument, as in NAME:2000; got %q", ErrBadParams, arg)
		}
		return f(n), nil
	}
}

// builtinVerifiers are the verifiers every registry starts with.
func builtinVerifiers() map[string]VerifierBuilder {
	return map[string]VerifierBuilder{
		// has_answer: the completion marks a final answer explicitly (in the
		// text scored, or in the raw output the dialect took it from).
		"has_answer": noArg(func(ctx context.Context, s Sample) (bool, error) {
			return HasExplicitAnswer(s.Completion) || (s.Action != nil && HasExplicitAnswer(s.Action.Raw)), nil
		}),
		// parses: the sample's actions (one turn, or all) parsed.
		"parses": noArg(func(ctx context.Context, s Sample) (bool, error) {
			for _, t := range sampleTurns(s) {
				if t.Action.ParseError != "" {
					return false, nil
				}
			}
			return true, nil
		}),
		// no_tool_errors: every tool call of the sample succeeded.
		"no_tool_errors": noArg(func(ctx context.Context, s Sample) (bool, error) {
			calls, ok := toolCounts(sampleTurns(s))
			return calls == ok, nil
		}),
		// terminated: the episode ended by reaching an end state.
		"terminated": noArg(func(ctx context.Context, s Sample) (bool, error) {
			if s.Trajectory == nil {
				return false, errors.New("terminated: no trajectory to check")
			}
			return s.Trajectory.StopReason == retrain.StopTerminated, nil
		}),
		// max_length:N: at most N characters (all turns for a rollout).
		"max_length": limitArg(func(limit int) VerifierFunc {
			return func(ctx context.Context, s Sample) (bool, error) {
				n, err := sampleLength(s, "chars")
				return n <= limit, err
			}
		}),
		// max_tokens:N: at most N generated tokens (all turns for a rollout).
		"max_tokens": limitArg(func(limit int) VerifierFunc {
			return func(ctx context.Context, s Sample) (bool, error) {
				n, err := sampleLength(s, "tokens")
				return n <= limit, err
			}
		}),
	}
}

// builtinRewards are the reward functions every registry starts with;
// composite builds its parts from reg.
func builtinRewards(reg *Registry) map[string]Builder {
	return map[string]Builder{
		"math_equal":   WithParams(func() mathEqualParams { return mathEqualParams{Tolerance: DefaultTolerance} }, newMathEqual),
		"exact_match":  WithParams(nil, newExactMatch),
		"numeric":      WithParams(func() numericParams { return numericParams{RelTol: DefaultTolerance} }, newNumeric),
		"format":       WithParams(nil, newFormat),
		"tool_success": WithParams(nil, newToolSuccess),
		"tool_used":    WithParams(nil, newToolUsed),
		"length":       WithParams(func() lengthParams { return lengthParams{Unit: "tokens"} }, newLength),
		"regex":        WithParams(func() regexParams { return regexParams{Target: TargetCompletion} }, newRegex),
		"json_schema":  WithParams(func() jsonSchemaParams { return jsonSchemaParams{Target: TargetAnswer} }, newJSONSchema),
		"composite":    compositeBuilder(reg),
	}
}
