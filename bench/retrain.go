package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/rollout"

	_ "github.com/retrain-rl/retrain/env/toolenv" // registers "calculator"
)

// RunRetrain runs the workload with retrain's packages, as `retrain rollout`
// does: the registered "calculator" environment (smolagent dialect), the
// openai client asking for log-probabilities and token ids, a rollout.Runner
// retrying failed episodes once, and the JSONL writer.
func RunRetrain(ctx context.Context, w *Workload) (WorkerResult, error) {
	res := WorkerResult{Variant: Retrain}
	if err := w.validate(); err != nil {
		return res, err
	}
	factory, err := env.New("calculator", nil)
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	defer factory.Close()
	client, err := openai.New(&openai.Options{
		BaseURL:        w.URL,
		Model:          Model,
		ReturnTokenIDs: true,
		MaxInFlight:    w.Concurrency,
	})
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	defer client.CloseIdleConnections()
	out, err := rollout.OpenJSONL(w.Out, &rollout.JSONLOptions{Overwrite: true})
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	defer out.Close()
	runner := rollout.NewRunner(factory, client, &rollout.RunnerOptions{
		Concurrency: w.Concurrency,
		Retries:     1,
		Sink:        out,
		Episode:     rollout.Options{EnvName: "calculator", ModelName: Model},
	})
	sum, runErr := runner.Run(ctx, Tasks(w.Episodes))
	closeErr := out.Close()
	res.Episodes, res.Failed, res.Lines = sum.Episodes, sum.Failed, out.Lines()
	res.WallSeconds = sum.Wall.Seconds()
	if err := errors.Join(runErr, closeErr); err != nil {
		return res, fmt.Errorf("bench: retrain run: %w", err)
	}
	return res, nil
}
