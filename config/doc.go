// Package config decodes configurations strictly into typed structs, and
// describes them from the types.
//
// A configuration is a struct holding its defaults. Its fields' tags say
// everything about a key: `json:"name"` names it, `doc:"…"` describes it in
// one line, and `access:"client"` marks a key that a network client may set
// (without it, only the operator may). JSON and YAML take the same path (a
// YAML document becomes the values JSON would give), so both are checked
// the same way and their errors read the same: an unknown key lists the
// allowed ones, nested objects included; a wrong type names the key and the
// type expected; trailing data is rejected.
//
//	type Config struct {
//		MaxSteps int             `json:"max_steps" doc:"the step limit" access:"client"`
//		Timeout  config.Duration `json:"timeout" doc:"bounds each call (\"30s\" or seconds)"`
//	}
//	c := Config{MaxSteps: 10, Timeout: config.Duration(30 * time.Second)}
//	if err := config.Decode([]byte(`{"max_step": 3}`), &c); err != nil {
//		// unknown config key "max_step"; allowed keys: max_steps, timeout
//	}
//	keys := config.Keys(c) // names, types, docs, defaults and access, for a listing
//
// The package imports nothing else of retrain, so every layer can use it.
package config
