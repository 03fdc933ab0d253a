// Package rollout runs episodes: one ([Run], the seed's Environment.rollout)
// or many ([Runner]: groups of n samples per task, bounded concurrency,
// per-episode timeouts, retries of infrastructure failures), and writes the
// resulting [retrain.Trajectory] values as JSON lines that survive a killed
// run ([JSONLWriter], [Completed] for --resume), and reads them back
// ([ReadTrajectories], an iterator). It also loads datasets of
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
//
// Reading them back:
//
//	for t, err := range rollout.ReadTrajectoryFile("rollouts.jsonl", nil) {
//		if err != nil {
//			return err // a *LineError names a line that is not a trajectory
//		}
//		fmt.Println(t.ID, t.StopReason)
//	}
package rollout
