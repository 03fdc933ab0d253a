// Package train trains the built-in local model (package local) from
// scratch, in pure Go on one core, on episodes of the calculator
// environment played by a scripted solver (see Generator), and evaluates
// models on held-out tasks. The runtime package does not import it.
//
//	res, err := train.Train(ctx, &train.Options{Log: os.Stderr})
//	if err != nil { ... }
//	var buf bytes.Buffer
//	err = local.EncodeWeights(&buf, res.Weights, nil)
//
// The command trainlocal (./cmd/trainlocal) wraps it; model/local/TRAINING.md
// records how the shipped weights were made.
package train
