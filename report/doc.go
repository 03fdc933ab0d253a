// Package report summarises finished trajectories into an evaluation
// report: the mean and spread of each reward component, pass@k and the
// success rate, mean turns, tool-call and parse error rates, failure causes,
// stop reasons and tokens. It reads trajectories the reward calculator has
// scored (see package reward) and computes nothing but statistics.
//
//	b := report.NewBuilder(&report.Options{Pass: "correct"}) // pass: correct >= 1
//	for _, t := range trajectories {
//		b.Add(t)
//	}
//	r := b.Report()
//	r.WriteTable(os.Stdout)
//	json.NewEncoder(f).Encode(r)
//
// # Definitions
//
// An episode's value of a component is its score for rollout-level
// components (Rewards.Rollout) and its sum over the turns for step-level
// ones (the environment's "env" included): what the component adds to the
// episode's total. "total" is Rewards.Total.
//
// An episode passes when its value of the Pass component is at least the
// threshold. A failed episode (an infrastructure failure: Error set) has no
// rewards and does not pass; it still counts among its task's n samples, so
// failures lower pass@k and the success rate instead of hiding. pass@k is
// the unbiased estimator of Chen et al. (2021), 1 − C(n−c, k)/C(n, k) for a
// task with n episodes of which c pass, averaged over tasks, for k from 1 to
// the smallest n.
//
// Reward statistics count the scored episodes; turns, tool calls and parse
// errors count the episodes that did not fail; stop reasons, failure causes
// and tokens count all of them. When two lines describe the same episode
// (task id and sample), as a resumed run writes after a failure, the later
// one wins unless it failed and the earlier did not.
package report
