package envtest

import (
	"encoding/json"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
)

// Registered makes the factory of the environment registered as name, from
// config, and one environment from it; an error fails t. Both are closed
// when t ends, the environment first. The environment is not set up.
func Registered(t *testing.T, name string, config json.RawMessage) (env.Factory, retrain.Environment) {
	t.Helper()
	f, err := env.New(name, config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	e, err := f.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return f, e
}
