// Package grpo trains the built-in local model with GRPO on the calculator
// environment, in pure Go: the loop behind "retrain train".
//
// Each step plays episodes of new generated tasks with the current policy
// through rollout.Runner, scores them and computes group advantages with
// reward.Calculator (see [Rewards]), turns them into token sequences with
// trainview (the same view "retrain export --view tokens" gives external
// trainers) and takes AdamW steps of the PPO-clip loss against the
// rollout's log-probs, with token-level normalisation, an optional k3 KL
// penalty to the starting weights and gradient clipping. The arithmetic
// (forward and backward passes with per-token coefficients) is package
// local/backprop's; rollouts run on the trainer's own float32 weights
// (local.FromWeights), so their log-probs are the trainer's.
//
//	res, err := grpo.Run(ctx, &grpo.Options{Log: os.Stderr}) // the defaults: 40 steps of 16 tasks × 4
//	if err != nil { ... }
//	fmt.Println(res.Before.Accuracy, "→", res.After.Accuracy) // held-out, temperature 1
//	var buf bytes.Buffer
//	err = local.WriteWeights(&buf, res.Weights, &local.EncodeOptions{DType: local.DTypeF32})
//
// docs/training.md records the algorithm, the defaults and a run.
package grpo
