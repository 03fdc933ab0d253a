// Package env holds the registry of environment constructors (the seed's
// get_environment) and the plumbing the built-in environments share: config
// decoding, the [DialectEnv] ability, the checks that open every Step
// ([CheckStep]), and the [Factory] that makes one environment per
// concurrent episode.
//
// Built-in environments register themselves when their package is imported
// (env/single as "single_turn", env/toolenv as "tool" and "calculator"):
//
//	import _ "github.com/retrain-rl/retrain/env/toolenv"
//
//	f, err := env.New("calculator", json.RawMessage(`{"max_steps": 5}`))
//	if err != nil { ... }
//	defer f.Close()
//	e, err := f.NewEnv() // one per concurrent episode
//
// A Constructor turns a configuration into a Factory once per run; the
// Factory makes one Environment per concurrent episode and shares expensive
// resources (tool sets, connections) between them.
//
// An environment registers with a typed configuration: a struct whose
// fields' tags name, describe and mark its keys (see package config), and
// whose defaults value gives their defaults. The registry decodes the JSON
// config onto the defaults, and describes the keys from the type:
//
//	type Config struct {
//		MaxSteps int `json:"max_steps" doc:"the step limit" access:"client"`
//	}
//	env.MustRegisterSpec(env.NewSpec("counter", "counts to max_steps",
//		func() Config { return Config{MaxSteps: 10} },
//		func(c Config) (env.Factory, error) { return newFactory(c.MaxSteps), nil }))
package env

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/internal/registry"
	"github.com/retrain-rl/retrain/reward"
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

// FactoryFunc returns a Factory whose NewEnv calls newEnv and whose Close does
// nothing: for environments that share nothing between episodes.
func FactoryFunc(newEnv func() (retrain.Environment, error)) Factory {
	return factoryFunc(newEnv)
}

type factoryFunc func() (retrain.Environment, error)

func (f factoryFunc) NewEnv() (retrain.Environment, error) { return f() }
func (f factoryFunc) Close() error                         { return nil }

// Info describes one registered environment.
type Info struct {
	// Name is the name the environment is registered under.
	Name string `json:"name"`
	// Description says in one line what the environment does.
	Description string `json:"description"`
	// Keys describe the configuration keys, from the type the environment
	// registered with ([NewSpec]); nil for an untyped [Constructor].
	Keys []config.Key `json:"keys,omitempty"`
	// Rewards is the environment's default reward configuration
	// ([Spec.Rewards]); nil when it brings none.
	Rewards *reward.Config `json:"rewards,omitempty"`
}

// Spec is an environment to register with its typed configuration; make
// one with [NewSpec].
type Spec struct {
	// Name is the name to register under.
	Name string
	// Description says in one line what the environment does.
	Description string
	// Rewards is the environment's default reward configuration: how its
	// episodes are scored when the run names no rewards of its own (a
	// rollout.Job without Reward, "retrain rollout" without --rewards). Nil
	// means none: the trajectories then carry only the environment's step
	// rewards. An explicit configuration replaces it whole.
	Rewards *reward.Config

	construct Constructor
	keys      func() []config.Key
	operator  func(raw json.RawMessage) ([]string, error)
}

// NewSpec returns the Spec of an environment configured by a struct of
// type C. defaults returns the configuration holding the defaults (nil
// means C's zero value); [Registry.New] decodes the JSON config onto it
// with [config.Decode] and passes the result to build. The keys, with
// their docs (doc tags), defaults and who may set them (access tags), are
// described from C and defaults (see [config.Keys]).
func NewSpec[C any](name, description string, defaults func() C, build func(C) (Factory, error)) Spec {
	if defaults == nil {
		defaults = func() C { var c C; return c }
	}
	s := Spec{Name: name, Description: description}
	if build == nil {
		return s
	}
	s.construct = func(raw json.RawMessage) (Factory, error) {
		c := defaults()
		if err := config.Decode(raw, &c); err != nil {
			return nil, err
		}
		return build(c)
	}
	s.keys = func() []config.Key { return config.Keys(defaults()) }
	s.operator = func(raw json.RawMessage) ([]string, error) { return config.OperatorKeys(raw, defaults()) }
	return s
}

// ErrUnknown is wrapped by the error [Registry.New] returns for a name that is
// not registered.
var ErrUnknown = errors.New("unknown environment")

// Registry maps environment names to constructors. It is safe for concurrent
// use. The package-level functions use [Default]; tests make private ones
// with [NewRegistry].
type Registry struct {
	entries *registry.Registry[entry]
}

type entry struct {
	description string
	construct   Constructor
	keys        func() []config.Key                         // nil when untyped
	operator    func(raw json.RawMessage) ([]string, error) // nil when untyped
	rewards     *reward.Config                              // nil when none; never handed out, only copies
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{entries: registry.New[entry]()}
}

// Default is the registry the built-in environments register into.
var Default = NewRegistry()

// Register adds a constructor under name. The name must be non-empty and not
// yet registered. An environment with a typed configuration registers with
// [Registry.RegisterSpec] instead, so that its keys are described.
func (r *Registry) Register(name, description string, c Constructor) error {
	return r.add(name, entry{description: description, construct: c})
}

// RegisterSpec adds the environment s describes, made with [NewSpec]. The
// name must be non-empty and not yet registered, and the default rewards,
// when set, must be a valid reward configuration (its reward functions are
// looked up when a run builds its calculator).
func (r *Registry) RegisterSpec(s Spec) error {
	e := entry{description: s.Description, construct: s.construct, keys: s.keys, operator: s.operator}
	if s.Rewards != nil {
		if err := s.Rewards.Validate(); err != nil {
			return fmt.Errorf("env: Register %q: default rewards: %w", s.Name, err)
		}
		e.rewards = copyRewards(s.Rewards)
	}
	return r.add(s.Name, e)
}

// MustRegisterSpec is RegisterSpec that panics on error, for use in init
// functions.
func (r *Registry) MustRegisterSpec(s Spec) {
	if err := r.RegisterSpec(s); err != nil {
		panic(err)
	}
}

func (r *Registry) add(name string, e entry) error {
	if name == "" {
		return errors.New("env: Register: empty environment name")
	}
	if e.construct == nil {
		return fmt.Errorf("env: Register %q: nil constructor", name)
	}
	if !r.entries.Add(name, e) {
		return fmt.Errorf("env: environment %q is already registered", name)
	}
	return nil
}

// MustRegister is Register that panics on error, for use in init functions.
func (r *Registry) MustRegister(name, description string, c Constructor) {
	if err := r.Register(name, description, c); err != nil {
		panic(err)
	}
}

// New builds the Factory of the environment registered as name with config
// (nil or empty means defaults). An unknown name yields an error wrapping
// [ErrUnknown] that lists the known names.
func (r *Registry) New(name string, config json.RawMessage) (Factory, error) {
	e, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	f, err := e.construct(config)
	if err != nil {
		return nil, fmt.Errorf("environment %q: %w", name, err)
	}
	if f == nil {
		return nil, fmt.Errorf("environment %q: constructor returned a nil factory", name)
	}
	return f, nil
}

func (r *Registry) lookup(name string) (entry, error) {
	e, ok := r.entries.Get(name)
	if !ok {
		return entry{}, fmt.Errorf("%w %q; known: %s", ErrUnknown, name, r.entries.Known())
	}
	return e, nil
}

// OperatorKeys lists the keys of the JSON config that only the operator may
// set for the environment registered as name (see [config.OperatorKeys]):
// nil for a config a network client may send. An environment registered
// without a typed configuration has no client keys: every key config sets
// is listed. Enforcing it is the caller's business.
func (r *Registry) OperatorKeys(name string, raw json.RawMessage) ([]string, error) {
	e, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	if e.operator != nil {
		return e.operator(raw)
	}
	var obj map[string]json.RawMessage
	if err := config.Decode(raw, &obj); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// Rewards returns a copy of the default reward configuration of the
// environment registered as name ([Spec.Rewards]): nil when it brings
// none. An unknown name yields an error wrapping [ErrUnknown].
func (r *Registry) Rewards(name string) (*reward.Config, error) {
	e, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	return copyRewards(e.rewards), nil
}

// copyRewards returns a deep copy of cfg (nil for nil): the registry's
// configurations are shared, and callers may change what they get.
func copyRewards(cfg *reward.Config) *reward.Config {
	if cfg == nil {
		return nil
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("env: reward config does not marshal: %v", err)) // plain data: cannot happen
	}
	var c reward.Config
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("env: reward config does not unmarshal: %v", err))
	}
	return &c
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string { return r.entries.Names() }

// Describe returns the registered environments sorted by name.
func (r *Registry) Describe() []Info {
	infos := []Info{}
	// The registry holds no lock while All yields: a defaults function
	// (behind e.keys) is the environment's code.
	for name, e := range r.entries.All() {
		info := Info{Name: name, Description: e.description, Rewards: copyRewards(e.rewards)}
		if e.keys != nil {
			info.Keys = e.keys()
		}
		infos = append(infos, info)
	}
	return infos
}

// Register adds a constructor to [Default]; see [Registry.Register].
func Register(name, description string, c Constructor) error {
	return Default.Register(name, description, c)
}

// MustRegister adds a constructor to [Default] and panics on error.
func MustRegister(name, description string, c Constructor) {
	Default.MustRegister(name, description, c)
}

// RegisterSpec adds an environment to [Default]; see [Registry.RegisterSpec].
func RegisterSpec(s Spec) error { return Default.RegisterSpec(s) }

// MustRegisterSpec adds an environment to [Default] and panics on error.
func MustRegisterSpec(s Spec) { Default.MustRegisterSpec(s) }

// OperatorKeys lists the operator-only keys config sets for an environment
// of [Default]; see [Registry.OperatorKeys].
func OperatorKeys(name string, config json.RawMessage) ([]string, error) {
	return Default.OperatorKeys(name, config)
}

// New builds a Factory from [Default]; see [Registry.New].
func New(name string, config json.RawMessage) (Factory, error) {
	return Default.New(name, config)
}

// Rewards returns the default rewards of an environment of [Default]; see
// [Registry.Rewards].
func Rewards(name string) (*reward.Config, error) { return Default.Rewards(name) }

// Names returns the names registered in [Default], sorted.
func Names() []string { return Default.Names() }

// Describe returns the environments registered in [Default], sorted by name.
func Describe() []Info { return Default.Describe() }
