package mcp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/retrain-rl/retrain/tool"
)

// Provider offers the tools of every server of a [Config]. It implements
// [tool.Provider]; each server has one [Client], shared by all callers.
// It is safe for concurrent use.
type Provider struct {
	clients []*Client // sorted by name
}

// NewProvider returns a provider over the enabled servers of cfg. It does no
// I/O: servers start when Tools is first called. Call Close to stop them.
func NewProvider(cfg *Config, opts *Options) (*Provider, error) {
	if cfg == nil {
		return nil, errors.New("mcp: NewProvider: nil Config")
	}
	p := &Provider{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Servers)) {
		sc := cfg.Servers[name]
		if sc == nil {
			return nil, fmt.Errorf("MCP server %q: empty entry", name)
		}
		if sc.Disabled {
			continue
		}
		scc := *sc
		scc.Name = name
		c, err := NewClient(&scc, opts)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.clients = append(p.clients, c)
	}
	return p, nil
}

// Name describes the provider in error messages: "mcp" and its servers.
func (p *Provider) Name() string {
	names := make([]string, len(p.clients))
	for i, c := range p.clients {
		names[i] = c.Name()
	}
	return "mcp (" + strings.Join(names, ", ") + ")"
}

// Clients returns the provider's clients, sorted by server name.
func (p *Provider) Clients() []*Client { return slices.Clone(p.clients) }

// Client returns the client of the named server, or nil.
func (p *Provider) Client(name string) *Client {
	for _, c := range p.clients {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// Tools starts the servers that are not running, lists their tools
// concurrently and returns them all, server by server in name order. Two
// tools with the same name are an error that says which servers offer them,
// so a prefix or a deny list can resolve it.
func (p *Provider) Tools(ctx context.Context) ([]tool.Tool, error) {
	lists := make([][]tool.Tool, len(p.clients))
	errs := make([]error, len(p.clients))
	var wg sync.WaitGroup
	for i, c := range p.clients {
		wg.Go(func() { lists[i], errs[i] = c.Tools(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []tool.Tool
	owner := map[string]string{}
	for i, list := range lists {
		server := p.clients[i].Name()
		for _, t := range list {
			name := t.Spec().Name
			if other, dup := owner[name]; dup {
				return nil, fmt.Errorf(`MCP servers %q and %q both offer a tool named %q; set "prefix" on one of them (e.g. "%s_") or "deny" the tool`, other, server, name, server)
			}
			owner[name] = server
			out = append(out, t)
		}
	}
	return out, nil
}

// Close stops every server, concurrently. It is safe to call more than once.
func (p *Provider) Close() error {
	errs := make([]error, len(p.clients))
	var wg sync.WaitGroup
	for i, c := range p.clients {
		wg.Go(func() { errs[i] = c.Close() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

var (
	_ tool.Provider = (*Provider)(nil)
	_ tool.Provider = (*Client)(nil)
)
