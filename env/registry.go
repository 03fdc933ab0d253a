// Package env holds the registry of environment constructors (the seed's
// get_environment) and the built-in environments' shared plumbing.
//
// A Constructor turns a configuration into a Factory once per run; the
// Factory makes one Environment per concurrent episode and shares expensive
// resources (tool sets, connections) between them.
package env

import (
	"encoding/json"

	"github.com/retrain-rl/retrain"
)

// Factory makes environments for a run. NewEnv must be safe for concurrent
// use. Shared resources are released by Close once the run is over.
type Factory interface {
	// NewEnv makes one environment for one episode at a time.
	NewEnv() (retrain.Environment, error)
	// Close releases what the factory shares between its environments.
	Close() error
}

// Constructor builds a Factory from a JSON configuration object (nil or
// empty means defaults). Unknown configuration keys are an error.
type Constructor func(config json.RawMessage) (Factory, error)
