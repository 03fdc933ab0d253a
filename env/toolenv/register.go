package toolenv

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/calculator"
)

// Registered names.
const (
	// Name is the general tool environment.
	Name = "tool"
	// CalculatorName is the calculator environment.
	CalculatorName = "calculator"
)

// CalculatorPrompt is the system prompt of the "calculator" environment,
// placed before the dialect's tool instructions.
const CalculatorPrompt = "You solve math problems step by step. Use the calculator tool for every " +
	"arithmetic operation instead of computing in your head. When you know the result, give the " +
	"final number alone inside <answer></answer> tags, e.g. <answer>42</answer>, without units."

func init() {
	env.MustRegisterSpec(env.NewSpec(Name,
		"multi-turn tool use with tools from the tool registry and MCP servers",
		func() Config { return Config{CommonConfig: DefaultCommonConfig()} }, construct))
	calc := env.NewSpec(CalculatorName,
		"arithmetic and word problems (e.g. GSM8K) with the calculator tool; final number in <answer>",
		DefaultCommonConfig, constructCalculator)
	calc.Rewards = CalculatorRewards()
	env.MustRegisterSpec(calc)
}

// CalculatorRewards returns the default rewards of the "calculator"
// environment, used when a run names none:
//
//	rollout:
//	  - name: correct       # 1 when the final answer equals the task's answer
//	    reward: math_equal  # exact arithmetic; GSM8K's "#### 72" is read as 72
//	    verifiers: [has_answer]
//	  - name: format        # the mean over the turns of 1 for output that parses
//	    reward: format
//	    weight: 0.1
//
// Both are rollout-level, scored once on the episode and given to its last
// turn, so a group's total rewards differ only where its episodes do. The
// has_answer verifier scores correct 0 unless the last turn marks its answer
// (<answer>, \boxed, ####): a number left in a tool call or in rambling
// text earns nothing. format weighs a tenth of correct: a well-formed wrong
// answer (0.1) stays far below a right one (1.1).
func CalculatorRewards() *reward.Config {
	return &reward.Config{Rollout: []reward.Component{
		{Name: "correct", Reward: "math_equal", Verifiers: []string{"has_answer"}},
		{Name: "format", Reward: "format", Weight: reward.Float(0.1)},
	}}
}

// DefaultCommonConfig returns the defaults of the common keys: the
// defaults of [Options].
func DefaultCommonConfig() CommonConfig {
	return CommonConfig{
		Dialect:              DefaultDialect,
		MaxSteps:             DefaultMaxSteps,
		InvalidActionPenalty: new(DefaultInvalidActionPenalty),
		ToolTimeout:          env.Duration(tool.DefaultTimeout),
	}
}

// CommonConfig holds the configuration keys both registered environments
// take.
type CommonConfig struct {
	// Dialect names the tool-calling format (see dialect.Names); default
	// "smolagent".
	Dialect string `json:"dialect" doc:"the tool-calling format (see retrain dialects)" access:"client"`
	// SystemPrompt replaces the environment's task framing.
	SystemPrompt string `json:"system_prompt" doc:"replaces the environment's task framing" access:"client"`
	// MaxSteps is the step limit (default 10).
	MaxSteps int `json:"max_steps" doc:"the step limit" access:"client"`
	// InvalidActionPenalty is the reward of an invalid step (default -0.1).
	InvalidActionPenalty *float64 `json:"invalid_action_penalty" doc:"the reward of an invalid step" access:"client"`
	// ToolTimeout bounds each tool call ("30s" or a number of seconds).
	ToolTimeout env.Duration `json:"tool_timeout" doc:"bounds each tool call (\"30s\" or a number of seconds)"`
}

// Config is the JSON configuration of the "tool" environment.
type Config struct {
	// Tools names the tools of tool.Default to offer; empty means all of
	// them, or none when MCP is set.
	Tools []string `json:"tools" doc:"the registered tools to offer; empty means all of them, or none when mcp is set"`
	// MCP adds the tools of MCP servers: the path of an mcpServers JSON file,
	// or the object {"mcpServers": {...}} inline. The servers start once per
	// run and every episode shares one session with each.
	MCP json.RawMessage `json:"mcp" doc:"MCP servers whose tools to add: the path of an mcpServers JSON file, or {\"mcpServers\": {...}} inline"`
	CommonConfig
}

// options turns the common keys into Options.
func (c *CommonConfig) options() (*Options, error) {
	o := &Options{
		SystemPrompt:         c.SystemPrompt,
		MaxSteps:             c.MaxSteps,
		InvalidActionPenalty: c.InvalidActionPenalty,
		ToolTimeout:          time.Duration(c.ToolTimeout),
	}
	if c.MaxSteps < 0 {
		return nil, fmt.Errorf("config key \"max_steps\" is %d; it must be positive (or 0 for the default, %d)", c.MaxSteps, DefaultMaxSteps)
	}
	if c.Dialect != "" {
		d, err := dialect.Get(c.Dialect)
		if err != nil {
			return nil, fmt.Errorf("config key \"dialect\": %w", err)
		}
		o.Dialect = d
	}
	return o, nil
}

func construct(c Config) (env.Factory, error) {
	o, err := c.options()
	if err != nil {
		return nil, err
	}
	var unknown []string
	for _, n := range c.Tools {
		if _, ok := tool.Lookup(n); !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	if len(unknown) > 0 {
		var avail []string
		for _, t := range tool.List() {
			avail = append(avail, t.Spec().Name)
		}
		list := strings.Join(avail, ", ")
		if list == "" {
			list = "none registered"
		}
		return nil, fmt.Errorf("config key \"tools\": unknown tool %s; available tools: %s", strings.Join(unknown, ", "), list)
	}
	if len(c.MCP) == 0 {
		o.Providers = []tool.Provider{tool.FromRegistry(tool.Default, c.Tools...)}
		return NewFactory(o), nil
	}
	if len(c.Tools) > 0 {
		o.Providers = []tool.Provider{tool.FromRegistry(tool.Default, c.Tools...)}
	}
	p, err := mcpProvider(c.MCP)
	if err != nil {
		return nil, err
	}
	o.Providers = append(o.Providers, p)
	return &closingFactory{Factory: NewFactory(o), mcp: p}, nil
}

func constructCalculator(c CommonConfig) (env.Factory, error) {
	o, err := c.options()
	if err != nil {
		return nil, err
	}
	if o.SystemPrompt == "" {
		o.SystemPrompt = CalculatorPrompt
	}
	o.Providers = []tool.Provider{tool.Static(calculator.New())}
	return NewFactory(o), nil
}
