// Package backprop is the local model's training arithmetic: the network
// over whole sequences with its backward pass (Net), the AdamW optimizer
// and the initial weights. It shares its kernels with package local's
// inference and imports nothing above the model layer; package train (the
// trainer: data, loop, evaluation) drives it.
//
//	w, _ := local.NewWeights(cfg)
//	backprop.InitWeights(w, seed)
//	g, _ := local.NewWeights(cfg) // the gradients, zeroed before each step
//	opt := backprop.NewAdamW(w, 0.01)
//	n := backprop.NewNet(w)
//	a, s := n.NewActivations(maxT), n.NewScratch(maxT)
//	for _, seq := range batch {
//		n.Forward(a, seq.IDs)
//		n.LossAndBackward(a, seq.Learn, 1/float32(tokens), g, s)
//	}
//	opt.Step(g, lr, 1.0)
package backprop
