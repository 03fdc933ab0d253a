package tool

import (
	"fmt"

	"github.com/retrain-rl/retrain/internal/registry"
)

// Registry is a set of named tools (the seed's tool registry). It is safe
// for concurrent use. [Default] is the process-wide one that built-in tools
// register with; make a private one with [NewRegistry] for tests.
type Registry struct {
	tools *registry.Registry[Tool]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{tools: registry.New[Tool]()}
}

// Register adds t. It fails when t is nil, its name is invalid (see
// [ValidName]), or a tool of the same name is already registered.
func (r *Registry) Register(t Tool) error {
	if t == nil {
		return fmt.Errorf("tool: Register: the tool is nil")
	}
	name := t.Spec().Name
	if err := ValidName(name); err != nil {
		return fmt.Errorf("tool: Register: %w", err)
	}
	if !r.tools.Add(name, t) {
		return fmt.Errorf("tool: Register: a tool named %q is already registered; choose another name", name)
	}
	return nil
}

// MustRegister is like Register but panics on error; it is meant for init
// functions.
func (r *Registry) MustRegister(t Tool) {
	if err := r.Register(t); err != nil {
		panic(err)
	}
}

// Lookup returns the tool named name.
func (r *Registry) Lookup(name string) (Tool, bool) { return r.tools.Get(name) }

// List returns the registered tools sorted by name.
func (r *Registry) List() []Tool {
	out := []Tool{}
	for _, t := range r.tools.All() {
		out = append(out, t)
	}
	return out
}

// Default is the process-wide registry (the seed's GLOBAL_TOOL_REGISTRY).
// Built-in tool packages register with it in init, so importing one (e.g.
// tool/calculator) makes its tool available.
var Default = NewRegistry()

// Register adds t to [Default].
func Register(t Tool) error { return Default.Register(t) }

// MustRegister adds t to [Default] and panics on error.
func MustRegister(t Tool) { Default.MustRegister(t) }

// Lookup returns the tool named name in [Default].
func Lookup(name string) (Tool, bool) { return Default.Lookup(name) }

// List returns the tools of [Default] sorted by name.
func List() []Tool { return Default.List() }
