package tool

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Set is the tools available to an environment: what its observations list
// and what its tool calls run. It is immutable after construction and safe
// for concurrent use, so one Set serves every episode of a run. A nil *Set
// is an empty set.
type Set struct {
	tools []Tool
	specs []retrain.ToolSpec
	index map[string]int
}

// NewSet returns a Set of tools, in the given order. Nil tools, invalid
// names and duplicate names are errors.
func NewSet(tools ...Tool) (*Set, error) {
	s := &Set{index: make(map[string]int, len(tools))}
	for i, t := range tools {
		if t == nil {
			return nil, fmt.Errorf("tool: NewSet: tool #%d is nil", i+1)
		}
		if err := s.add(t); err != nil {
			return nil, fmt.Errorf("tool: NewSet: %w", err)
		}
	}
	return s, nil
}

func (s *Set) add(t Tool) error {
	spec := t.Spec()
	if err := ValidName(spec.Name); err != nil {
		return err
	}
	if _, dup := s.index[spec.Name]; dup {
		return fmt.Errorf("two tools are named %q; tool names must be unique", spec.Name)
	}
	s.index[spec.Name] = len(s.tools)
	s.tools = append(s.tools, t)
	s.specs = append(s.specs, spec)
	return nil
}

// Collect asks each provider for its tools, in order, and merges them into a
// Set. A provider's error is returned wrapped; two providers offering the
// same tool name is an error naming the tool and both providers.
func Collect(ctx context.Context, providers ...Provider) (*Set, error) {
	s := &Set{index: map[string]int{}}
	from := map[string]int{} // tool name -> provider index
	for i, p := range providers {
		if p == nil {
			return nil, fmt.Errorf("tool: Collect: provider #%d is nil", i+1)
		}
		tools, err := p.Tools(ctx)
		if err != nil {
			return nil, fmt.Errorf("tool: provider #%d (%s): %w", i+1, providerName(p), err)
		}
		for _, t := range tools {
			if t == nil {
				return nil, fmt.Errorf("tool: provider #%d (%s) returned a nil tool", i+1, providerName(p))
			}
			name := t.Spec().Name
			if j, dup := from[name]; dup {
				if i == j {
					return nil, fmt.Errorf("tool: provider #%d (%s) offers two tools named %q", i+1, providerName(p), name)
				}
				return nil, fmt.Errorf("tool: tool %q is offered by both provider #%d (%s) and provider #%d (%s); remove it from one of them",
					name, j+1, providerName(providers[j]), i+1, providerName(p))
			}
			if err := s.add(t); err != nil {
				return nil, fmt.Errorf("tool: provider #%d (%s): %w", i+1, providerName(p), err)
			}
			from[name] = i
		}
	}
	return s, nil
}

// providerName describes p: its Name() when it has one, else its type.
func providerName(p Provider) string {
	if n, ok := p.(interface{ Name() string }); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", p)
}

// Specs returns the specs of the tools, in the order they were added.
func (s *Set) Specs() []retrain.ToolSpec {
	if s == nil {
		return nil
	}
	out := slices.Clone(s.specs)
	for i := range out {
		out[i].Parameters = slices.Clone(out[i].Parameters)
	}
	return out
}

// Lookup returns the tool named name.
func (s *Set) Lookup(name string) (Tool, bool) {
	if s == nil {
		return nil, false
	}
	i, ok := s.index[name]
	if !ok {
		return nil, false
	}
	return s.tools[i], true
}

// Len is the number of tools.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.tools)
}

// Names returns the tool names in the order they were added.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, len(s.specs))
	for i, sp := range s.specs {
		names[i] = sp.Name
	}
	return names
}

// Call runs call with the tool it names, like [Invoke], and sets the
// result's CallID and Name. An unknown tool is the model's mistake: a failed
// ToolResult listing the available tools, with a nil error. Only a done ctx
// yields a Go error.
func (s *Set) Call(ctx context.Context, call retrain.ToolCall, opts *CallOptions) (retrain.ToolResult, error) {
	t, ok := s.Lookup(call.Name)
	if !ok {
		res := retrain.ToolResult{CallID: call.ID, Name: call.Name}
		if s.Len() == 0 {
			res.Error = fmt.Sprintf("unknown tool %q; no tools are available", call.Name)
		} else {
			res.Error = fmt.Sprintf("unknown tool %q; available tools: %s", call.Name, strings.Join(s.Names(), ", "))
		}
		return res, nil
	}
	res, err := Invoke(ctx, t, call.Arguments, opts)
	res.CallID = call.ID
	res.Name = call.Name
	return res, err
}
