package model

import (
	"fmt"
	"strings"
)

// The words an [Endpoint.BaseURL] may hold instead of an http(s) URL.
const (
	// EndpointLocal is the built-in local model, run in-process (the default).
	EndpointLocal = "local"
	// EndpointFake is the in-process scripted fake OpenAI-compatible server.
	EndpointFake = "fake"
)

// Endpoint describes where a model is and how to talk to it: the one
// serialisable description of a model that the CLI, the server, the
// environments that play a model opponent and remote workers share. Package
// model/endpoint opens it (endpoint.Open).
type Endpoint struct {
	// BaseURL is the base URL of an OpenAI-compatible server
	// (http://127.0.0.1:8000/v1), or "local" (the built-in model, the
	// default when empty) or "fake" (the in-process scripted fake server).
	BaseURL string `json:"base_url,omitempty" yaml:"base_url" doc:"base URL of an OpenAI-compatible server (e.g. http://127.0.0.1:8000/v1), \"local\" for the built-in model (default) or \"fake\" for the scripted fake server"`
	// Model is the served model's name; empty means the only one served.
	Model string `json:"model,omitempty" yaml:"model" doc:"the served model's name (default: the only one the server lists)"`
	// Weights is a weights file for the local model instead of the built-in
	// weights; only with BaseURL "local".
	Weights string `json:"weights,omitempty" yaml:"weights" doc:"weights file for the local model instead of the built-in weights"`
	// APIKey is sent as a bearer token to an OpenAI-compatible server.
	APIKey string `json:"api_key,omitempty" yaml:"api_key" doc:"API key sent as a bearer token"`
	// TokenIDs asks the server for prompt and completion token ids (vLLM's
	// return_token_ids); the local model and the fake always report them.
	TokenIDs bool `json:"token_ids,omitempty" yaml:"token_ids" doc:"ask for prompt and completion token ids (vLLM's return_token_ids)"`
	// LogprobsMode says what an OpenAI-compatible server's log-probs are:
	// [LogprobsRaw] (the default, vLLM's default) or [LogprobsProcessed].
	// The local model's are always raw. It is recorded on every turn.
	LogprobsMode string `json:"logprobs_mode,omitempty" yaml:"logprobs_mode" doc:"what the server's log-probs are: raw (of the raw logits; vLLM's default, the default) or processed (after temperature and top-p)"`
	// PolicyVersion names the policy a remote server serves (e.g. a training
	// step), recorded on every turn; the local model's is its name and a hash
	// of its weights. Empty means the served model's name.
	PolicyVersion string `json:"policy_version,omitempty" yaml:"policy_version" doc:"the served policy's version, recorded on every turn (default: the model's name; the local model's name and weights hash)"`
}

// Log-prob modes: what a completion's log-probabilities are.
const (
	// LogprobsRaw: the log-softmax of the raw logits, before temperature
	// and top-p (the local model's, and vLLM's default).
	LogprobsRaw = "raw"
	// LogprobsProcessed: the log-softmax after temperature and top-p.
	LogprobsProcessed = "processed"
)

// Kind returns what the endpoint names: [EndpointLocal], [EndpointFake] or
// "openai" for an OpenAI-compatible URL.
func (e Endpoint) Kind() string {
	switch strings.TrimSpace(e.BaseURL) {
	case "", EndpointLocal:
		return EndpointLocal
	case EndpointFake:
		return EndpointFake
	}
	return "openai"
}

// Validate checks the endpoint without contacting anything.
func (e Endpoint) Validate() error {
	u := strings.TrimSpace(e.BaseURL)
	switch {
	case e.Kind() == "openai" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://"):
		return fmt.Errorf("%q is neither an http(s) URL, %q nor %q", e.BaseURL, EndpointLocal, EndpointFake)
	case e.Weights != "" && e.Kind() != EndpointLocal:
		return fmt.Errorf("%q: weights are for the local model only, not %s", e.Weights, e.BaseURL)
	case e.LogprobsMode != "" && e.LogprobsMode != LogprobsRaw && e.LogprobsMode != LogprobsProcessed:
		return fmt.Errorf("logprobs_mode %q is neither %q nor %q", e.LogprobsMode, LogprobsRaw, LogprobsProcessed)
	case e.LogprobsMode == LogprobsProcessed && e.Kind() == EndpointLocal:
		return fmt.Errorf("logprobs_mode %q: the local model's log-probs are %q", e.LogprobsMode, LogprobsRaw)
	}
	return nil
}
