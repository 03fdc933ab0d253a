package envtest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
)

// counter is a conforming environment: an episode ends after three steps,
// each rewarded with its number. Its flags break one rule each.
type counter struct {
	n, resets          int
	started, closed    bool
	seed               int64
	randomReward       bool // not deterministic
	acceptBeforeReset  bool // Step before Reset succeeds
	neverEnds          bool // episodes never end
	acceptAfterEnd     bool // Step after the end succeeds
	resetKeepsState    bool // Reset does not restart the count
	mutateOnCancel     bool // a cancelled Step advances the count
	hangOnCancel       bool // a cancelled Step never returns
	closeFailsTwice    bool // the second Close fails
	usableAfterClose   bool // Step after Close succeeds
	ignoreCancel       bool // cancelled calls succeed
	requiresActionDone bool // the last observation still requires action
}

func (c *counter) Setup(context.Context) error { return nil }

func (c *counter) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if c.closed && !c.usableAfterClose {
		return retrain.Observation{}, nil, retrain.ErrClosed
	}
	if err := ctx.Err(); err != nil && !c.ignoreCancel {
		return retrain.Observation{}, nil, err
	}
	c.resets++
	if !c.resetKeepsState {
		c.n = 0
	}
	c.started = true
	if opts.Seed != nil {
		c.seed = *opts.Seed
	}
	return retrain.Observation{Kind: retrain.ObsInitial, Content: opts.Task.Prompt, RequiresAction: true}, retrain.Info{}, nil
}

func (c *counter) Step(ctx context.Context, a retrain.Action) (retrain.Step, error) {
	switch {
	case c.closed && !c.usableAfterClose:
		return retrain.Step{}, retrain.ErrClosed
	case !c.started && !c.acceptBeforeReset:
		return retrain.Step{}, retrain.ErrNotReset
	case c.n >= 3 && !c.neverEnds && !c.acceptAfterEnd:
		return retrain.Step{}, fmt.Errorf("counter: %w", retrain.ErrEpisodeDone)
	}
	if err := ctx.Err(); err != nil && !c.ignoreCancel {
		if c.hangOnCancel {
			time.Sleep(time.Minute)
		}
		if c.mutateOnCancel {
			c.n++
		}
		return retrain.Step{}, fmt.Errorf("counter: %w", err)
	}
	c.n++
	reward := float64(c.n)
	if c.randomReward {
		reward = rand.Float64()
	}
	done := c.n >= 3 && !c.neverEnds
	return retrain.Step{
		Observation: retrain.Observation{
			Kind:           retrain.ObsEnvironmentState,
			Content:        fmt.Sprintf("%s #%d", a.Text, c.n),
			RequiresAction: !done || c.requiresActionDone,
		},
		Reward:     reward,
		Terminated: done,
		Info:       retrain.Info{"seconds": rand.Float64()}, // infos are not compared
	}, nil
}

var closeErr = errors.New("closed twice")

func (c *counter) Close() error {
	if c.closed && c.closeFailsTwice {
		return closeErr
	}
	c.closed = true
	return nil
}

var opts = &envtest.Options{
	Task:        retrain.Task{Prompt: "count"},
	MaxSteps:    10,
	CallTimeout: 200 * time.Millisecond,
	Actions: func(obs retrain.Observation) retrain.Action {
		return retrain.Action{Kind: retrain.ActionText, Text: "tick", Raw: "tick"}
	},
}

func TestSuitePasses(t *testing.T) {
	envtest.Run(t, func() retrain.Environment { return &counter{} }, opts)
}

func TestSuitePassesIgnoringContext(t *testing.T) {
	o := *opts
	o.IgnoresContext = true
	envtest.Run(t, func() retrain.Environment { return &counter{ignoreCancel: true} }, &o)
}

var broken = map[string]func() *counter{
	"random":             func() *counter { return &counter{randomReward: true} },
	"acceptBeforeReset":  func() *counter { return &counter{acceptBeforeReset: true} },
	"neverEnds":          func() *counter { return &counter{neverEnds: true} },
	"acceptAfterEnd":     func() *counter { return &counter{acceptAfterEnd: true} },
	"resetKeepsState":    func() *counter { return &counter{resetKeepsState: true} },
	"mutateOnCancel":     func() *counter { return &counter{mutateOnCancel: true} },
	"hangOnCancel":       func() *counter { return &counter{hangOnCancel: true} },
	"closeFailsTwice":    func() *counter { return &counter{closeFailsTwice: true} },
	"usableAfterClose":   func() *counter { return &counter{usableAfterClose: true} },
	"ignoreCancel":       func() *counter { return &counter{ignoreCancel: true} },
	"requiresActionDone": func() *counter { return &counter{requiresActionDone: true} },
}

// TestBroken runs the suite on one broken environment; it is meant to fail,
// and only runs in the subprocesses of TestSuiteFails.
func TestBroken(t *testing.T) {
	name := os.Getenv("ENVTEST_BROKEN")
	if name == "" {
		t.Skip("run by TestSuiteFails")
	}
	switch name {
	case "newEnvFails":
		envtest.RunFactory(t, env.FactoryFunc(func() (retrain.Environment, error) {
			return nil, errors.New("no environment today")
		}), opts)
	case "transcriptNeverEnds":
		envtest.Transcript(t, &counter{neverEnds: true}, 1, opts.Actions)
	default:
		envtest.Run(t, func() retrain.Environment { return broken[name]() }, opts)
	}
}

// TestSuiteFails checks that the suite catches each broken rule, with the
// failing subtest and message expected.
func TestSuiteFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses")
	}
	tests := []struct {
		broken, subtest, message string
	}{
		{"random", "Deterministic", "differ"},
		{"acceptBeforeReset", "StepBeforeReset", "want one wrapping retrain.ErrNotReset"},
		{"neverEnds", "EpisodeEnds", "did not terminate or truncate within 10 steps"},
		{"acceptAfterEnd", "StepAfterEnd", "want one wrapping retrain.ErrEpisodeDone"},
		{"resetKeepsState", "ResetAfterEnd", "Step 1: counter: retrain: Step called after the episode ended"},
		{"mutateOnCancel", "CanceledContext/Step", "changed the episode"},
		{"hangOnCancel", "CanceledContext/Step", "did not return within 200ms"},
		{"closeFailsTwice", "Close/Idempotent", "Close #2: closed twice"},
		{"usableAfterClose", "Close/Idempotent", "want one wrapping retrain.ErrClosed"},
		{"ignoreCancel", "CanceledContext/Reset", "want one wrapping context.Canceled"},
		{"requiresActionDone", "EpisodeEnds", "ended the episode but its observation has RequiresAction true"},
		{"newEnvFails", "Reset", "NewEnv: no environment today"},
		{"transcriptNeverEnds", "", "the episode did not end within 1000 steps"},
	}
	for _, tt := range tests {
		t.Run(tt.broken, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBroken$", "-test.v")
			cmd.Env = append(os.Environ(), "ENVTEST_BROKEN="+tt.broken)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("suite on a broken environment: err = %v, want a failing exit\n%s", err, out)
			}
			failed := "--- FAIL: TestBroken "
			if tt.subtest != "" {
				failed = "--- FAIL: TestBroken/" + tt.subtest + " "
			}
			if !strings.Contains(string(out), failed) {
				t.Errorf("subtest %s did not fail:\n%s", tt.subtest, out)
			}
			if !strings.Contains(string(out), tt.message) {
				t.Errorf("output lacks %q:\n%s", tt.message, out)
			}
		})
	}
}
