package reward

import (
	"context"
	"fmt"
	"runtime/debug"
)

// GroupFunc is a reward function that can also score the samples of one
// group (the n samples of one task) together, relative to each other: a
// judge that sees them all in one call (RULER-style). It is an optional
// ability of a [Func], checked with a type assertion: a rollout component
// whose function is a GroupFunc is scored by [Calculator.ScoreGroup] in one
// call for the group, and by its Score method when a trajectory is scored
// alone ([Calculator.Score], `retrain score`).
type GroupFunc interface {
	Func
	// ScoreGroup scores samples, all of one task and at least two, in
	// sample order. It returns one Score and one error per sample, in the
	// same order; errs[i] non-nil means sample i could not be scored (as an
	// error of Score would). It is called from many goroutines at once.
	ScoreGroup(ctx context.Context, samples []Sample) (scores []Score, errs []error)
}

// safeScoreGroup calls f.ScoreGroup, turning a panic or a result of the
// wrong length into an error for every sample.
func safeScoreGroup(ctx context.Context, f GroupFunc, samples []Sample) (scores []Score, errs []error) {
	fail := func(err error) ([]Score, []error) {
		scores, errs = make([]Score, len(samples)), make([]error, len(samples))
		for i := range errs {
			errs[i] = err
		}
		return scores, errs
	}
	defer func() {
		if p := recover(); p != nil {
			scores, errs = fail(fmt.Errorf("reward function panicked: %v\n%s", p, debug.Stack()))
		}
	}()
	scores, errs = f.ScoreGroup(ctx, samples)
	if len(scores) != len(samples) || len(errs) != len(samples) {
		return fail(fmt.Errorf("reward function scored %d samples (%d errors) of a group of %d", len(scores), len(errs), len(samples)))
	}
	return scores, errs
}
