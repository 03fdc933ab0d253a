package reward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

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
// the rollout components). A score with parts (a rubric's criteria) is
// listed part by part, as "COMPONENT.PART", instead of as one component. A
// failing reward function is listed in Errors and scores per
// Config.OnError. The error returned is a cancelled context or, with
// on_error: fail, a wrapped [ErrRewardFailed]. A [GroupFunc] scores t
// alone; [Calculator.ScoreGroup] scores a group together.
func (c *Calculator) Score(ctx context.Context, t *retrain.Trajectory) error {
	return c.scoreAll(ctx, []*retrain.Trajectory{t})
}

// ScoreGroup scores the trajectories of one task (a group) as [Calculator.Score]
// scores each, except that a rollout component whose reward function is a
// [GroupFunc] scores the group's samples together, in one call. Failed
// trajectories (Error set) are skipped and keep no rewards. Call it instead of
// Score on each, before [Calculator.Advantages], when [Calculator.GroupLevel]
// is true.
func (c *Calculator) ScoreGroup(ctx context.Context, group []*retrain.Trajectory) error {
	var members []*retrain.Trajectory
	for _, t := range group {
		if t != nil && !t.Failed() {
			members = append(members, t)
		}
	}
	if len(members) == 0 {
		return nil
	}
	return c.scoreAll(ctx, members)
}

// GroupLevel reports whether a rollout component scores a group's samples
// together (its reward function is a [GroupFunc]): the trajectories of a
// task should then be scored with [Calculator.ScoreGroup] once all are done.
func (c *Calculator) GroupLevel() bool {
	for _, comp := range c.rollout {
		if _, ok := comp.f.(GroupFunc); ok {
			return true
		}
	}
	return false
}

// Close closes the reward functions that hold resources (those that
// implement io.Closer, such as a judge's model client). It is safe to call
// more than once.
func (c *Calculator) Close() error {
	var errs []error
	for _, comp := range append(append([]component(nil), c.step...), c.rollout...) {
		if cl, ok := comp.f.(io.Closer); ok {
			errs = append(errs, cl.Close())
		}
	}
	return errors.Join(errs...)
}

// entry is one scored component (or part of one) of a sample.
type entry struct {
	key string
	v   float64
	err error
}

// scoring is one trajectory being scored.
type scoring struct {
	t       *retrain.Trajectory
	turns   [][]entry // per turn: env and step entries, in configuration order
	rollout [][]entry // per rollout component, in configuration order
	sample  Sample    // the rollout-level sample
	err     error     // a cancelled context or, with on_error: fail, the first failure
}

// scoreAll scores ts: alone when there is one, with the group components
// scoring all of them together otherwise.
func (c *Calculator) scoreAll(ctx context.Context, ts []*retrain.Trajectory) error {
	group := len(ts) > 1
	states := make([]*scoring, len(ts))
	for i, t := range ts {
		states[i] = &scoring{t: t, rollout: make([][]entry, len(c.rollout)), sample: RolloutSample(t, c.dialect(t))}
	}
	if group {
		var wg sync.WaitGroup
		for _, st := range states {
			wg.Go(func() { c.scoreSamples(ctx, st, true) })
		}
		wg.Wait()
	} else {
		c.scoreSamples(ctx, states[0], false)
	}
	for _, st := range states {
		if st.err != nil {
			return st.err
		}
	}
	if group {
		for ci, comp := range c.rollout {
			if gf, ok := comp.f.(GroupFunc); ok {
				if err := c.scoreGroupComponent(ctx, ci, comp, gf, states); err != nil {
					return err
				}
			}
		}
	}
	for _, st := range states {
		c.total(st)
	}
	return nil
}

// check records a failed entry's error: it returns the error that stops
// scoring (a cancelled context, or any failure with on_error: fail).
func (c *Calculator) check(ctx context.Context, e entry, where string) error {
	if e.err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("reward: %w", ctx.Err())
	}
	if c.cfg.OnError == OnErrorFail {
		return fmt.Errorf("%w: %s: %s: %v", ErrRewardFailed, where, e.key, e.err)
	}
	return nil
}

// scoreSamples scores st's step components and its rollout components,
// leaving out the group components when skipGroup is set.
func (c *Calculator) scoreSamples(ctx context.Context, st *scoring, skipGroup bool) {
	t := st.t
	dialect := c.dialect(t)
	st.turns = make([][]entry, len(t.Turns))
	for i := range t.Turns {
		turn := &t.Turns[i]
		var es []entry
		if c.envW != 0 {
			es = append(es, entry{key: EnvComponent, v: c.envW * turn.Reward})
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
			for _, e := range c.evaluate(ctx, comp, s) {
				if st.err = c.check(ctx, e, fmt.Sprintf("turn %d", i)); st.err != nil {
					return
				}
				es = append(es, e)
			}
		}
		st.turns[i] = es
	}
	for ci, comp := range c.rollout {
		if _, ok := comp.f.(GroupFunc); ok && skipGroup {
			continue
		}
		es := c.evaluate(ctx, comp, st.sample)
		for _, e := range es {
			if st.err = c.check(ctx, e, "rollout"); st.err != nil {
				return
			}
		}
		st.rollout[ci] = es
	}
}

// scoreGroupComponent scores the group component comp (the ci-th rollout
// component) on the samples of states together. A sample that fails one
// of the component's verifiers scores the penalty and is left out of the
// group.
func (c *Calculator) scoreGroupComponent(ctx context.Context, ci int, comp component, gf GroupFunc, states []*scoring) error {
	var samples []Sample
	var in []*scoring
	for _, st := range states {
		if es, decided := c.verify(ctx, comp, st.sample); decided {
			for _, e := range es {
				if err := c.check(ctx, e, "rollout"); err != nil {
					return err
				}
			}
			st.rollout[ci] = es
			continue
		}
		samples = append(samples, st.sample)
		in = append(in, st)
	}
	if len(samples) == 0 {
		return nil
	}
	scores, errs := safeScoreGroup(ctx, gf, samples)
	for i, st := range in {
		es := c.entries(comp, scores[i], errs[i])
		for _, e := range es {
			if err := c.check(ctx, e, "rollout"); err != nil {
				return err
			}
		}
		st.rollout[ci] = es
	}
	return nil
}

// total fills st.t.Rewards from st's entries.
func (c *Calculator) total(st *scoring) {
	t := st.t
	r := &retrain.Rewards{Turns: make([]retrain.TurnReward, len(t.Turns))}
	for i, es := range st.turns {
		r.Turns[i].Components = map[string]float64{}
		for _, e := range es {
			r.Turns[i].Components[e.key] = e.v
			if e.err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("turn %d: %s: %v", i, e.key, e.err))
			}
		}
	}
	if len(c.rollout) > 0 {
		r.Rollout = map[string]float64{}
	}
	for _, es := range st.rollout {
		for _, e := range es {
			if e.err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("rollout: %s: %v", e.key, e.err))
			}
			r.Rollout[e.key] = e.v
			for i, share := range c.distribute(e.v, len(t.Turns)) {
				r.Turns[i].Components[e.key] = share
				st.turns[i] = append(st.turns[i], entry{key: e.key, v: share})
			}
			if len(t.Turns) == 0 {
				r.Total += e.v
			}
		}
	}
	// Sum in configuration order, so totals are the same bit for bit.
	for i, es := range st.turns {
		sum := 0.0
		for _, e := range es {
			sum += e.v
		}
		r.Turns[i].Reward = sum
		r.Total += sum
	}
	t.Rewards = r
}

// verify runs comp's verifiers on s. When one fails or cannot decide, it
// returns the component's entries (the penalty or the error score) and
// true; when all pass, false.
func (c *Calculator) verify(ctx context.Context, comp component, s Sample) ([]entry, bool) {
	if err := ctx.Err(); err != nil {
		return []entry{{key: comp.name, err: err}}, true
	}
	for _, nv := range comp.verifiers {
		ok, err := safeVerify(ctx, nv.v, s)
		if err != nil {
			return []entry{{key: comp.name, v: comp.weight * c.cfg.ErrorScore, err: fmt.Errorf("verifier %s: %w", nv.spec, err)}}, true
		}
		if !ok {
			return []entry{{key: comp.name, v: comp.weight * comp.penalty}}, true
		}
	}
	return nil, false
}

// evaluate scores one component on s: weight × (the reward's score, or the
// penalty when a verifier fails, or the error score when something fails),
// one entry per part when the score has parts.
func (c *Calculator) evaluate(ctx context.Context, comp component, s Sample) []entry {
	if es, decided := c.verify(ctx, comp, s); decided {
		return es
	}
	sc, err := safeScore(ctx, comp.f, s)
	return c.entries(comp, sc, err)
}

// entries turns a reward function's result into comp's entries.
func (c *Calculator) entries(comp component, sc Score, err error) []entry {
	if err != nil {
		return []entry{{key: comp.name, v: comp.weight * c.cfg.ErrorScore, err: err}}
	}
	if len(sc.Parts) == 0 {
		if math.IsNaN(sc.Value) || math.IsInf(sc.Value, 0) {
			return []entry{{key: comp.name, v: comp.weight * c.cfg.ErrorScore, err: fmt.Errorf("reward function returned %v", sc.Value)}}
		}
		return []entry{{key: comp.name, v: comp.weight * sc.Value}}
	}
	es := make([]entry, len(sc.Parts))
	for i, p := range sc.Parts {
		e := entry{key: comp.name + "." + p.Name}
		switch {
		case p.Error != "":
			e.v, e.err = comp.weight*p.Weight*c.cfg.ErrorScore, errors.New(p.Error)
		case math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || math.IsNaN(p.Weight) || math.IsInf(p.Weight, 0):
			e.v, e.err = comp.weight*p.Weight*c.cfg.ErrorScore, fmt.Errorf("reward function returned %v × %v", p.Weight, p.Value)
		default:
			e.v = comp.weight * p.Weight * p.Value
		}
		es[i] = e
	}
	return es
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
