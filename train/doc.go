// Package train is the trainer: it makes training data from rollouts of
// the environments and trains models on it. Today it trains the built-in
// local model (package local) from scratch, in pure Go on one core, on
// episodes of the calculator environment played by a scripted solver (see
// Generator), and evaluates models on held-out tasks; the arithmetic
// (forward and backward passes, AdamW) is package local/backprop's. It sits
// above rollout and reward; nothing in the runtime imports it.
//
//	res, err := train.Train(ctx, &train.Options{Log: os.Stderr})
//	if err != nil { ... }
//	var buf bytes.Buffer
//	err = local.EncodeWeights(&buf, res.Weights, nil)
//
// The command trainlocal (cmd/trainlocal) wraps it; model/local/TRAINING.md
// records how the shipped weights were made.
package train
