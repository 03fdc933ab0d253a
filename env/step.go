package env

import (
	"context"
	"fmt"

	"github.com/retrain-rl/retrain"
)

// CheckStep makes the checks that come first in an environment's Step, in
// this order: the environment is not closed, an episode was reset, the
// episode has not ended, and ctx is not done. It returns nil when the step
// may go on, else an error that starts with pkg (the environment's package
// name, like "games") and wraps [retrain.ErrClosed],
// [retrain.ErrNotReset], [retrain.ErrEpisodeDone] or ctx's error.
//
//	if err := env.CheckStep(ctx, "mine", e.closed, e.reset, e.done); err != nil {
//		return retrain.Step{}, err
//	}
func CheckStep(ctx context.Context, pkg string, closed, reset, done bool) error {
	switch {
	case closed:
		return fmt.Errorf("%s: Step: %w", pkg, retrain.ErrClosed)
	case !reset:
		return fmt.Errorf("%s: %w", pkg, retrain.ErrNotReset)
	case done:
		return fmt.Errorf("%s: %w", pkg, retrain.ErrEpisodeDone)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: Step: %w", pkg, err)
	}
	return nil
}
