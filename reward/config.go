package reward

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/retrain-rl/retrain/config"
)

// Distribution names how a rollout-level reward R is spread over T turns:
// one of the Dist constants.
type Distribution string

// Distributions.
const (
	// DistLastStep adds R to the last turn (the default).
	DistLastStep Distribution = "last_step"
	// DistAverage gives each turn R/T.
	DistAverage Distribution = "all_steps_average"
	// DistEqual gives each turn R.
	DistEqual Distribution = "all_steps_equal"
	// DistDiscounted gives turn t (0-based) gamma^(T-1-t) × R.
	DistDiscounted Distribution = "discounted"
)

// AdvantageEstimator names how group advantages are computed over the
// trajectories of one task: one of the Adv constants, or empty for none.
type AdvantageEstimator string

// Advantage estimators.
const (
	// AdvGRPO is (R - mean) / (std + 1e-6), with the std named by
	// Config.Std (population by default), or R - mean when scale_by_std is
	// false.
	AdvGRPO AdvantageEstimator = "grpo"
	// AdvDrGRPO is R - mean.
	AdvDrGRPO AdvantageEstimator = "dr_grpo"
	// AdvRLOO is R minus the mean of the others' rewards.
	AdvRLOO AdvantageEstimator = "rloo"
)

// StdKind names the standard deviation GRPO divides by: one of the Std
// constants, or empty for [StdPopulation].
type StdKind string

// Standard deviations.
const (
	// StdPopulation divides the squared deviations by n, as the GRPO paper
	// (DeepSeekMath) does: the default.
	StdPopulation StdKind = "population"
	// StdSample divides them by n-1 (Bessel's correction), as TRL's
	// GRPOTrainer (torch.std) does; at n=4 the population std is
	// sqrt(3/4) ≈ 0.866 of it, so advantages are that much smaller.
	StdSample StdKind = "sample"
)

// ErrorPolicy names what a failing reward function does: one of the
// OnError constants.
type ErrorPolicy string

// Error policies.
const (
	// OnErrorScore scores the component ErrorScore (the default).
	OnErrorScore ErrorPolicy = "score"
	// OnErrorFail makes Calculator.Score return an error.
	OnErrorFail ErrorPolicy = "fail"
)

// EnvComponent is the component name under which a turn's weighted
// environment step reward is listed; no configured component may use it.
const EnvComponent = "env"

// Config configures a Calculator. Its zero value scores environment step
// rewards only, with no advantages.
type Config struct {
	// Step components are scored on each assistant turn.
	Step []Component `yaml:"step" json:"step,omitempty"`
	// Rollout components are scored once on the whole trajectory and
	// distributed over its turns.
	Rollout []Component `yaml:"rollout" json:"rollout,omitempty"`
	// EnvWeight weighs the environment's own step rewards; nil means 1.
	EnvWeight *float64 `yaml:"env_weight" json:"env_weight,omitempty"`
	// Distribution spreads rollout-level rewards over turns: last_step
	// (default), all_steps_average, all_steps_equal or discounted.
	Distribution Distribution `yaml:"distribution" json:"distribution,omitempty"`
	// Gamma is the discount of the discounted distribution, in (0, 1].
	Gamma float64 `yaml:"gamma" json:"gamma,omitempty"`
	// Advantage is the group advantage estimator: "" (none), grpo, dr_grpo
	// or rloo.
	Advantage AdvantageEstimator `yaml:"advantage" json:"advantage,omitempty"`
	// ScaleByStd divides GRPO advantages by the group's std; nil means true.
	// Only grpo uses it.
	ScaleByStd *bool `yaml:"scale_by_std" json:"scale_by_std,omitempty"`
	// Std is the standard deviation GRPO divides by: "population" (the
	// default, as in the GRPO paper) or "sample" (n-1, as TRL). Only grpo
	// scaled by the std uses it.
	Std StdKind `yaml:"std" json:"std,omitempty" doc:"std GRPO divides by: population (default, divides by n, as the GRPO paper) or sample (n-1, as TRL)"`
	// OnError is what a failing reward function or verifier does: "score"
	// (default: the component scores ErrorScore) or "fail" (Score returns an
	// error). Either way the error is listed in Rewards.Errors.
	OnError ErrorPolicy `yaml:"on_error" json:"on_error,omitempty"`
	// ErrorScore is the score of a failed component, before its weight.
	ErrorScore float64 `yaml:"error_score" json:"error_score,omitempty"`
	// Dialect is the environment's dialect name, given to reward functions
	// (format uses it); empty means the trajectory's own (Trajectory.Dialect).
	Dialect string `yaml:"dialect" json:"dialect,omitempty"`
}

// Component is one weighted reward function.
type Component struct {
	// Name names the component in the output; defaults to Reward.
	Name string `yaml:"name" json:"name,omitempty"`
	// Reward is the registered reward name; defaults to Name.
	Reward string `yaml:"reward" json:"reward,omitempty"`
	// Weight multiplies the score; nil means 1.
	Weight *float64 `yaml:"weight" json:"weight,omitempty"`
	// Params are the reward function's parameters.
	Params map[string]any `yaml:"params" json:"params,omitempty"`
	// Verifiers are checks ("NAME" or "NAME:ARG"); if any fails, the
	// component scores Penalty instead of its reward.
	Verifiers []string `yaml:"verifiers" json:"verifiers,omitempty"`
	// Penalty is the score (before the weight) when a verifier fails.
	Penalty float64 `yaml:"penalty" json:"penalty,omitempty"`
}

// Float returns a pointer to v, for Config.EnvWeight and Component.Weight.
func Float(v float64) *float64 { return &v }

// LoadConfig reads a Config from a YAML (.yaml, .yml) or JSON (.json) file,
// decoded strictly by package config: unknown keys are an error that lists
// the known ones (with the line, in YAML).
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reward config: %w", err)
	}
	var cfg Config
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		err = config.DecodeYAML(data, &cfg)
	case ".json":
		err = config.Decode(data, &cfg)
	default:
		return nil, fmt.Errorf("reward config %s: unknown extension %q; use .yaml, .yml or .json", path, ext)
	}
	if err != nil {
		return nil, configError(path, err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("reward config %s: %w", path, err)
	}
	return &cfg, nil
}

// configError words a decoding error of the reward config at path.
func configError(path string, err error) error {
	var ce *config.Error
	switch {
	case errors.Is(err, config.ErrExtraData):
		return fmt.Errorf("reward config %s: more than one JSON value", path)
	case errors.Is(err, config.ErrUnknownKey) && errors.As(err, &ce):
		where := ""
		if ce.Line > 0 {
			where = fmt.Sprintf("line %d: ", ce.Line)
		}
		in := ""
		if p := ce.Parent(); p != "" {
			in = " in a component (" + p + ")"
		}
		return fmt.Errorf("reward config %s: %sunknown key %q%s; known keys: %s", path, where, ce.Name(), in, strings.Join(ce.Allowed, ", "))
	}
	return fmt.Errorf("reward config %s: %w", path, err)
}

// CorrectnessRewards are the reward functions that score whether an answer
// is right: a component of one of them decides success (see
// [Config.Correctness]).
var CorrectnessRewards = []string{"math_equal", "exact_match", "numeric"}

// Correctness returns the name of the component that says whether an
// episode succeeded: the first rollout-level component whose reward is one
// of [CorrectnessRewards]; "" when there is none. An episode succeeds when
// it scores 1 (its full value at weight 1): the success rate of "retrain
// rollout", "retrain eval" (its default pass criterion) and the server's
// rollout summary.
func (c *Config) Correctness() string {
	for _, comp := range c.Rollout {
		if slices.Contains(CorrectnessRewards, comp.reward()) {
			return comp.name()
		}
	}
	return ""
}

// Validate checks what can be checked without a registry: the
// distribution, advantage and std names and their parameters, the error
// policy, and that the component names are set and unique. Whether the
// reward functions and verifiers exist is checked by [NewCalculator].
func (c *Config) Validate() error { return c.validate() }

// validate checks what can be checked without a registry.
func (c *Config) validate() error {
	switch c.Distribution {
	case "", DistLastStep, DistAverage, DistEqual:
	case DistDiscounted:
		if c.Gamma <= 0 || c.Gamma > 1 {
			return fmt.Errorf("distribution discounted needs gamma in (0, 1], got %g", c.Gamma)
		}
	default:
		return fmt.Errorf("unknown distribution %q; use %s, %s, %s or %s", c.Distribution, DistLastStep, DistAverage, DistEqual, DistDiscounted)
	}
	switch c.Advantage {
	case "", AdvGRPO, AdvRLOO:
	case AdvDrGRPO:
		if c.ScaleByStd != nil && *c.ScaleByStd {
			return errors.New("dr_grpo does not scale by std; remove scale_by_std or use advantage: grpo")
		}
	default:
		return fmt.Errorf("unknown advantage %q; use %s, %s, %s or leave it empty", c.Advantage, AdvGRPO, AdvDrGRPO, AdvRLOO)
	}
	switch c.Std {
	case "":
	case StdPopulation, StdSample:
		if c.Advantage != AdvGRPO || (c.ScaleByStd != nil && !*c.ScaleByStd) {
			return fmt.Errorf("std %s applies only to advantage: grpo scaled by the std; remove std", c.Std)
		}
	default:
		return fmt.Errorf("unknown std %q; use %s (the default) or %s", c.Std, StdPopulation, StdSample)
	}
	switch c.OnError {
	case "", OnErrorScore, OnErrorFail:
	default:
		return fmt.Errorf("unknown on_error %q; use %s or %s", c.OnError, OnErrorScore, OnErrorFail)
	}
	seen := map[string]string{}
	for _, list := range []struct {
		level string
		comps []Component
	}{{"step", c.Step}, {"rollout", c.Rollout}} {
		for i, comp := range list.comps {
			name := comp.name()
			where := fmt.Sprintf("%s component %d", list.level, i+1)
			switch {
			case name == "":
				return fmt.Errorf("%s: set name or reward", where)
			case name == EnvComponent:
				return fmt.Errorf("%s: the name %q is reserved for the environment's reward; pick another", where, EnvComponent)
			case seen[name] != "":
				return fmt.Errorf("%s: name %q already used by a %s component; names must be unique", where, name, seen[name])
			}
			seen[name] = list.level
		}
	}
	return nil
}

func (c Component) name() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Reward
}

func (c Component) reward() string {
	if c.Reward != "" {
		return c.Reward
	}
	return c.Name
}
