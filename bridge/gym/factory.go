package gym

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/games"
	"github.com/retrain-rl/retrain/internal/answer"
)

// Name is the name the environment is registered under.
const Name = "gym"

func init() {
	env.MustRegisterSpec(env.NewSpec(Name,
		"a Gymnasium-style Python environment in a subprocess, played through text (two-player ones against an opponent)",
		DefaultConfig, construct))
}

// DefaultConfig returns the defaults of the "gym" environment's
// configuration.
func DefaultConfig() Config {
	return Config{
		Python:               DefaultPython,
		InvalidActionPenalty: new(DefaultInvalidActionPenalty),
		StepTimeout:          env.Duration(DefaultTimeout),
		StartTimeout:         env.Duration(DefaultStartTimeout),
		OpponentConfig:       games.OpponentConfig{Opponent: games.OpponentRandom},
		ModelFirst:           games.First,
	}
}

// Factory makes environments that each run their own Python process, and
// share one opponent seat (two-player environments): package games' factory
// of environments at one seat.
type Factory = games.Factory

// NewFactory returns a factory of environments configured by opts.
func NewFactory(opts *Options) *Factory {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Seat = games.SeatedAt(o.Seat, o.Opponent, o.Epsilon).Seat()
	return games.NewSeatFactory("gym", o.Seat, func() retrain.Environment { return New(&o) })
}

// Config is the JSON configuration of the "gym" environment.
type Config struct {
	// Env is "module:factory" or a Gymnasium id (required).
	Env string `json:"env" doc:"\"module:factory\" or a Gymnasium id (required)"`
	// Kwargs are the keyword arguments of the factory or gymnasium.make.
	Kwargs json.RawMessage `json:"kwargs" doc:"the keyword arguments of the factory or gymnasium.make"`
	// Python is the interpreter (default "python3").
	Python string `json:"python" doc:"the Python interpreter"`
	// PythonPath lists directories prepended to $PYTHONPATH: an array, or
	// one string with entries separated as in $PATH. Relative entries are
	// relative to the working directory.
	PythonPath pathList `json:"pythonpath" doc:"directories prepended to $PYTHONPATH; relative ones are relative to the working directory"`
	// ActionNames name a Discrete space's actions in order (built in for
	// Gymnasium's toy-text ids: FrozenLake, Taxi, CliffWalking, Blackjack).
	ActionNames []string `json:"action_names" doc:"names of a Discrete space's actions in order (built in for Gymnasium's toy-text ids)" access:"client"`
	// InvalidActionPenalty is the reward of an invalid action (default -0.1).
	InvalidActionPenalty *float64 `json:"invalid_action_penalty" doc:"the reward of an invalid action" access:"client"`
	// StepTimeout bounds each reset and step (default 30s).
	StepTimeout env.Duration `json:"step_timeout" doc:"bounds each reset and step"`
	// StartTimeout bounds starting Python and making the environment
	// (default 60s).
	StartTimeout env.Duration `json:"start_timeout" doc:"bounds starting Python and making the environment"`
	// MaxSteps bounds the model's steps (default: the environment's
	// TimeLimit, max_episode_steps, when gymnasium.make gave it one, else
	// 100).
	MaxSteps int `json:"max_steps" doc:"bounds the model's steps; 0 means the environment's TimeLimit (max_episode_steps), else 100" access:"client"`
	// Dialect is the answer format: "smolagent" (default), "plain" or
	// another dialect's name.
	Dialect string `json:"dialect" doc:"the answer format: \"smolagent\" (default), \"plain\" or another dialect's name" access:"client"`
	// SystemPrompt replaces the framing paragraph of the system message.
	SystemPrompt string `json:"system_prompt" doc:"replaces the framing paragraph of the system message" access:"client"`
	// ResetOptions are passed as reset(options=…).
	ResetOptions json.RawMessage `json:"reset_options" doc:"passed as reset(options=...)"`
	// Two-player environments: the opponent ("random" or "model"),
	// epsilon, opponent_model, and model_first (true: the model is player
	// 0; false: player 1; "alternate": by seed).
	games.OpponentConfig
	ModelFirst games.Side `json:"model_first" doc:"two-player environments: which player the model is (true: player 0)" access:"client"`
}

// pathList is a list of paths written as a JSON array or one string.
type pathList []string

// DescribeType names the JSON forms of a path list, for config descriptions.
func (pathList) DescribeType() string {
	return "an array of strings, or one string with entries separated as in $PATH"
}

func (p *pathList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*p = filepath.SplitList(one)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New(`"pythonpath" must be a string or an array of strings`)
	}
	*p = list
	return nil
}

func construct(c Config) (env.Factory, error) {
	if strings.TrimSpace(c.Env) == "" {
		return nil, errors.New(`config key "env" is required: "module:factory" (a Python callable returning the environment) or a Gymnasium id such as "FrozenLake-v1"`)
	}
	if k := strings.TrimSpace(string(c.Kwargs)); k != "" && k != "null" && !strings.HasPrefix(k, "{") {
		return nil, fmt.Errorf("config key \"kwargs\" must be a JSON object of keyword arguments, got %s", k)
	}
	if r := strings.TrimSpace(string(c.ResetOptions)); r != "" && r != "null" && !strings.HasPrefix(r, "{") {
		return nil, fmt.Errorf("config key \"reset_options\" must be a JSON object, got %s", r)
	}
	if c.MaxSteps < 0 {
		return nil, fmt.Errorf("config key \"max_steps\" is %d; it must be positive (or 0 for the default, %d)", c.MaxSteps, DefaultMaxSteps)
	}
	python := c.Python
	if python == "" {
		python = DefaultPython
	}
	if _, err := exec.LookPath(python); err != nil {
		return nil, fmt.Errorf("config key \"python\": interpreter %q not found: install Python 3 or give its path: %w", python, err)
	}
	var paths []string
	for _, p := range c.PythonPath {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("config key \"pythonpath\": %w", err)
		}
		paths = append(paths, abs)
	}
	d, err := answer.Dialect(c.Dialect)
	if err != nil {
		return nil, fmt.Errorf("config key \"dialect\": %w", err)
	}
	opp, release, err := c.Build(false, 0)
	if err != nil {
		return nil, err
	}
	f := NewFactory(&Options{
		Env:    c.Env,
		Kwargs: c.Kwargs,
		Process: ProcessOptions{
			Python:       python,
			PythonPath:   paths,
			Timeout:      time.Duration(c.StepTimeout),
			StartTimeout: time.Duration(c.StartTimeout),
		},
		ActionNames:          c.ActionNames,
		InvalidActionPenalty: c.InvalidActionPenalty,
		MaxSteps:             c.MaxSteps,
		Dialect:              d,
		SystemPrompt:         c.SystemPrompt,
		ResetOptions:         c.ResetOptions,
		Opponent:             opp,
		Epsilon:              c.Epsilon,
		ModelSide:            c.ModelFirst,
	})
	f.OnClose(release)
	return f, nil
}
