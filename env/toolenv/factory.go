package toolenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/tool"
)

// NewFactory returns a Factory whose environments share one tool set: the
// first environment's Setup asks the providers, the others reuse what it
// found (a failed collection is retried by the next Setup). Nil opts means
// defaults.
func NewFactory(opts *Options) env.Factory {
	var o Options
	if opts != nil {
		o = *opts
	}
	return &factory{opts: o, source: newToolSource(o.Providers)}
}

type factory struct {
	opts   Options
	source *toolSource

	mu     sync.Mutex
	closed bool
}

// NewEnv makes an environment that shares the factory's tools.
func (f *factory) NewEnv() (retrain.Environment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, fmt.Errorf("toolenv: NewEnv: %w", retrain.ErrClosed)
	}
	e := newEnv(f.opts, f.source)
	if e.initErr != nil {
		return nil, e.initErr
	}
	return e, nil
}

// Close stops the factory from making environments. The tools belong to
// their providers, so nothing else is released.
func (f *factory) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// toolSource collects the tools of some providers once, for every
// environment that shares it.
type toolSource struct {
	providers []tool.Provider
	sem       chan struct{} // held while collecting; guards tools
	tools     *toolSet
}

func newToolSource(providers []tool.Provider) *toolSource {
	return &toolSource{providers: providers, sem: make(chan struct{}, 1)}
}

// get returns the collected tools, collecting them first if needed. Waiting
// for another caller's collection honours ctx.
func (s *toolSource) get(ctx context.Context) (*toolSet, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	if s.tools != nil {
		return s.tools, nil
	}
	set, err := tool.Collect(ctx, s.providers...)
	if err != nil {
		return nil, err
	}
	ts := &toolSet{set: set, specs: set.Specs(), names: set.Names(), validators: map[string]*tool.Validator{}}
	if ts.names == nil {
		ts.names = []string{}
	}
	for _, spec := range ts.specs {
		// A schema the validator cannot compile (an MCP server's) is left
		// to the tool itself to check.
		if v, err := tool.NewValidator(spec.Parameters); err == nil {
			ts.validators[spec.Name] = v
		}
	}
	s.tools = ts
	return ts, nil
}

// toolSet is a collected tool set with what each step needs at hand. It is
// read-only once built.
type toolSet struct {
	set        *tool.Set
	specs      []retrain.ToolSpec
	names      []string
	validators map[string]*tool.Validator
}

// validate checks a call's arguments against the tool's schema and returns
// the message the model should see, or nil.
func (ts *toolSet) validate(name string, args json.RawMessage) error {
	v := ts.validators[name]
	if v == nil {
		return nil
	}
	if t := bytes.TrimSpace(args); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		args = json.RawMessage(`{}`) // as tool.Invoke treats them
	}
	err := v.Validate(args)
	if err == nil {
		return nil
	}
	var te *tool.Error
	if errors.As(err, &te) {
		c := *te
		if c.Tool == "" {
			c.Tool = name
		}
		return &c
	}
	return fmt.Errorf("tool %q: %w", name, err)
}
