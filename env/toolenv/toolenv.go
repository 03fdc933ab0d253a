// Package toolenv is the multi-turn tool environment (the seed's
// SmolAgentEnv): the model calls tools, sees their results, and ends the
// episode with a final text answer.
//
// Each turn the model's completion, parsed by the environment's dialect
// (see [Env.Dialect]), is one of:
//
//   - tool calls: each runs in order and its result is appended to the
//     conversation, formatted by the dialect; the episode goes on;
//   - text: the final answer; the episode terminates with the reward of
//     Options.AnswerReward (zero by default: a reward calculator scores the
//     answer later);
//   - unparsable output: corrective feedback naming the problem, and the
//     invalid-action penalty; the episode goes on.
//
// Calls to unknown tools and calls with invalid arguments also earn the
// penalty (once per step). After Options.MaxSteps steps without an answer the
// episode is truncated.
//
//	f := toolenv.NewFactory(&toolenv.Options{
//		Providers: []tool.Provider{tool.Static(calculator.New())},
//	})
//	defer f.Close()
//	e, _ := f.NewEnv() // one per concurrent episode; the tool set is shared
//	defer e.Close()
//	if err := e.Setup(ctx); err != nil { ... }
//	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Task: task})
//	action := e.(env.DialectEnv).Dialect().Parse(completion.Text, completion.ToolCalls)
//	step, err := e.Step(ctx, action)
//
// The package registers two environments: "tool" (config: tools, mcp,
// dialect, system_prompt, max_steps, invalid_action_penalty, tool_timeout;
// "mcp" is an mcpServers file or object whose servers' tools are offered) and
// "calculator" (the calculator tool only, with a prompt for arithmetic word
// problems such as GSM8K).
package toolenv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/tool"
)

// Defaults of [Options].
const (
	// DefaultDialect is the dialect used when Options.Dialect is nil.
	DefaultDialect = "smolagent"
	// DefaultMaxSteps is the step limit when Options.MaxSteps is zero.
	DefaultMaxSteps = 10
	// DefaultInvalidActionPenalty is the step reward of an invalid action
	// when Options.InvalidActionPenalty is nil. It is small next to a
	// correct answer's reward (usually 1) so that it shapes the format
	// without drowning the task.
	DefaultInvalidActionPenalty = -0.1
)

// Options configure the environment. Nil means defaults; the zero value of
// each field means its default.
type Options struct {
	// Providers offer the tools; they are asked once, in Setup (by the first
	// Setup of a Factory's environments).
	Providers []tool.Provider
	// Dialect is the tool-calling format of prompts and completions; nil
	// means the "smolagent" dialect.
	Dialect dialect.Dialect
	// SystemPrompt frames the task; it is placed before the dialect's tool
	// instructions in the system message.
	SystemPrompt string
	// MaxSteps is how many steps an episode may take before it is
	// truncated (default 10).
	MaxSteps int
	// InvalidActionPenalty is the step reward of a step with unparsable
	// output, an unknown tool or invalid arguments. Nil means
	// DefaultInvalidActionPenalty (-0.1); use new(0.0) for none.
	InvalidActionPenalty *float64
	// ToolTimeout bounds each tool call; a call that runs longer fails with
	// a tool error the model sees. Zero means tool.DefaultTimeout.
	ToolTimeout time.Duration
	// AnswerReward, when set, is the step reward of the final answer (the
	// text of the last action). Nil means zero. It must be safe for
	// concurrent use when a Factory's environments share it.
	AnswerReward func(task retrain.Task, answer string) float64
}

// Env is one episode's tool environment. It is not safe for concurrent use;
// make one per concurrent episode (see [NewFactory]).
type Env struct {
	opts    Options
	penalty float64
	dialect dialect.Dialect
	initErr error // a default dialect that could not be found
	source  *toolSource
	tools   *toolSet // set by Setup

	// The episode.
	task     retrain.Task
	messages []retrain.Message
	steps    int
	callIDs  map[string]bool
	reset    bool
	done     bool
	closed   bool
}

var (
	_ env.DialectEnv   = (*Env)(nil)
	_ retrain.Renderer = (*Env)(nil)
)

// New returns an environment with its own tools, collected in Setup. Use
// [NewFactory] to share one tool set between the environments of a run.
func New(opts *Options) *Env {
	var o Options
	if opts != nil {
		o = *opts
	}
	return newEnv(o, newToolSource(o.Providers))
}

func newEnv(o Options, source *toolSource) *Env {
	e := &Env{opts: o, source: source, dialect: o.Dialect}
	if e.opts.MaxSteps <= 0 {
		e.opts.MaxSteps = DefaultMaxSteps
	}
	e.penalty = DefaultInvalidActionPenalty
	if o.InvalidActionPenalty != nil {
		e.penalty = *o.InvalidActionPenalty
	}
	if e.dialect == nil {
		d, err := dialect.Get(DefaultDialect)
		if err != nil {
			e.initErr = fmt.Errorf("toolenv: default dialect: %w", err)
		}
		e.dialect = d
	}
	return e
}

// Dialect returns the dialect in which the environment's prompts are
// written and in which completions must be parsed.
func (e *Env) Dialect() dialect.Dialect { return e.dialect }

// Tools returns the specs of the available tools; it is empty before Setup.
func (e *Env) Tools() []retrain.ToolSpec {
	if e.tools == nil {
		return nil
	}
	return slices.Clone(e.tools.specs)
}

// Setup collects the tools from the providers. Environments of one Factory
// collect once and share the result, so their Setup is cheap after the
// first. Reset calls Setup when it has not been called.
func (e *Env) Setup(ctx context.Context) error {
	if e.closed {
		return fmt.Errorf("toolenv: Setup: %w", retrain.ErrClosed)
	}
	if e.initErr != nil {
		return e.initErr
	}
	if e.tools != nil {
		return nil
	}
	ts, err := e.source.get(ctx)
	if err != nil {
		return fmt.Errorf("toolenv: Setup: %w", err)
	}
	e.tools = ts
	return nil
}

// Reset starts an episode: the conversation is a system message (the
// configured prompt, then the dialect's tool instructions) and the task's
// prompt as a user message. Its info holds "tools" (the tools' names),
// "dialect" (the dialect's name, for clients of the server's sessions; a
// rollout records it as Trajectory.Dialect) and "max_steps".
func (e *Env) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed {
		return retrain.Observation{}, nil, fmt.Errorf("toolenv: Reset: %w", retrain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("toolenv: Reset: %w", err)
	}
	if err := e.Setup(ctx); err != nil {
		return retrain.Observation{}, nil, err
	}
	var system []string
	if p := strings.TrimSpace(e.opts.SystemPrompt); p != "" {
		system = append(system, p)
	}
	if p := strings.TrimSpace(e.dialect.SystemPrompt(e.tools.specs)); p != "" {
		system = append(system, p)
	}
	e.task = opts.Task
	var obs retrain.Observation
	e.messages, obs = env.Opening(strings.Join(system, "\n\n"), opts.Task.Prompt)
	obs.Tools = slices.Clone(e.tools.specs)
	e.steps = 0
	e.callIDs = map[string]bool{}
	e.reset, e.done = true, false
	return obs, retrain.Info{
		"tools":     e.tools.names,
		"dialect":   e.dialect.Name(),
		"max_steps": e.opts.MaxSteps,
	}, nil
}

// Step applies one action; see the package documentation for what each kind
// of action does. The step's Info holds "tool_calls" (calls made),
// "tool_errors" (failed results, unknown tools and invalid arguments
// included), "invalid_calls" (unknown tools and invalid arguments),
// "parse_error" (whether the output could not be used), "tool_seconds"
// (wall time spent in tools) and "step" (the step's number, from 1).
//
// A cancelled ctx makes Step return an error wrapping ctx.Err() and leaves
// the episode as it was before the call.
func (e *Env) Step(ctx context.Context, action retrain.Action) (retrain.Step, error) {
	if err := env.CheckStep(ctx, "toolenv", e.closed, e.reset, e.done); err != nil {
		return retrain.Step{}, err
	}
	turn := e.steps + 1
	info := retrain.Info{"tool_calls": 0, "tool_errors": 0, "invalid_calls": 0, "parse_error": false, "tool_seconds": 0.0}
	var (
		step     retrain.Step
		appended []retrain.Message
		newIDs   []string
	)
	problem := action.ParseError
	if problem == "" {
		switch {
		case action.Kind == retrain.ActionToolCall && len(action.ToolCalls) == 0:
			problem = "a tool call without any call in it"
		case action.Kind != retrain.ActionToolCall && action.Kind != retrain.ActionText:
			problem = fmt.Sprintf("unknown action kind %q", action.Kind)
		}
	}
	switch {
	case problem != "":
		feedback := fmt.Sprintf("Your last message could not be used: %s. Reply with either a tool call or a final answer, exactly in the format described in the system prompt.", strings.TrimRight(problem, ". "))
		appended = []retrain.Message{e.dialect.AssistantMessage(action), e.dialect.Feedback(feedback)}
		step.Observation = retrain.Observation{Kind: retrain.ObsEnvironmentState, Content: feedback}
		step.Reward = e.penalty
		info["parse_error"] = true

	case action.Kind == retrain.ActionToolCall:
		action.ToolCalls, newIDs = e.uniqueIDs(turn, action.ToolCalls)
		results, stats, err := e.runCalls(ctx, action.ToolCalls)
		if err != nil {
			return retrain.Step{}, fmt.Errorf("toolenv: Step: %w", err)
		}
		feedback := e.dialect.ToolResults(results)
		appended = append([]retrain.Message{e.dialect.AssistantMessage(action)}, feedback...)
		var content []string
		for _, m := range feedback {
			content = append(content, m.Content)
		}
		step.Observation = retrain.Observation{
			Kind:        retrain.ObsToolResult,
			Content:     strings.Join(content, "\n"),
			ToolResults: results,
		}
		if stats.invalid > 0 {
			step.Reward = e.penalty
		}
		info["tool_calls"] = len(results)
		info["tool_errors"] = stats.failed
		info["invalid_calls"] = stats.invalid
		info["tool_seconds"] = stats.elapsed.Seconds()

	default: // a final answer
		appended = []retrain.Message{e.dialect.AssistantMessage(action)}
		step.Observation = retrain.Observation{Kind: retrain.ObsFinalAnswerFeedback}
		if e.opts.AnswerReward != nil {
			step.Reward = e.opts.AnswerReward(e.task, action.Text)
		}
		step.Terminated = true
	}

	// Commit: nothing above changed the episode.
	e.steps = turn
	e.messages = append(e.messages, appended...)
	for _, id := range newIDs {
		e.callIDs[id] = true
	}
	if !step.Terminated && e.steps >= e.opts.MaxSteps {
		step.Truncated = true
	}
	e.done = step.Done()
	step.Observation.RequiresAction = !e.done
	step.Observation.Messages = slices.Clone(e.messages)
	if !e.done {
		step.Observation.Tools = slices.Clone(e.tools.specs)
	}
	info["step"] = e.steps
	step.Info = info
	return step, nil
}

// uniqueIDs returns a copy of calls in which every call has an id not used
// before in the episode: a missing or repeated id (text dialects number their
// calls per turn) becomes "call_<turn>_<i>". It also returns the ids, to be
// recorded when the step commits.
func (e *Env) uniqueIDs(turn int, calls []retrain.ToolCall) ([]retrain.ToolCall, []string) {
	out := slices.Clone(calls)
	ids := make([]string, 0, len(out))
	taken := func(id string) bool { return e.callIDs[id] || slices.Contains(ids, id) }
	for i := range out {
		if out[i].ID == "" || taken(out[i].ID) {
			id := fmt.Sprintf("call_%d_%d", turn, i)
			for n := 1; taken(id); n++ {
				id = fmt.Sprintf("call_%d_%d_%d", turn, i, n)
			}
			out[i].ID = id
		}
		ids = append(ids, out[i].ID)
	}
	return out, ids
}

type callStats struct {
	failed, invalid int
	elapsed         time.Duration
}

// runCalls runs calls in order. An unknown tool or invalid arguments is a
// failed result (and counts as invalid); the tool is not run. The error is
// non-nil only when ctx is done.
func (e *Env) runCalls(ctx context.Context, calls []retrain.ToolCall) ([]retrain.ToolResult, callStats, error) {
	var stats callStats
	results := make([]retrain.ToolResult, 0, len(calls))
	callOpts := &tool.CallOptions{Timeout: e.opts.ToolTimeout}
	start := time.Now()
	for _, c := range calls {
		var res retrain.ToolResult
		if _, ok := e.tools.set.Lookup(c.Name); !ok {
			stats.invalid++
		} else if verr := e.tools.validate(c.Name, c.Arguments); verr != nil {
			stats.invalid++
			res = retrain.ToolResult{CallID: c.ID, Name: c.Name, Error: verr.Error()}
			results = append(results, res)
			stats.failed++
			continue
		}
		res, err := e.tools.set.Call(ctx, c, callOpts)
		if err != nil {
			return nil, stats, err
		}
		if res.CallID == "" {
			res.CallID = c.ID
		}
		if !res.Success {
			stats.failed++
		}
		results = append(results, res)
	}
	stats.elapsed = time.Since(start)
	return results, stats, nil
}

// Render shows the conversation so far as text.
func (e *Env) Render() (string, error) {
	if !e.reset {
		return "", fmt.Errorf("toolenv: Render: %w", retrain.ErrNotReset)
	}
	return env.RenderMessages(e.messages), nil
}

// Close ends the environment; later calls return retrain.ErrClosed. The
// tools belong to the providers (and a Factory's tools to the Factory), so
// Close releases nothing else. It is safe to call more than once.
func (e *Env) Close() error {
	e.closed = true
	return nil
}
