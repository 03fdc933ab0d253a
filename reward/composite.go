package reward

import (
	"context"
	"fmt"
	"strings"
)

// compositeParams are composite's parameters: a weighted sum of rewards.
type compositeParams struct {
	Components []compositePart `json:"components"`
}

type compositePart struct {
	// Name is the registered reward name.
	Name string `json:"name"`
	// Weight multiplies the part's score (default 1).
	Weight *float64 `json:"weight"`
	// Params are the part's parameters.
	Params map[string]any `json:"params"`
}

type weighted struct {
	name   string
	weight float64
	f      Func
}

// compositeBuilder returns composite's builder, which builds its parts from
// reg.
func compositeBuilder(reg *Registry) Builder {
	return WithParams(nil, func(p compositeParams) (Func, error) {
		if len(p.Components) == 0 {
			return nil, fmt.Errorf("%w: composite needs components: [{name, weight, params}]", ErrBadParams)
		}
		parts := make([]weighted, len(p.Components))
		for i, c := range p.Components {
			if c.Name == "" {
				return nil, fmt.Errorf("%w: composite component %d has no name", ErrBadParams, i+1)
			}
			f, err := reg.New(c.Name, c.Params)
			if err != nil {
				return nil, fmt.Errorf("composite component %d: %w", i+1, err)
			}
			parts[i] = weighted{name: c.Name, weight: 1, f: f}
			if c.Weight != nil {
				parts[i].weight = *c.Weight
			}
		}
		return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
			var out Score
			var details []string
			for _, part := range parts {
				sc, err := safeScore(ctx, part.f, s)
				if err != nil {
					return Score{}, fmt.Errorf("composite part %s: %w", part.name, err)
				}
				out.Value += part.weight * sc.Value
				if out.Extracted == "" {
					out.Extracted = sc.Extracted
				}
				details = append(details, fmt.Sprintf("%s=%g", part.name, sc.Value))
			}
			out.Detail = strings.Join(details, ", ")
			return out, nil
		}), nil
	})
}
