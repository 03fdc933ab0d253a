package env

import (
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
)

// DialectEnv is an optional ability of an Environment: it names the dialect
// in which the model calls its tools. A rollout parses each completion with
// the environment's dialect (dialect.Dialect.Parse) before calling Step;
// environments without this ability get plain text actions
// (retrain.ActionText with the completion as Text and Raw).
type DialectEnv interface {
	retrain.Environment
	// Dialect is the dialect the environment's prompts are written in.
	Dialect() dialect.Dialect
}
