// Package trainview turns trajectories into the sequences a trainer learns
// from: the token ids of prompt, completions and environment answers
// flattened into one sequence per episode (split where a turn's prompt does
// not extend the one before), a loss mask that is 1 on the tokens the model
// generated, the log-probs they were sampled with, and a per-token
// advantage. It is the training view that `retrain export --view tokens`
// writes (as JSON Lines or Parquet) and that `retrain train` learns from.
//
//	for t, err := range rollout.ReadTrajectoryFile("out.jsonl", nil) {
//		if err != nil { ... }
//		seqs, err := trainview.Sequences(t, nil)
//		if err != nil {
//			log.Printf("skipped %s: %v", t.ID, err) // failed, no token ids, no advantage
//			continue
//		}
//		for _, s := range seqs {
//			// s.InputIDs, s.LossMask, s.OldLogprobs, s.Advantages: one entry per token
//		}
//	}
//
// [WriteParquet] (or a [ParquetWriter], streaming) writes sequences as a
// Parquet file with the same column names as the JSON fields; [ReadParquet]
// reads one back.
//
// A trajectory gives sequences only when its model reported token ids and
// log-probs (the built-in model always does; an OpenAI-compatible server
// with `retrain rollout --token-ids`) and, by default, when its rewards
// carry a group advantage (a reward config with `advantage: grpo`, and
// n > 1). See design.md for the decisions.
package trainview
