// Package local is the built-in local model: a small decoder-only
// transformer written and run in pure Go, shipped inside the project with
// its weights, and trained here (see TRAINING.md, package train, and the
// arithmetic in package backprop) to play the calculator environment in the
// smolagent dialect. It is to vLLM what
// SQLite is to a database server: small, embedded, and honest about being
// small. It makes "retrain rollout" do real work with no server at hand; for
// real training, point the project at an OpenAI-compatible server.
//
//	m, err := local.Default() // the built-in weights, loaded once
//	if err != nil { ... }
//	c, err := m.Generate(ctx, model.Request{
//		Messages: []retrain.Message{{Role: "user", Content: "What is 37 * 12 + 5?"}},
//		Sampling: model.Sampling{Temperature: new(1.0), Seed: new(int64(7))},
//	})
//	fmt.Println(c.Text, c.Tokens.IDs, c.Tokens.Logprobs)
//
// What it is:
//
//   - The vocabulary is bytes (ids 0-255) plus special tokens for the chat
//     template (TokenEnd, TokenUser, …). The template (see [Render]) leaves
//     out system messages: the model knows one environment and its prompt.
//   - The network (see [Config], [Weights]): token embeddings plus learned
//     embeddings of the position within the current message, pre-norm blocks
//     of causal self-attention with rotary position embeddings and a ReLU
//     MLP, RMS norms, an untied output layer. Weights are stored in half
//     precision and computed in float32.
//   - Generation keeps a KV cache per sequence (pooled; a Model is safe for
//     concurrent use) and samples with temperature, top-p, stop strings,
//     max tokens and a seed. Every token's id and log-probability is
//     reported as an OpenAI-compatible server with vLLM's extensions reports
//     them (see [Model.Generate]); package serve serves it over HTTP.
package local
