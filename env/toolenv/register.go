package toolenv

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
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
	env.MustRegister(Name,
		"multi-turn tool use with tools from the tool registry and MCP servers (config: tools, mcp, dialect, system_prompt, max_steps, invalid_action_penalty, tool_timeout)",
		construct)
	env.MustRegister(CalculatorName,
		"arithmetic and word problems (e.g. GSM8K) with the calculator tool; final number in <answer> (config: dialect, system_prompt, max_steps, invalid_action_penalty, tool_timeout)",
		constructCalculator)
}

// CommonConfig holds the configuration keys both registered environments
// take.
type CommonConfig struct {
	// Dialect names the tool-calling format (see dialect.Names); default
	// "smolagent".
	Dialect string `json:"dialect"`
	// SystemPrompt replaces the environment's task framing.
	SystemPrompt string `json:"system_prompt"`
	// MaxSteps is the step limit (default 10).
	MaxSteps int `json:"max_steps"`
	// InvalidActionPenalty is the reward of an invalid step (default -0.1).
	InvalidActionPenalty *float64 `json:"invalid_action_penalty"`
	// ToolTimeout bounds each tool call ("30s" or a number of seconds).
	ToolTimeout env.Duration `json:"tool_timeout"`
}

// Config is the JSON configuration of the "tool" environment.
type Config struct {
	// Tools names the tools of tool.Default to offer; empty means all of
	// them, or none when MCP is set.
	Tools []string `json:"tools"`
	// MCP adds the tools of MCP servers: the path of an mcpServers JSON file,
	// or the object {"mcpServers": {...}} inline. The servers start once per
	// run and every episode shares one session with each.
	MCP json.RawMessage `json:"mcp"`
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

func construct(raw json.RawMessage) (env.Factory, error) {
	var c Config
	if err := env.DecodeConfig(raw, &c); err != nil {
		return nil, err
	}
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

func constructCalculator(raw json.RawMessage) (env.Factory, error) {
	var c CommonConfig
	if err := env.DecodeConfig(raw, &c); err != nil {
		return nil, err
	}
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
