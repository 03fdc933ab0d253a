package dialect

import (
	"errors"
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain/internal/registry"
)

// ErrUnknownDialect is returned (wrapped) by [Get] and [Registry.Get] for a
// name that is not registered.
var ErrUnknownDialect = errors.New("dialect: unknown dialect")

// Registry maps names to dialects. It is safe for concurrent use. The
// package-level functions use [Default], which holds the built-in dialects;
// tests and programs that want their own set make one with [NewRegistry].
type Registry struct {
	dialects *registry.Registry[Dialect]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{dialects: registry.New[Dialect]()}
}

// Default is the registry of [Get], [Names] and [Register]. It starts with
// the built-in dialects: smolagent, hermes, llama3_json, mistral, pythonic,
// qwen3_coder and native.
var Default = builtins()

func builtins() *Registry {
	r := NewRegistry()
	for _, d := range []Dialect{SmolAgent(), Hermes(), Llama3JSON(), Mistral(), Pythonic(), Qwen3Coder(), Native()} {
		r.MustRegister(d)
	}
	return r
}

// Register adds d under d.Name(). The name must be non-empty, without
// surrounding spaces, and not yet registered. A dialect must be stateless
// and safe for concurrent use (see [Dialect]).
func (r *Registry) Register(d Dialect) error {
	if d == nil {
		return errors.New("dialect: Register: nil dialect")
	}
	name := d.Name()
	if name == "" || strings.TrimSpace(name) != name {
		return fmt.Errorf("dialect: Register: invalid name %q", name)
	}
	if !r.dialects.Add(name, d) {
		return fmt.Errorf("dialect: dialect %q is already registered", name)
	}
	return nil
}

// MustRegister is Register that panics on error, for use in init functions.
func (r *Registry) MustRegister(d Dialect) {
	if err := r.Register(d); err != nil {
		panic(err)
	}
}

// Get returns the dialect registered as name (surrounding spaces ignored).
// An unknown name yields an error wrapping [ErrUnknownDialect] that lists
// the known ones.
func (r *Registry) Get(name string) (Dialect, error) {
	if d, ok := r.dialects.Get(strings.TrimSpace(name)); ok {
		return d, nil
	}
	return nil, fmt.Errorf("%w %q; known dialects: %s", ErrUnknownDialect, name, r.dialects.Known())
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string { return r.dialects.Names() }

// Register adds d to [Default]; see [Registry.Register].
func Register(d Dialect) error { return Default.Register(d) }

// MustRegister adds d to [Default] and panics on error.
func MustRegister(d Dialect) { Default.MustRegister(d) }

// Get returns the dialect called name from [Default]: a built-in one
// ("smolagent", "hermes", "llama3_json", "mistral", "pythonic",
// "qwen3_coder", "native") or one added with [Register]. An unknown name
// yields an error wrapping [ErrUnknownDialect] that lists the known ones.
func Get(name string) (Dialect, error) { return Default.Get(name) }

// Names returns the names registered in [Default], sorted.
func Names() []string { return Default.Names() }
