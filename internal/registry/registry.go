// Package registry is the locked, named set that the project's registries
// (environments, dialects, rewards and verifiers, tools) are built on. Each
// of them keeps its own API, name rules and error messages; this package
// holds what they share: the lock, the map, refusing a name twice, the
// sorted names and the "known: a, b" list an unknown name is answered with.
//
//	var dialects = registry.New[Dialect]()
//	if !dialects.Add("hermes", Hermes()) {
//		return fmt.Errorf("dialect %q is already registered", "hermes")
//	}
//	d, ok := dialects.Get(name)
//	if !ok {
//		return fmt.Errorf("unknown dialect %q; known dialects: %s", name, dialects.Known())
//	}
package registry

import (
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Registry maps names to values of type T. It is safe for concurrent use.
// Make one with [New]; the zero value is not ready to use.
type Registry[T any] struct {
	mu     sync.RWMutex
	values map[string]T
}

// New returns an empty registry.
func New[T any]() *Registry[T] {
	return &Registry[T]{values: map[string]T{}}
}

// Add registers v under name and reports whether it did: false means the
// name is already taken, and the registry is unchanged. Checking the name
// itself (empty, spaces) is the caller's business.
func (r *Registry[T]) Add(name string, v T) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.values[name]; dup {
		return false
	}
	r.values[name] = v
	return true
}

// Get returns the value registered under name.
func (r *Registry[T]) Get(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.values[name]
	return v, ok
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.values))
}

// Known returns the registered names, sorted and comma-separated, or "none
// registered" when there are none: the list an "unknown name" error ends
// with.
func (r *Registry[T]) Known() string {
	names := r.Names()
	if len(names) == 0 {
		return "none registered"
	}
	return strings.Join(names, ", ")
}

// All yields the registered names and values sorted by name. It iterates
// over a copy taken under the lock when the loop starts, so the loop body
// may call the registry (or run code that does).
func (r *Registry[T]) All() iter.Seq2[string, T] {
	return func(yield func(string, T) bool) {
		r.mu.RLock()
		values := maps.Clone(r.values)
		r.mu.RUnlock()
		for _, n := range slices.Sorted(maps.Keys(values)) {
			if !yield(n, values[n]) {
				return
			}
		}
	}
}
