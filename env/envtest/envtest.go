// Package envtest is a conformance suite that any [retrain.Environment] can
// run in its tests, in the spirit of testing/slogtest.
//
//	func TestConformance(t *testing.T) {
//		envtest.Run(t, func() retrain.Environment { return mypkg.New(nil) }, &envtest.Options{
//			Task: retrain.Task{Prompt: "2+2?", Answer: "4"},
//			Actions: func(obs retrain.Observation) retrain.Action {
//				return retrain.Action{Kind: retrain.ActionText, Text: "4", Raw: "4"}
//			},
//		})
//	}
//
// What is required of an environment (each is a subtest):
//
//   - Reset: after Setup, Reset returns an observation of kind initial that
//     requires an action; observation and info encode as JSON.
//   - StepBeforeReset: Step before any Reset returns an error wrapping
//     [retrain.ErrNotReset].
//   - EpisodeEnds: driven by Options.Actions, the episode terminates or
//     truncates within Options.MaxSteps steps; every step before the last
//     requires an action and the last does not; infos encode as JSON.
//   - StepAfterEnd: Step after the end returns an error wrapping
//     [retrain.ErrEpisodeDone].
//   - Deterministic: two environments reset with the same seed and driven by
//     the same actions give equal observations, rewards and end flags
//     (infos are not compared: they may hold timings).
//   - ResetAfterEnd and ResetMidEpisode: Reset starts a fresh episode equal
//     to the first, whether the previous one ended or not.
//   - CanceledContext: Reset and Step with a cancelled context return within
//     Options.CallTimeout with an error wrapping [context.Canceled], and a Step
//     that failed so leaves the episode as it was: stepping again with a live
//     context gives the same episode as if the failed call never happened.
//     Environments that never wait (pure computation) may set
//     Options.IgnoresContext; then the calls need only return in time.
//   - Close: Close is idempotent (also without Setup), and Reset or Step after
//     Close return an error wrapping [retrain.ErrClosed].
//
// [RunFactory] runs the suite on a factory's environments. Two helpers serve
// an environment's other tests: [Registered] makes a registered environment
// that is closed when the test ends, and [Transcript] records a seeded
// episode, to compare with another.
package envtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
)

// Options configure the suite. Nil means defaults.
type Options struct {
	// Task is the task every episode runs on.
	Task retrain.Task
	// Seed is the seed every Reset uses (default 1).
	Seed int64
	// Actions chooses the action for an observation. It must be
	// deterministic and drive an episode to its end within MaxSteps steps.
	// Nil means a text action "done".
	Actions func(obs retrain.Observation) retrain.Action
	// MaxSteps bounds the episode length (default 50).
	MaxSteps int
	// CallTimeout bounds a call made with a cancelled context (default 10s).
	CallTimeout time.Duration
	// IgnoresContext relaxes the CanceledContext check to "returns in time"
	// for environments that never wait.
	IgnoresContext bool
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Seed == 0 {
		out.Seed = 1
	}
	if out.Actions == nil {
		out.Actions = func(retrain.Observation) retrain.Action {
			return retrain.Action{Kind: retrain.ActionText, Text: "done", Raw: "done"}
		}
	}
	if out.MaxSteps <= 0 {
		out.MaxSteps = 50
	}
	if out.CallTimeout <= 0 {
		out.CallTimeout = 10 * time.Second
	}
	return out
}

// Run runs the conformance suite on environments made by newEnv; each
// subtest makes its own environment(s) and closes them.
func Run(t *testing.T, newEnv func() retrain.Environment, opts *Options) {
	t.Helper()
	run(t, func() (retrain.Environment, error) { return newEnv(), nil }, opts)
}

// RunFactory runs the conformance suite on environments made by f; a
// NewEnv error fails the subtest that asked for the environment.
func RunFactory(t *testing.T, f env.Factory, opts *Options) {
	t.Helper()
	run(t, f.NewEnv, opts)
}

func run(t *testing.T, newEnv func() (retrain.Environment, error), opts *Options) {
	t.Helper()
	s := &suite{newEnv: newEnv, o: opts.withDefaults()}
	t.Run("Reset", s.testReset)
	t.Run("StepBeforeReset", s.testStepBeforeReset)
	t.Run("EpisodeEnds", s.testEpisodeEnds)
	t.Run("StepAfterEnd", s.testStepAfterEnd)
	t.Run("Deterministic", s.testDeterministic)
	t.Run("ResetAfterEnd", s.testResetAfterEnd)
	t.Run("ResetMidEpisode", s.testResetMidEpisode)
	t.Run("CanceledContext", func(t *testing.T) {
		t.Run("Reset", s.testCanceledReset)
		t.Run("Step", s.testCanceledStep)
	})
	t.Run("Close", s.testClose)
}

type suite struct {
	newEnv func() (retrain.Environment, error)
	o      Options
}

// episode is what must be reproducible about an episode.
type episode struct {
	Initial retrain.Observation
	Steps   []stepRecord
}

type stepRecord struct {
	Observation retrain.Observation
	Reward      float64
	Terminated  bool
	Truncated   bool
}

// make makes an environment, or fails t.
func (s *suite) make(t *testing.T) retrain.Environment {
	t.Helper()
	e, err := s.newEnv()
	if err != nil {
		t.Fatalf("NewEnv: %v", err)
	}
	if e == nil {
		t.Fatal("newEnv returned nil")
	}
	return e
}

// ready makes an environment, sets it up and closes it at the end of t.
func (s *suite) ready(t *testing.T) retrain.Environment {
	t.Helper()
	e := s.make(t)
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := e.Setup(t.Context()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return e
}

func (s *suite) resetOpts() retrain.ResetOptions {
	return retrain.ResetOptions{Seed: retrain.Seed(s.o.Seed), Task: s.o.Task}
}

func (s *suite) reset(t *testing.T, e retrain.Environment) retrain.Observation {
	t.Helper()
	obs, info, err := e.Reset(t.Context(), s.resetOpts())
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	checkJSON(t, "Reset observation", obs)
	checkJSON(t, "Reset info", info)
	return obs
}

// play resets e and drives an episode to its end, checking each step.
func (s *suite) play(t *testing.T, e retrain.Environment) episode {
	t.Helper()
	ep := episode{Initial: s.reset(t, e)}
	return s.finish(t, e, ep)
}

// finish drives the episode ep has begun to its end.
func (s *suite) finish(t *testing.T, e retrain.Environment, ep episode) episode {
	t.Helper()
	obs := ep.Initial
	if n := len(ep.Steps); n > 0 {
		obs = ep.Steps[n-1].Observation
	}
	for len(ep.Steps) < s.o.MaxSteps {
		step, err := e.Step(t.Context(), s.o.Actions(obs))
		if err != nil {
			t.Fatalf("Step %d: %v", len(ep.Steps)+1, err)
		}
		checkJSON(t, fmt.Sprintf("Step %d observation", len(ep.Steps)+1), step.Observation)
		checkJSON(t, fmt.Sprintf("Step %d info", len(ep.Steps)+1), step.Info)
		ep.Steps = append(ep.Steps, stepRecord{
			Observation: step.Observation,
			Reward:      step.Reward,
			Terminated:  step.Terminated,
			Truncated:   step.Truncated,
		})
		obs = step.Observation
		if step.Done() {
			if obs.RequiresAction {
				t.Errorf("Step %d ended the episode but its observation has RequiresAction true", len(ep.Steps))
			}
			return ep
		}
		if !obs.RequiresAction {
			t.Errorf("Step %d did not end the episode but its observation has RequiresAction false", len(ep.Steps))
		}
	}
	t.Fatalf("episode did not terminate or truncate within %d steps; check Options.Actions", s.o.MaxSteps)
	return ep
}

func (s *suite) testReset(t *testing.T) {
	e := s.ready(t)
	obs := s.reset(t, e)
	if !obs.RequiresAction {
		t.Error("initial observation has RequiresAction false; the model must act first")
	}
	if obs.Kind != retrain.ObsInitial {
		t.Errorf("initial observation Kind = %q, want %q", obs.Kind, retrain.ObsInitial)
	}
}

func (s *suite) testStepBeforeReset(t *testing.T) {
	e := s.ready(t)
	_, err := e.Step(t.Context(), s.o.Actions(retrain.Observation{Kind: retrain.ObsInitial, RequiresAction: true}))
	if !errors.Is(err, retrain.ErrNotReset) {
		t.Errorf("Step before Reset: err = %v, want one wrapping retrain.ErrNotReset", err)
	}
}

func (s *suite) testEpisodeEnds(t *testing.T) {
	e := s.ready(t)
	ep := s.play(t, e)
	last := ep.Steps[len(ep.Steps)-1]
	if !last.Terminated && !last.Truncated {
		t.Error("last step is neither terminated nor truncated")
	}
}

func (s *suite) testStepAfterEnd(t *testing.T) {
	e := s.ready(t)
	ep := s.play(t, e)
	obs := ep.Steps[len(ep.Steps)-1].Observation
	for i := range 2 {
		if _, err := e.Step(t.Context(), s.o.Actions(obs)); !errors.Is(err, retrain.ErrEpisodeDone) {
			t.Errorf("Step #%d after the end: err = %v, want one wrapping retrain.ErrEpisodeDone", i+1, err)
		}
	}
}

func (s *suite) testDeterministic(t *testing.T) {
	a := s.play(t, s.ready(t))
	b := s.play(t, s.ready(t))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two environments reset with seed %d differ (-first +second):\n%s", s.o.Seed, diff)
	}
}

func (s *suite) testResetAfterEnd(t *testing.T) {
	e := s.ready(t)
	first := s.play(t, e)
	second := s.play(t, e)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("episode after Reset differs from the first (-first +second):\n%s", diff)
	}
}

func (s *suite) testResetMidEpisode(t *testing.T) {
	e := s.ready(t)
	ref := s.play(t, e)
	if len(ref.Steps) < 2 {
		t.Skip("episodes end after one step; Reset after the end is tested by ResetAfterEnd")
	}
	obs := s.reset(t, e)
	if _, err := e.Step(t.Context(), s.o.Actions(obs)); err != nil {
		t.Fatalf("Step: %v", err)
	}
	again := s.play(t, e)
	if diff := cmp.Diff(ref, again); diff != "" {
		t.Errorf("episode after a Reset mid-episode differs from a fresh one (-fresh +after):\n%s", diff)
	}
}

// within runs f and fails t if it does not return within the call timeout.
func (s *suite) within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(s.o.CallTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s with a cancelled context did not return within %v", what, s.o.CallTimeout)
	}
}

func canceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

func (s *suite) testCanceledReset(t *testing.T) {
	e := s.ready(t)
	var err error
	s.within(t, "Reset", func() { _, _, err = e.Reset(canceled(t), s.resetOpts()) })
	if !s.o.IgnoresContext && !errors.Is(err, context.Canceled) {
		t.Errorf("Reset with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	ref := s.play(t, s.ready(t))
	if got := s.play(t, e); !cmp.Equal(ref, got) {
		t.Errorf("episode after a cancelled Reset differs from a fresh one:\n%s", cmp.Diff(ref, got))
	}
}

func (s *suite) testCanceledStep(t *testing.T) {
	ref := s.play(t, s.ready(t))
	e := s.ready(t)
	obs := s.reset(t, e)
	var err error
	s.within(t, "Step", func() { _, err = e.Step(canceled(t), s.o.Actions(obs)) })
	if err == nil {
		if !s.o.IgnoresContext {
			t.Error("Step with a cancelled context succeeded; want an error wrapping context.Canceled")
		}
		return
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Step with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	got := s.finish(t, e, episode{Initial: obs})
	if diff := cmp.Diff(ref, got); diff != "" {
		t.Errorf("a Step that failed on a cancelled context changed the episode (-fresh +after):\n%s", diff)
	}
}

func (s *suite) testClose(t *testing.T) {
	t.Run("WithoutSetup", func(t *testing.T) {
		e := s.make(t)
		for i := range 2 {
			if err := e.Close(); err != nil {
				t.Errorf("Close #%d: %v", i+1, err)
			}
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		e := s.ready(t) // its cleanup closes it a third time
		obs := s.reset(t, e)
		for i := range 2 {
			if err := e.Close(); err != nil {
				t.Errorf("Close #%d: %v", i+1, err)
			}
		}
		if _, err := e.Step(t.Context(), s.o.Actions(obs)); !errors.Is(err, retrain.ErrClosed) {
			t.Errorf("Step after Close: err = %v, want one wrapping retrain.ErrClosed", err)
		}
		if _, _, err := e.Reset(t.Context(), s.resetOpts()); !errors.Is(err, retrain.ErrClosed) {
			t.Errorf("Reset after Close: err = %v, want one wrapping retrain.ErrClosed", err)
		}
	})
}

func checkJSON(t *testing.T, what string, v any) {
	t.Helper()
	if _, err := json.Marshal(v); err != nil {
		t.Errorf("%s does not encode as JSON: %v", what, err)
	}
}
