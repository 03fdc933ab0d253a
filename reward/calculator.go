package reward

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/retrain-rl/retrain"
)

// ErrRewardFailed is wrapped by Calculator.Score's error when a reward
// function or verifier fails and the configuration says on_error: fail.
var ErrRewardFailed = errors.New("reward: reward function failed")

// Calculator turns trajectories into per-turn rewards (the seed's
// RewardCalculator). It is safe for concurrent use.
type Calculator struct {
	cfg     Config
	envW    float64
	scale   bool
	step    []component
	rollout []component
	names   []string // step then rollout component names
}

type component struct {
	name      string
	weight    float64
	f         Func
	verifiers []namedVerifier
	penalty   float64
}

type namedVerifier struct {
	spec string
	v    Verifier
}

// NewCalculator builds a calculator from cfg, making its reward functions
// and verifiers from reg (nil means [Default]). cfg is copied.
func NewCalculator(cfg *Config, reg *Registry) (*Calculator, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if reg == nil {
		reg = Default
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("reward config: %w", err)
	}
	c := &Calculator{cfg: *cfg, envW: 1, scale: true}
	if cfg.EnvWeight != nil {
		c.envW = *cfg.EnvWeight
	}
	if cfg.ScaleByStd != nil {
		c.scale = *cfg.ScaleByStd
	}
	if c.cfg.Distribution == "" {
		c.cfg.Distribution = DistLastStep
	}
	var err error
	if c.step, err = buildComponents(cfg.Step, reg, "step"); err != nil {
		return nil, err
	}
	if c.rollout, err = buildComponents(cfg.Rollout, reg, "rollout"); err != nil {
		return nil, err
	}
	for _, comp := range append(append([]component(nil), c.step...), c.rollout...) {
		c.names = append(c.names, comp.name)
	}
	return c, nil
}

func buildComponents(comps []Component, reg *Registry, level string) ([]component, error) {
	out := make([]component, len(comps))
	for i, comp := range comps {
		f, err := reg.New(comp.reward(), comp.Params)
		if err != nil {
			return nil, fmt.Errorf("reward config: %s component %q: %w", level, comp.name(), err)
		}
		out[i] = component{name: comp.name(), weight: 1, f: f, penalty: comp.Penalty}
		if comp.Weight != nil {
			out[i].weight = *comp.Weight
		}
		for _, spec := range comp.Verifiers {
			v, err := reg.NewVerifier(spec)
			if err != nil {
				return nil, fmt.Errorf("reward config: %s component %q: %w", level, comp.name(), err)
			}
			out[i].verifiers = append(out[i].verifiers, namedVerifier{spec, v})
		}
	}
	return out, nil
}

// Score fills t.Rewards. Each turn's components are its weighted
// environment reward (under "env"), its weighted step components, and its
// share of each weighted rollout component; the turn's reward is their sum
// and Total the sum over turns (for a trajectory without turns, the sum of
// the rollout components). A failing reward function is listed in Errors
// and scores per Config.OnError. The error returned is a cancelled context
// or, with on_error: fail, a wrapped [ErrRewardFailed].
func (c *Calculator) Score(ctx context.Context, t *retrain.Trajectory) error {
	r := &retrain.Rewards{Turns: make([]retrain.TurnReward, len(t.Turns))}
	dialect := c.dialect(t)
	for i := range t.Turns {
		turn := &t.Turns[i]
		comps := map[string]float64{}
		if c.envW != 0 {
			comps[EnvComponent] = c.envW * turn.Reward
		}
		s := Sample{
			Task:       t.Task,
			Completion: turnText(turn.Action),
			Action:     &turn.Action,
			Step:       i,
			Info:       turn.Info,
			Trajectory: t,
			Dialect:    dialect,
		}
		for _, comp := range c.step {
			v, err := c.evaluate(ctx, comp, s)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("reward: %w", ctx.Err())
				}
				msg := fmt.Sprintf("turn %d: %s: %v", i, comp.name, err)
				if c.cfg.OnError == OnErrorFail {
					return fmt.Errorf("%w: %s", ErrRewardFailed, msg)
				}
				r.Errors = append(r.Errors, msg)
			}
			comps[comp.name] = v
		}
		r.Turns[i].Components = comps
	}
	if len(c.rollout) > 0 {
		r.Rollout = map[string]float64{}
		s := RolloutSample(t, dialect)
		for _, comp := range c.rollout {
			v, err := c.evaluate(ctx, comp, s)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("reward: %w", ctx.Err())
				}
				msg := fmt.Sprintf("rollout: %s: %v", comp.name, err)
				if c.cfg.OnError == OnErrorFail {
					return fmt.Errorf("%w: %s", ErrRewardFailed, msg)
				}
				r.Errors = append(r.Errors, msg)
			}
			r.Rollout[comp.name] = v
			shares := c.distribute(v, len(t.Turns))
			for i, share := range shares {
				r.Turns[i].Components[comp.name] = share
			}
		}
	}
	// Sum in configuration order, so totals are the same bit for bit.
	names := append([]string{EnvComponent}, c.names...)
	for i := range r.Turns {
		sum := 0.0
		for _, name := range names {
			sum += r.Turns[i].Components[name]
		}
		r.Turns[i].Reward = sum
		r.Total += sum
	}
	if len(t.Turns) == 0 {
		for _, comp := range c.rollout {
			r.Total += r.Rollout[comp.name]
		}
	}
	t.Rewards = r
	return nil
}

// evaluate scores one component on s: weight × (the reward's score, or the
// penalty when a verifier fails, or the error score when something fails).
func (c *Calculator) evaluate(ctx context.Context, comp component, s Sample) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for _, nv := range comp.verifiers {
		ok, err := safeVerify(ctx, nv.v, s)
		if err != nil {
			return comp.weight * c.cfg.ErrorScore, fmt.Errorf("verifier %s: %w", nv.spec, err)
		}
		if !ok {
			return comp.weight * comp.penalty, nil
		}
	}
	sc, err := safeScore(ctx, comp.f, s)
	if err != nil {
		return comp.weight * c.cfg.ErrorScore, err
	}
	if math.IsNaN(sc.Value) || math.IsInf(sc.Value, 0) {
		return comp.weight * c.cfg.ErrorScore, fmt.Errorf("reward function returned %v", sc.Value)
	}
	return comp.weight * sc.Value, nil
}

// distribute spreads a rollout-level reward over n turns.
func (c *Calculator) distribute(v float64, n int) []float64 {
	shares := make([]float64, n)
	if n == 0 {
		return shares
	}
	switch c.cfg.Distribution {
	case DistAverage:
		for i := range shares {
			shares[i] = v / float64(n)
		}
	case DistEqual:
		for i := range shares {
			shares[i] = v
		}
	case DistDiscounted:
		for i := range shares {
			shares[i] = math.Pow(c.cfg.Gamma, float64(n-1-i)) * v
		}
	default:
		shares[n-1] = v
	}
	return shares
}

func (c *Calculator) dialect(t *retrain.Trajectory) string {
	if c.cfg.Dialect != "" {
		return c.cfg.Dialect
	}
	return t.Dialect
}

// turnText is the text a step-level reward scores: the raw output, or the
// parsed text when the raw output was not kept.
func turnText(a retrain.Action) string {
	if a.Raw != "" {
		return a.Raw
	}
	return a.Text
}

// RolloutSample is the sample rollout-level rewards score for t: the final
// answer is the last turn's text response (its raw output when it has no
// text); Action and Info are the last turn's.
func RolloutSample(t *retrain.Trajectory, dialect string) Sample {
	s := Sample{Task: t.Task, Step: -1, Trajectory: t, Dialect: dialect}
	if n := len(t.Turns); n > 0 {
		last := &t.Turns[n-1]
		s.Action, s.Info = &last.Action, last.Info
		s.Completion = last.Action.Text
		if s.Completion == "" {
			s.Completion = last.Action.Raw
		}
	}
	return s
}
