package env_test

import (
	"encoding/json"
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
)

// An environment registers its config struct: the registry decodes the
// JSON config onto the defaults, and describes the keys from the type.
func ExampleNewSpec() {
	type Config struct {
		MaxSteps int    `json:"max_steps" doc:"the step limit" access:"client"`
		Server   string `json:"server" doc:"the command that serves the tools"`
	}
	r := env.NewRegistry()
	r.MustRegisterSpec(env.NewSpec("counter", "counts steps",
		func() Config { return Config{MaxSteps: 10} },
		func(c Config) (env.Factory, error) {
			fmt.Println("max_steps:", c.MaxSteps)
			return env.FactoryFunc(func() (retrain.Environment, error) { return stubEnv{}, nil }), nil
		}))

	r.New("counter", json.RawMessage(`{"max_steps": 3}`))
	_, err := r.New("counter", json.RawMessage(`{"max_step": 3}`))
	fmt.Println(err)
	for _, k := range r.Describe()[0].Keys {
		fmt.Printf("%s (%s): %s", k.Name, k.Access, k.Doc)
		if k.Default != nil {
			fmt.Printf("; default %s", k.Default)
		}
		fmt.Println()
	}
	keys, _ := r.OperatorKeys("counter", json.RawMessage(`{"max_steps": 3, "server": "rm -rf /"}`))
	fmt.Println("operator-only:", keys)
	// Output:
	// max_steps: 3
	// environment "counter": unknown config key "max_step"; allowed keys: max_steps, server
	// max_steps (client): the step limit; default 10
	// server (operator): the command that serves the tools
	// operator-only: [server]
}
