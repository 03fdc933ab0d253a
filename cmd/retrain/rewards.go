package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/report"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
)

// rewardsSpec is a run's reward configuration: --rewards FILE (YAML or
// JSON), or in a --config file the key "rewards" with a file path or the
// configuration inline. The zero value means no rewards.
type rewardsSpec struct {
	// Path is a reward configuration file.
	Path string
	// Inline is a configuration given in the --config file; it wins over Path.
	Inline *reward.Config
}

// String returns the file path, for the flag package.
func (r *rewardsSpec) String() string {
	if r == nil {
		return ""
	}
	return r.Path
}

// Set takes the --rewards flag's file path.
func (r *rewardsSpec) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty: name a YAML or JSON reward configuration file")
	}
	r.Path, r.Inline = s, nil
	return nil
}

// UnmarshalJSON takes a file path (a string) or an inline configuration (an
// object), decoded by package config, as the "rewards" key of a --config
// file.
func (r *rewardsSpec) UnmarshalJSON(b []byte) error {
	var path string
	if json.Unmarshal(b, &path) == nil {
		*r = rewardsSpec{Path: path}
		return nil
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return errors.New(`must be a file path or a mapping like "rollout: [{name: correct, reward: math_equal}]"`)
	}
	var cfg reward.Config
	if err := config.Decode(b, &cfg); err != nil {
		return err
	}
	*r = rewardsSpec{Inline: &cfg}
	return nil
}

// config returns the configuration the spec names, nil when none.
func (r *rewardsSpec) config() (*reward.Config, error) {
	switch {
	case r.Inline != nil:
		return r.Inline, nil
	case r.Path == "":
		return nil, nil
	}
	cfg, err := reward.LoadConfig(r.Path)
	if err != nil {
		return nil, usageErrorf("--rewards: %s", oneLine(err))
	}
	return cfg, nil
}

// runRewards sums up the rewards of a run's trajectories for its summary;
// the run itself scores them (rollout.Job.Reward).
type runRewards struct {
	cfg   *reward.Config
	pass  string // the correctness component the success rate counts; "" when none
	stats *report.Builder
}

// newRunRewards checks the reward configuration spec names; nil (and no
// error) when it names none.
func newRunRewards(spec *rewardsSpec) (*runRewards, error) {
	cfg, err := spec.config()
	if err != nil || cfg == nil {
		return nil, err
	}
	if _, err := newCalculator(cfg); err != nil {
		return nil, err
	}
	return summarizeRewards(cfg), nil
}

// summarizeRewards returns the summary of a run scored with cfg (nil for a
// nil cfg). Its success rate counts the episodes whose correctness
// component (see correctnessComponent) reaches 1, as eval's does.
func summarizeRewards(cfg *reward.Config) *runRewards {
	if cfg == nil {
		return nil
	}
	rw := &runRewards{cfg: cfg, pass: correctnessComponent(cfg)}
	var opts *report.Options
	if rw.pass != "" {
		opts = &report.Options{Pass: rw.pass} // threshold 1
	}
	rw.stats = report.NewBuilder(opts)
	return rw
}

// correctnessComponent is the name of the first rollout-level component of
// cfg that scores correctness (see reward.Config.Correctness).
func correctnessComponent(cfg *reward.Config) string { return cfg.Correctness() }

// newCalculator builds a calculator, turning a bad configuration into a
// usage error.
func newCalculator(cfg *reward.Config) (*reward.Calculator, error) {
	calc, err := reward.NewCalculator(cfg, nil)
	if err != nil {
		return nil, usageErrorf("rewards: %v (reward functions: %s)", strings.TrimPrefix(err.Error(), "reward config: "), strings.Join(reward.Default.Names(), ", "))
	}
	return calc, nil
}

// config is the reward configuration; nil for a nil rw.
func (rw *runRewards) config() *reward.Config {
	if rw == nil {
		return nil
	}
	return rw.cfg
}

// watch returns a progress function that adds each finished trajectory to
// rw's statistics and then calls next. A nil rw returns next.
func (rw *runRewards) watch(next func(rollout.Progress)) func(rollout.Progress) {
	if rw == nil {
		return next
	}
	return func(p rollout.Progress) {
		rw.stats.Add(p.Last) // final: delivered trajectories have their group rewards
		if next != nil {
			next(p)
		}
	}
}

// printSummary writes the mean total reward and the mean of each component.
// A nil rw prints nothing.
func (rw *runRewards) printSummary(w io.Writer) {
	if rw == nil {
		return
	}
	r := rw.stats.Report()
	if r.Total == nil {
		fmt.Fprintln(w, "rewards: no episode was scored")
		return
	}
	var parts []string
	step := false
	for _, c := range r.Rewards {
		if c.Name == reward.EnvComponent && c.Min == 0 && c.Max == 0 {
			continue // the environment gave no step rewards: nothing to say
		}
		parts = append(parts, fmt.Sprintf("%s %.4g", c.Name, c.Mean))
		step = step || c.Level == report.LevelStep
	}
	line := fmt.Sprintf("mean reward: %.4g total", r.Total.Mean)
	if len(parts) > 0 {
		line += "; " + strings.Join(parts, ", ")
	}
	if step {
		line += " (step-level components summed over each episode's turns)"
	}
	if p := r.Pass; p != nil {
		line += fmt.Sprintf("\nsuccess rate: %.1f%% (%d of %d episodes scored %s = 1", 100*p.SuccessRate, p.Passed, r.Episodes, p.Reward)
		if r.Failed > 0 {
			line += fmt.Sprintf("; the %d failed ones count as unsuccessful", r.Failed)
		}
		line += ")"
	}
	if r.RewardErrors > 0 {
		line += fmt.Sprintf("\nreward errors: %d (see rewards.errors in the trajectories)", r.RewardErrors)
	}
	fmt.Fprintln(w, line)
}

// componentNames lists the components of cfg a pass criterion may name:
// the rollout ones, the step ones, env and total.
func componentNames(cfg *reward.Config) []string {
	var names []string
	for _, c := range slices.Concat(cfg.Rollout, cfg.Step) {
		names = append(names, cmp.Or(c.Name, c.Reward))
	}
	return append(names, reward.EnvComponent, report.TotalName)
}
