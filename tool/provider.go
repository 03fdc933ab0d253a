package tool

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Static returns a Provider that offers exactly tools (the seed's
// ManualToolProvider).
func Static(tools ...Tool) Provider {
	return staticProvider(slices.Clone(tools))
}

type staticProvider []Tool

func (p staticProvider) Tools(context.Context) ([]Tool, error) {
	return slices.Clone([]Tool(p)), nil
}

// Name describes the provider in error messages.
func (p staticProvider) Name() string { return "static" }

// FromRegistry returns a Provider that offers the tools of r named by names,
// or all of r's tools when names is empty. The tools are looked up when
// Tools is called; an unknown name is an error listing the available tools.
// A nil r means [Default].
func FromRegistry(r *Registry, names ...string) Provider {
	if r == nil {
		r = Default
	}
	return &registryProvider{r: r, names: slices.Clone(names)}
}

type registryProvider struct {
	r     *Registry
	names []string
}

func (p *registryProvider) Tools(ctx context.Context) ([]Tool, error) {
	if len(p.names) == 0 {
		return p.r.List(), nil
	}
	tools := make([]Tool, 0, len(p.names))
	var unknown []string
	for _, n := range p.names {
		t, ok := p.r.Lookup(n)
		if !ok {
			unknown = append(unknown, strconv.Quote(n))
			continue
		}
		tools = append(tools, t)
	}
	if len(unknown) > 0 {
		avail := "none"
		if names := p.r.tools.Names(); len(names) > 0 {
			avail = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("tool: unknown tool %s; available tools: %s", strings.Join(unknown, ", "), avail)
	}
	return tools, nil
}

// Name describes the provider in error messages.
func (p *registryProvider) Name() string { return "registry" }
