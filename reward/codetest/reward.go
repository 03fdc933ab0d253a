// Package codetest scores code by running it against a problem's tests in
// a sandbox (package sandbox): HumanEval's check(candidate) functions and
// APPS / CodeContests stdin/stdout pairs, picked by the task's field names.
// It registers the "code_tests" reward with package reward.
//
//	sb, err := sandbox.New(nil)
//	pool := sandbox.NewPool(sb, nil)
//	defer pool.Close()
//	checker := codetest.NewChecker(pool, nil)
//	p, err := codetest.FromFields(row) // a HumanEval row: prompt, entry_point, test
//	out, err := checker.Check(ctx, p, completion)
//	// out.Passed, out.Fraction(), out.Result ("passed", "failed: …", "timed out")
//
// As a reward, "code_tests" scores a sample's code (the last fenced code
// block of the completion, or all of it) against the tests in its task's
// metadata: 1 when every test passes, else 0 (params {"score":
// "fraction"} scores the share passed instead). A timeout or a limit is a
// failed test with its reason in the score's detail, not an error.
package codetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/sandbox"
)

// RewardName is the name the reward is registered under.
const RewardName = "code_tests"

// Params are the reward's parameters.
type Params struct {
	// Score is what the value is: "all_pass" (1 when every test passes,
	// else 0; the default) or "fraction" (the share of tests passed).
	Score string `json:"score"`
	// Timeout bounds each run of the tests ("10s" or seconds).
	Timeout config.Duration `json:"timeout"`
	// MaxTests is how many stdin/stdout pairs run at most.
	MaxTests int `json:"max_tests"`
}

// DefaultParams returns the defaults of [Params].
func DefaultParams() Params {
	return Params{Score: "all_pass", Timeout: config.Duration(DefaultTimeout), MaxTests: DefaultMaxTests}
}

// NewReward returns the code_tests reward running code with r (nil means a
// sandbox with the default options, made on first use).
func NewReward(r Runner, p Params) (reward.Func, error) {
	switch p.Score {
	case "", "all_pass", "fraction":
	default:
		return nil, fmt.Errorf("%w: param \"score\" is %q; use \"all_pass\" or \"fraction\"", reward.ErrBadParams, p.Score)
	}
	if p.Timeout < 0 || p.MaxTests < 0 {
		return nil, fmt.Errorf("%w: \"timeout\" and \"max_tests\" must not be negative", reward.ErrBadParams)
	}
	if r == nil {
		r = &lazySandbox{}
	}
	c := NewChecker(r, &CheckerOptions{Timeout: time.Duration(p.Timeout), MaxTests: p.MaxTests})
	fraction := p.Score == "fraction"
	return reward.ScoreFunc(func(ctx context.Context, s reward.Sample) (reward.Score, error) {
		prob, err := FromTask(s.Task)
		if err != nil {
			return reward.Score{}, err
		}
		code := Extract(s.Completion)
		if prob.Layout() == LayoutFunction && code != s.Completion {
			// A fenced answer is a whole program, not a continuation.
			code = "\n" + code
		}
		out, err := c.Check(ctx, prob, code)
		if err != nil {
			return reward.Score{}, err
		}
		sc := reward.Score{Extracted: code, Detail: fmt.Sprintf("%d/%d tests passed; %s", out.TestsPassed, out.Tests, out.Result)}
		switch {
		case fraction:
			sc.Value = out.Fraction()
		case out.Passed:
			sc.Value = 1
		}
		return sc, nil
	}), nil
}

// lazySandbox is a sandbox made on first use, so that registering the
// reward starts nothing.
type lazySandbox struct {
	once sync.Once
	sb   *sandbox.Sandbox
	err  error
}

func (l *lazySandbox) Run(ctx context.Context, req sandbox.Request) (sandbox.Result, error) {
	l.once.Do(func() { l.sb, l.err = sandbox.New(nil) })
	if l.err != nil {
		return sandbox.Result{}, l.err
	}
	return l.sb.Run(ctx, req)
}

func init() {
	if err := reward.Register(RewardName, reward.WithParams(DefaultParams, func(p Params) (reward.Func, error) {
		return NewReward(nil, p)
	})); err != nil {
		panic(err)
	}
}
