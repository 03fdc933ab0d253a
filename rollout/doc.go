// Package rollout runs episodes: one ([Run], the seed's Environment.rollout)
// or many ([Runner]: groups of n samples per task, bounded concurrency,
// per-episode timeouts, retries of infrastructure failures), and writes the
// resulting [retrain.Trajectory] values as JSON lines that survive a killed
// run ([JSONLWriter], [Completed] for --resume). It also loads datasets of
// tasks ([LoadTasks]) and makes small arithmetic ones ([ArithmeticTasks]).
//
// One episode:
//
//	e, _ := factory.NewEnv()
//	if err := e.Setup(ctx); err != nil { ... }
//	defer e.Close()
//	t, err := rollout.Run(ctx, e, m, &rollout.Options{Task: task, MaxTurns: 8})
//	// t is non-nil even when err is not: a failed episode is recorded with
//	// t.Error and t.ErrorCause, its finished turns kept.
//
// Many episodes, streamed to a file:
//
//	w, _ := rollout.OpenJSONL("rollouts.jsonl", nil)
//	defer w.Close()
//	sum, err := rollout.NewRunner(factory, m, &rollout.RunnerOptions{
//		N: 4, Concurrency: 64, Sink: w,
//	}).Run(ctx, tasks)
//	fmt.Println(sum)
package rollout
