package reward

import (
	"encoding/json"
	"fmt"

	"github.com/retrain-rl/retrain/config"
)

// operatorParams lists the operator-only keys that params set; registered
// with [RegisterParams].
type operatorParams func(params map[string]any) ([]string, error)

// RegisterParams adds to r the reward name, configured by a struct of type
// P as with [WithParams], and records who may set its params: a network
// client (a rollout request to `retrain serve`) may set only the params
// whose field is tagged access:"client" (see package config); the others,
// such as a URL, a path or the name of an environment variable, are the
// operator's, and [Registry.OperatorParams] lists them when a configuration
// sets them. A reward registered with [Registry.Register] has no such
// marks: a client may set all its params.
func RegisterParams[P any](r *Registry, name string, defaults func() P, build func(P) (Func, error)) error {
	if err := r.Register(name, WithParams(defaults, build)); err != nil {
		return err
	}
	var zero P
	r.operator.Add(name, func(params map[string]any) ([]string, error) {
		data, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadParams, err)
		}
		return config.OperatorKeys(data, zero)
	})
	return nil
}

// OperatorParams lists the params that cfg sets and that only the operator
// may set (see [RegisterParams]), as "rollout component \"NAME\":
// params.KEY", looking into composite's parts too: nil when a network client
// may send cfg. A server refuses a client's reward configuration that sets
// any; enforcing it is the caller's business.
func (r *Registry) OperatorParams(cfg *Config) ([]string, error) {
	if cfg == nil {
		return nil, nil
	}
	var out []string
	for _, list := range []struct {
		level string
		comps []Component
	}{{"step", cfg.Step}, {"rollout", cfg.Rollout}} {
		for _, comp := range list.comps {
			keys, err := r.operatorKeys(comp.reward(), comp.Params, 0)
			if err != nil {
				return nil, fmt.Errorf("%s component %q: %w", list.level, comp.name(), err)
			}
			for _, k := range keys {
				out = append(out, fmt.Sprintf("%s component %q: params.%s", list.level, comp.name(), k))
			}
		}
	}
	return out, nil
}

// maxCompositeDepth bounds composites nested in composites, which
// OperatorParams walks.
const maxCompositeDepth = 8

// operatorKeys lists the operator-only keys of the params of the reward
// name, relative to its params.
func (r *Registry) operatorKeys(name string, params map[string]any, depth int) ([]string, error) {
	if name == "composite" {
		if depth >= maxCompositeDepth {
			return nil, fmt.Errorf("%w: composites nested more than %d deep", ErrBadParams, maxCompositeDepth)
		}
		var p compositeParams
		if err := DecodeParams(params, &p); err != nil {
			return nil, err
		}
		var out []string
		for i, part := range p.Components {
			keys, err := r.operatorKeys(part.Name, part.Params, depth+1)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				out = append(out, fmt.Sprintf("components[%d].params.%s", i, k))
			}
		}
		return out, nil
	}
	f, ok := r.operator.Get(name)
	if !ok || len(params) == 0 {
		return nil, nil
	}
	return f(params)
}
