package dialect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownDialect is returned (wrapped) by [Get] and [Registry.Get] for a
// name that is not registered.
var ErrUnknownDialect = errors.New("dialect: unknown dialect")

// Registry maps names to dialects. It is safe for concurrent use. The
// package-level functions use [Default], which holds the built-in dialects;
// tests and programs that want their own set make one with [NewRegistry].
type Registry struct {
	mu       sync.RWMutex
	dialects map[string]Dialect
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{dialects: map[string]Dialect{}}
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
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.dialects[name]; dup {
		return fmt.Errorf("dialect: dialect %q is already registered", name)
	}
	r.dialects[name] = d
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
	r.mu.RLock()
	d, ok := r.dialects[strings.TrimSpace(name)]
	r.mu.RUnlock()
	if ok {
		return d, nil
	}
	known := "none registered"
	if names := r.Names(); len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("%w %q; known dialects: %s", ErrUnknownDialect, name, known)
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.dialects))
	for n := range r.dialects {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

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
