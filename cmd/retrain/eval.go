package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/report"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
)

func init() {
	evalCommand.run = runEval // set here: runEval refers to evalCommand
	register(evalCommand)
}

var evalCommand = &command{
	name:    "eval",
	summary: "run episodes like rollout, score them and report success rate, pass@k, rewards and error rates",
	usage: "[rollout flags] [--rewards FILE] [--pass-reward NAME] [--pass-threshold X] [--report FILE]\n" +
		"       retrain eval --in FILE [--rewards FILE] [--pass-reward NAME] [--pass-threshold X] [--report FILE]\n\n" +
		"Runs a rollout (every rollout flag works the same way) with a reward calculator and writes, besides\n" +
		"the trajectories, a report: for each reward component its mean, std, min and max; the success rate\n" +
		"and pass@k (k = 1..n, the unbiased estimator of Chen et al. 2021) where an episode passes when its\n" +
		"--pass-reward component is at least --pass-threshold; mean turns; tool-call and parse error rates;\n" +
		"failure causes; stop reasons; tokens. Failed episodes count as not passing.\n" +
		"Without --rewards the rewards are the environment's defaults (\"retrain envs NAME\" shows them; the\n" +
		"calculator's: \"correct\", math_equal of the final answer against the task's answer, and \"format\",\n" +
		"weighted 0.1), or for an environment that brings none \"correct\" (math_equal, rollout level) and\n" +
		"\"format\" (the dialect's format, the mean over the turns; environments that report no dialect need\n" +
		"--rewards). With --in, the environment is that of the file's first trajectory.\n" +
		"--pass-reward defaults to the first rollout-level math_equal,\n" +
		"exact_match or numeric component. --in FILE scores an existing trajectories file again and reports\n" +
		"on it without running anything.\n\n" +
		"Examples:\n" +
		"  retrain eval --model fake --tasks 10 --n 4                      # eval.jsonl and eval.report.json\n" +
		"  retrain eval --model http://localhost:8000/v1 --data gsm8k_test.jsonl --n 8 --temperature 1 \\\n" +
		"      --out gsm8k.jsonl                                          # gsm8k.report.json beside it\n" +
		"  retrain eval --in rollouts.jsonl --rewards rewards.yaml --pass-reward correct",
}

// evalConfig is everything eval takes: rollout's keys and its own. As for
// rollout, each field is a flag and a --config key.
type evalConfig struct {
	rolloutConfig
	Report        string  `json:"report"`
	PassReward    string  `json:"pass_reward"`
	PassThreshold float64 `json:"pass_threshold"`
	In            string  `json:"in"`
}

func defaultEvalConfig() evalConfig {
	c := evalConfig{rolloutConfig: defaultRolloutConfig(), PassThreshold: 1}
	c.Out = "eval.jsonl"
	return c
}

// defaultEvalRewards are eval's rewards when none are given and the
// environment brings none.
func defaultEvalRewards() *reward.Config {
	return &reward.Config{Rollout: []reward.Component{
		{Name: "correct", Reward: "math_equal"},
		{Name: "format", Reward: "format"},
	}}
}

// evalDefaultRewards are the rewards of an eval run without --rewards: the
// environment's default rewards (env.Spec.Rewards; with --in, those of the
// environment of the file's first trajectory), else defaultEvalRewards.
func evalDefaultRewards(c *evalConfig) (*reward.Config, error) {
	name := c.Env
	if c.In != "" {
		name = ""
		for t, err := range rollout.ReadTrajectoryFile(c.In, nil) {
			if err == nil {
				name = t.Env
			}
			break // errors are reported when the file is read for the report
		}
	}
	if name != "" {
		cfg, err := env.Rewards(name)
		switch {
		case errors.Is(err, env.ErrUnknown) && c.In != "":
			// an environment of another build: fall through to eval's own defaults
		case err != nil:
			return nil, usageErrorf("%v (run \"retrain envs\" to list them)", err)
		case cfg != nil:
			return cfg, nil
		}
	}
	return defaultEvalRewards(), nil
}

// correctnessRewards are the reward functions a default pass criterion uses.
var correctnessRewards = reward.CorrectnessRewards

// inFlags are the flags that go with --in.
var inFlags = []string{"in", "rewards", "report", "pass-reward", "pass-threshold", "config", "quiet"}

func runEval(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(evalCommand, s.err)
	c := defaultEvalConfig()
	configPath := defineRolloutFlags(fs, &c.rolloutConfig)
	fs.StringVar(&c.Report, "report", "", "report JSON `file` (default: beside --out or --in, e.g. eval.jsonl → eval.report.json)")
	fs.StringVar(&c.PassReward, "pass-reward", "", "the reward component `name` whose score decides a pass (\"total\" for the total reward; default: the first rollout-level math_equal, exact_match or numeric component)")
	fs.Float64Var(&c.PassThreshold, "pass-threshold", c.PassThreshold, "an episode passes when its --pass-reward score is at least this")
	fs.StringVar(&c.In, "in", "", "report on this trajectories JSONL `file` (rescored) instead of running episodes")
	cfg := defaultEvalConfig()
	set, err := parseRunArgs(fs, args, configPath, &c, &cfg)
	if err != nil {
		return err
	}
	if cfg.In != "" {
		for _, name := range set {
			if !slices.Contains(inFlags, name) {
				return usageErrorf("--%s runs episodes, but --in reports on an existing file; with --in use only --%s", name, strings.Join(inFlags[1:], ", --"))
			}
		}
	} else if err := cfg.rolloutConfig.validate(); err != nil {
		return err
	}
	return doEval(ctx, &cfg, s)
}

func doEval(ctx context.Context, c *evalConfig, s stdio) error {
	rcfg, err := c.Rewards.config()
	if err != nil {
		return err
	}
	if rcfg == nil {
		if rcfg, err = evalDefaultRewards(c); err != nil {
			return err
		}
	}
	calc, err := newCalculator(rcfg)
	if err != nil {
		return err
	}
	defer calc.Close()
	pass, err := passComponent(rcfg, c.PassReward)
	if err != nil {
		return err
	}
	source := cmp.Or(c.In, c.Out)
	if c.Report == "" {
		c.Report = defaultReportPath(source)
	}
	if filepath.Clean(c.Report) == filepath.Clean(source) {
		return usageErrorf("--report %s would overwrite the trajectories: choose another file", c.Report)
	}
	var runErr error
	if c.In == "" {
		c.Rewards = rewardsSpec{Inline: rcfg}
		runErr = doRollout(ctx, &c.rolloutConfig, s)
		var allFailed *allFailedError
		if runErr != nil && !errors.As(runErr, &allFailed) {
			return runErr // no report of a run that did not finish
		}
	}
	rep, err := reportFile(ctx, source, calc, &report.Options{Pass: pass, Threshold: &c.PassThreshold}, s.err)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.Report, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if err := rep.WriteTable(s.out); err != nil {
		return err
	}
	fmt.Fprintf(s.err, "wrote the report to %s\n", c.Report)
	return runErr
}

// passComponent returns the component that decides a pass: name, checked,
// or the first rollout-level correctness component.
func passComponent(cfg *reward.Config, name string) (string, error) {
	names := componentNames(cfg)
	if name != "" {
		if !slices.Contains(names, name) {
			return "", usageErrorf("--pass-reward %q is not a reward component; use one of: %s", name, strings.Join(names, ", "))
		}
		return name, nil
	}
	if pass := correctnessComponent(cfg); pass != "" {
		return pass, nil
	}
	return "", usageErrorf("the rewards have no rollout-level %s component to decide which episodes pass: add one, or name the component with --pass-reward (one of: %s)",
		strings.Join(correctnessRewards, ", "), strings.Join(names, ", "))
}

// defaultReportPath is the report beside the trajectories file: x.jsonl →
// x.report.json.
func defaultReportPath(trajectories string) string {
	base := trajectories
	if ext := filepath.Ext(base); ext == ".jsonl" || ext == ".json" {
		base = strings.TrimSuffix(base, ext)
	}
	return base + ".report.json"
}

// reportFile scores every trajectory of the JSONL file at path again with
// calc (failed ones are not scored) and builds the report. A cut last line
// (a killed run) is skipped with a warning.
func reportFile(ctx context.Context, path string, calc *reward.Calculator, opts *report.Options, warn io.Writer) (*report.Report, error) {
	b := report.NewBuilder(opts)
	n := 0
	cut := func(line int, err error) {
		fmt.Fprintf(warn, "skipping the last line of %s (line %d): cut short (%v)\n", path, line, err)
	}
	// With group-level rewards (a group judge), the consecutive
	// trajectories of a task are scored as a group, as the rollout did.
	var group []*retrain.Trajectory
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		if err := calc.ScoreGroup(ctx, group); err != nil {
			return fmt.Errorf("score %s (task %s): %w", path, group[0].Task.ID, err)
		}
		for _, t := range group {
			b.Add(t)
			n++
		}
		group = group[:0]
		return nil
	}
	for t, err := range rollout.ReadTrajectoryFile(path, &rollout.ReadOptions{Cut: cut}) {
		var le *rollout.LineError
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, usageErrorf("%s does not exist", path)
		case errors.As(err, &le):
			return nil, usageErrorf("%s line %d is not a trajectory (%v): give a file written by \"retrain rollout\" or \"retrain eval\"", path, le.Line, le.Err)
		case err != nil:
			return nil, err
		}
		t.Rewards = nil
		if calc.GroupLevel() { // a group's samples are scored together
			if len(group) > 0 && group[0].Task.ID != t.Task.ID {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			group = append(group, t)
			continue
		}
		if !t.Failed() {
			if err := calc.Score(ctx, t); err != nil {
				return nil, fmt.Errorf("score %s (%s): %w", path, t.ID, err)
			}
		}
		b.Add(t)
		n++
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, usageErrorf("%s holds no trajectories", path)
	}
	return b.Report(), nil
}
