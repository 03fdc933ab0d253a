// Package code is the coding environment: the task is a problem with tests
// (HumanEval's prompt, entry_point and check function, or APPS /
// CodeContests stdin/stdout pairs, picked by the row's field names; see
// package reward/codetest); the model writes a solution (a fenced code block,
// or the dialect's answer), which runs against the tests in a bubblewrap
// sandbox. The step reward is 1 when every test passes (or, with
// "score": "fraction", the share passed), and the step's info says how many
// passed and why the first failure failed.
//
// With max_turns above 1 the model may first call the "python" tool to try
// things, up to the turn limit; "stateful" keeps the tool's variables
// between calls of an episode (like a notebook), closed at the episode's
// end. It registers itself as "code":
//
//	f, err := env.New("code", json.RawMessage(`{"max_turns": 4}`)) // an error says how to install bwrap
//	defer f.Close() // ends the warm sandboxes
//	e, _ := f.NewEnv()
//	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Task: humanEvalTask})
//	step, err := e.Step(ctx, e.(env.DialectEnv).Dialect().Parse(completion, nil))
//	// step.Reward == 1 when the solution passes; step.Info["result"] is
//	// "passed", "failed: …" or "timed out"
//
//	retrain rollout --env code --data HumanEval.jsonl --model URL
package code

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/reward/codetest"
	"github.com/retrain-rl/retrain/sandbox"
	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/python"
)

// Name is the name the environment is registered under.
const Name = "code"

// Defaults of [Config].
const (
	DefaultDialect              = "hermes"
	DefaultMaxTurns             = 1
	DefaultPoolSize             = 4
	DefaultInvalidActionPenalty = -0.1
	// MaxTurnsLimit is the largest max_turns a config may set.
	MaxTurnsLimit = 100
)

// Config is the environment's configuration.
type Config struct {
	// Dialect is the tool-calling format of multi-turn episodes; a plain
	// text reply is the answer in every dialect but smolagent, whose
	// answer goes in <answer> (a fenced code block is taken as the answer
	// there too).
	Dialect string `json:"dialect" doc:"the tool-calling format (see retrain dialects); the final answer is a fenced code block or the dialect's answer" access:"client"`
	// SystemPrompt replaces the default framing.
	SystemPrompt string `json:"system_prompt" doc:"replaces the default framing of the task" access:"client"`
	// MaxTurns is the turn limit: 1 is single-turn (no tools); more offers
	// the python tool to try code before answering.
	MaxTurns int `json:"max_turns" doc:"turns before the episode is truncated; 1 is single-turn, more offers the python tool to try code first" access:"client"`
	// Stateful keeps the python tool's variables between the calls of an
	// episode.
	Stateful bool `json:"stateful" doc:"the python tool keeps its variables between calls in an episode (a notebook); closed at the episode's end" access:"client"`
	// Score is the answer's reward: "all_pass" (1 or 0) or "fraction".
	Score string `json:"score" doc:"the answer's reward: all_pass (1 when every test passes, else 0) or fraction (the share passed)" access:"client"`
	// InvalidActionPenalty is the reward of a turn that could not be used.
	InvalidActionPenalty *float64 `json:"invalid_action_penalty" doc:"the reward of a turn that could not be used" access:"client"`
	// Timeout bounds each test run and each python call.
	Timeout env.Duration `json:"timeout" doc:"bounds each test run and each python tool call (\"10s\" or seconds)"`
	// MaxTests caps the stdin/stdout pairs run per answer.
	MaxTests int `json:"max_tests" doc:"the most stdin/stdout test pairs run per answer"`
	// PoolSize is how many sandboxes are kept started ahead.
	PoolSize int `json:"pool_size" doc:"sandboxes kept started ahead (the warm pool)"`
	// UnsafeNoSandbox runs the model's code without isolation.
	UnsafeNoSandbox bool `json:"unsafe_no_sandbox" doc:"UNSAFE: run the model's code as a plain process, without the bubblewrap sandbox (for machines without bwrap, and trusted code only)"`
}

func defaults() Config {
	return Config{
		Dialect:  DefaultDialect,
		MaxTurns: DefaultMaxTurns,
		Score:    "all_pass",
		Timeout:  env.Duration(codetest.DefaultTimeout),
		MaxTests: codetest.DefaultMaxTests,
		PoolSize: DefaultPoolSize,
	}
}

func init() {
	env.MustRegisterSpec(env.NewSpec(Name,
		"coding problems with tests (HumanEval, APPS/CodeContests stdin/stdout) run in a sandbox; optional python tool",
		defaults, construct))
}

func construct(c Config) (env.Factory, error) {
	switch {
	case c.MaxTurns < 0 || c.MaxTurns > MaxTurnsLimit:
		return nil, fmt.Errorf("config key \"max_turns\" is %d; it must be from 1 to %d", c.MaxTurns, MaxTurnsLimit)
	case c.Score != "all_pass" && c.Score != "fraction":
		return nil, fmt.Errorf("config key \"score\" is %q; use \"all_pass\" or \"fraction\"", c.Score)
	case c.Timeout < 0 || c.MaxTests < 0 || c.PoolSize < 0:
		return nil, fmt.Errorf("config keys \"timeout\", \"max_tests\" and \"pool_size\" must not be negative")
	}
	o := &Options{
		SystemPrompt:         c.SystemPrompt,
		MaxTurns:             c.MaxTurns,
		Stateful:             c.Stateful,
		Fraction:             c.Score == "fraction",
		InvalidActionPenalty: c.InvalidActionPenalty,
		Checker:              &codetest.CheckerOptions{Timeout: time.Duration(c.Timeout), MaxTests: c.MaxTests},
		Pool:                 &sandbox.PoolOptions{Size: c.PoolSize},
	}
	if c.Dialect != "" {
		d, err := dialect.Get(c.Dialect)
		if err != nil {
			return nil, fmt.Errorf("config key \"dialect\": %w", err)
		}
		o.Dialect = d
	}
	key := poolKey{timeout: time.Duration(c.Timeout), unsafe: c.UnsafeNoSandbox, size: c.PoolSize}
	sb, pool, release, err := sharedPools.acquire(key)
	if err != nil {
		return nil, fmt.Errorf("code: %w", err)
	}
	return newFactory(sb, pool, release, o), nil
}

// sharedPools holds the warm pools of the registered environment, one per
// operator configuration, shared by every factory built with it: a server
// that builds a factory per session (a client's config) starts one pool,
// not one per session. The last factory to close ends the pool.
var sharedPools = &poolSet{pools: map[poolKey]*sharedPool{}}

type poolKey struct {
	timeout time.Duration
	unsafe  bool
	size    int
}

type sharedPool struct {
	sb   *sandbox.Sandbox
	pool *sandbox.Pool
	refs int
}

type poolSet struct {
	mu    sync.Mutex
	pools map[poolKey]*sharedPool
}

// acquire returns the pool for k, starting it when none is open, and the
// function that gives it back.
func (ps *poolSet) acquire(k poolKey) (*sandbox.Sandbox, *sandbox.Pool, func() error, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	sp := ps.pools[k]
	if sp == nil {
		sb, err := sandbox.New(&sandbox.Options{UnsafeNoSandbox: k.unsafe, Limits: sandbox.Limits{Timeout: k.timeout}})
		if err != nil {
			return nil, nil, nil, err
		}
		// Lazy: warmed by the first environment made (NewEnv), so that a
		// factory built only to check a job (a distributed run's
		// coordinator, which plays no episode) starts no interpreter.
		sp = &sharedPool{sb: sb, pool: sandbox.NewPool(sb, &sandbox.PoolOptions{Size: k.size, Lazy: true})}
		ps.pools[k] = sp
	}
	sp.refs++
	var once sync.Once
	release := func() error {
		var err error
		once.Do(func() {
			ps.mu.Lock()
			sp.refs--
			last := sp.refs == 0
			if last {
				delete(ps.pools, k)
			}
			ps.mu.Unlock()
			if last {
				err = sp.pool.Close()
			}
		})
		return err
	}
	return sp.sb, sp.pool, release, nil
}

// Options configure the environment. Nil means defaults.
type Options struct {
	// Dialect is the format of tool calls and answers (default hermes).
	Dialect dialect.Dialect
	// SystemPrompt replaces the default framing.
	SystemPrompt string
	// MaxTurns is the turn limit (default 1: single-turn, no tools).
	MaxTurns int
	// Stateful gives each episode its own interpreter for the python tool.
	Stateful bool
	// Fraction makes the answer's reward the share of tests passed.
	Fraction bool
	// InvalidActionPenalty is the reward of an unusable turn (default -0.1).
	InvalidActionPenalty *float64
	// Checker configures the test runs.
	Checker *codetest.CheckerOptions
	// Pool configures the warm pool of sandboxes.
	Pool *sandbox.PoolOptions
}

// Factory makes the environments of a run; they share one sandbox and its
// warm pool. The registered environment's factories share one pool per
// operator configuration (timeout, pool_size, unsafe_no_sandbox), so that a
// server building a factory per session starts one.
type Factory struct {
	opts    Options
	penalty float64
	sb      *sandbox.Sandbox
	pool    *sandbox.Pool
	release func() error // gives the pool back
	checker *codetest.Checker
	tool    tool.Tool // the stateless python tool

	mu     sync.Mutex
	closed bool
}

// NewFactory makes the sandbox (sb configures it; an error wraps
// sandbox.ErrNoBwrap when bwrap is missing) and starts its warm pool.
func NewFactory(sb *sandbox.Options, opts *Options) (*Factory, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Dialect == nil {
		d, err := dialect.Get(DefaultDialect)
		if err != nil {
			return nil, err
		}
		o.Dialect = d
	}
	s, err := sandbox.New(sb)
	if err != nil {
		return nil, fmt.Errorf("code: %w", err)
	}
	pool := sandbox.NewPool(s, o.Pool)
	return newFactory(s, pool, pool.Close, &o), nil
}

// newFactory makes a factory over a sandbox and its pool; release gives
// the pool back when the factory closes.
func newFactory(s *sandbox.Sandbox, pool *sandbox.Pool, release func() error, opts *Options) *Factory {
	o := *opts
	if o.MaxTurns <= 0 {
		o.MaxTurns = DefaultMaxTurns
	}
	if o.Dialect == nil {
		o.Dialect, _ = dialect.Get(DefaultDialect)
	}
	f := &Factory{opts: o, penalty: DefaultInvalidActionPenalty, sb: s, pool: pool, release: release,
		checker: codetest.NewChecker(pool, o.Checker), tool: python.New(pool)}
	if o.InvalidActionPenalty != nil {
		f.penalty = *o.InvalidActionPenalty
	}
	return f
}

func (f *Factory) checkerMaxTests() int {
	if f.opts.Checker != nil && f.opts.Checker.MaxTests > 0 {
		return f.opts.Checker.MaxTests
	}
	return codetest.DefaultMaxTests
}

// NewEnv makes an environment for one episode at a time.
func (f *Factory) NewEnv() (retrain.Environment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, fmt.Errorf("code: NewEnv: %w", retrain.ErrClosed)
	}
	f.pool.Warm() // a lazy pool starts with the first episode's environment
	return &Env{f: f}, nil
}

// Close gives the warm pool back (ending it, unless other factories of
// the registered environment share it). It is safe to call more than once.
func (f *Factory) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return f.release()
}

// Env is one episode's coding environment. It is not safe for concurrent
// use.
type Env struct {
	f *Factory

	task     retrain.Task
	problem  codetest.Problem
	messages []retrain.Message
	turns    int
	session  *sandbox.Session
	py       tool.Tool // the stateful tool over session
	reset    bool
	done     bool
	closed   bool
}

var (
	_ env.DialectEnv   = (*Env)(nil)
	_ retrain.Renderer = (*Env)(nil)
)

// Dialect returns the dialect of the environment's prompts.
func (e *Env) Dialect() dialect.Dialect { return e.f.opts.Dialect }

// Setup does nothing: the sandbox belongs to the factory.
func (e *Env) Setup(ctx context.Context) error {
	if e.closed {
		return fmt.Errorf("code: Setup: %w", retrain.ErrClosed)
	}
	return ctx.Err()
}

func (e *Env) multiTurn() bool { return e.f.opts.MaxTurns > 1 }

// Reset starts an episode on a task whose metadata holds its tests; a task
// without tests is an error wrapping codetest.ErrNoTests. The info holds
// "layout" ("function" or "stdio"), "tests" and "max_turns".
func (e *Env) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed {
		return retrain.Observation{}, nil, fmt.Errorf("code: Reset: %w", retrain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("code: Reset: %w", err)
	}
	p, err := codetest.FromTask(opts.Task)
	if err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("code: task %q: %w", opts.Task.ID, err)
	}
	e.endSession()
	e.task, e.problem = opts.Task, p
	var specs []retrain.ToolSpec
	if e.multiTurn() {
		specs = []retrain.ToolSpec{python.Spec(e.f.opts.Stateful)}
	}
	system := e.f.opts.SystemPrompt
	if system == "" {
		system = e.framing()
	}
	if specs != nil {
		if dp := strings.TrimSpace(e.Dialect().SystemPrompt(specs)); dp != "" {
			system += "\n\n" + dp
		}
	}
	var obs retrain.Observation
	e.messages, obs = env.Opening(system, userPrompt(p))
	obs.Tools = specs
	e.turns = 0
	e.reset, e.done = true, false
	info := retrain.Info{"layout": string(p.Layout()), "max_turns": e.f.opts.MaxTurns}
	if p.Layout() == codetest.LayoutStdio {
		info["tests"] = min(len(p.Inputs), max(e.f.checkerMaxTests(), 1))
	}
	return obs, info, nil
}

// framing is the default system prompt.
func (e *Env) framing() string {
	s := "You are an expert Python programmer. Solve the problem, then give your complete solution in one ```python code block."
	if e.multiTurn() {
		s += fmt.Sprintf(" You may first run code with the python tool to test your ideas (you have %d turns in all); "+
			"your final reply, without a tool call, is your answer.", e.f.opts.MaxTurns)
	}
	return s
}

// userPrompt is the task as the model reads it.
func userPrompt(p codetest.Problem) string {
	if p.Layout() == codetest.LayoutFunction {
		return "Complete the following Python function. Reply with the whole function (imports included) in a ```python code block.\n\n```python\n" +
			strings.TrimRight(p.Prompt, "\n") + "\n```"
	}
	return strings.TrimSpace(p.Prompt) + "\n\nWrite a Python 3 program that reads the input from standard input and prints the answer to standard output. " +
		"Reply with the whole program in a ```python code block."
}

// Step applies one turn: tool calls run the python tool (multi-turn); any
// other reply is the answer, run against the tests. The answer's info holds
// "passed", "tests", "tests_passed", "fraction" and "result".
func (e *Env) Step(ctx context.Context, action retrain.Action) (retrain.Step, error) {
	if err := env.CheckStep(ctx, "code", e.closed, e.reset, e.done); err != nil {
		return retrain.Step{}, err
	}
	turn := e.turns + 1
	d := e.Dialect()
	var step retrain.Step
	var appended []retrain.Message
	info := retrain.Info{"turn": turn}
	answer, usable := e.answerText(action)
	switch {
	case e.multiTurn() && action.Kind == retrain.ActionToolCall && len(action.ToolCalls) > 0:
		results, err := e.runCalls(ctx, action.ToolCalls)
		if err != nil {
			return retrain.Step{}, fmt.Errorf("code: Step: %w", err)
		}
		feedback := d.ToolResults(results)
		appended = append([]retrain.Message{d.AssistantMessage(action)}, feedback...)
		var content []string
		for _, m := range feedback {
			content = append(content, m.Content)
		}
		step.Observation = retrain.Observation{Kind: retrain.ObsToolResult, Content: strings.Join(content, "\n"), ToolResults: results}
		info["tool_calls"] = len(results)
	case !usable && e.multiTurn():
		why := action.ParseError
		if why == "" {
			why = "the reply holds no code"
		}
		msg, _, _ := strings.Cut(why, ". Expected format: ")
		feedback := fmt.Sprintf("Your last message could not be used: %s. Call the python tool, or give your solution in a ```python code block.", strings.TrimRight(msg, ". "))
		appended = []retrain.Message{d.AssistantMessage(action), d.Feedback(feedback)}
		step.Observation = retrain.Observation{Kind: retrain.ObsEnvironmentState, Content: feedback}
		step.Reward = e.f.penalty
		info["parse_error"] = true
	default:
		out, err := e.f.checker.Check(ctx, e.problem, "\n"+codetest.Extract(answer))
		if err != nil {
			return retrain.Step{}, fmt.Errorf("code: Step: running the tests: %w", err)
		}
		switch {
		case e.f.opts.Fraction:
			step.Reward = out.Fraction()
		case out.Passed:
			step.Reward = 1
		}
		feedback := fmt.Sprintf("%d of %d tests passed: %s", out.TestsPassed, out.Tests, out.Result)
		appended = []retrain.Message{d.AssistantMessage(action)}
		step.Observation = retrain.Observation{Kind: retrain.ObsFinalAnswerFeedback, Content: feedback}
		step.Terminated = true
		info["passed"] = out.Passed
		info["tests"] = out.Tests
		info["tests_passed"] = out.TestsPassed
		info["fraction"] = out.Fraction()
		info["result"] = out.Result
	}
	e.turns = turn
	e.messages = append(e.messages, appended...)
	if !step.Terminated && e.turns >= e.f.opts.MaxTurns {
		step.Truncated = true
		info["result"] = fmt.Sprintf("no solution within %d turns", e.f.opts.MaxTurns)
	}
	e.done = step.Done()
	if e.done {
		e.endSession()
	}
	step.Observation.RequiresAction = !e.done
	step.Observation.Messages = slices.Clone(e.messages)
	if !e.done && e.multiTurn() {
		step.Observation.Tools = []retrain.ToolSpec{python.Spec(e.f.opts.Stateful)}
	}
	step.Info = info
	return step, nil
}

// answerText returns the text of the model's answer, and whether it can be
// used: the parsed answer, or, when the dialect could not parse the reply,
// the raw reply if it holds a fenced code block. Single-turn episodes use
// any reply.
func (e *Env) answerText(a retrain.Action) (string, bool) {
	text := a.Text
	if strings.TrimSpace(a.Raw) == strings.TrimSpace(text) {
		text = a.Raw // keep a bare function body's indentation
	}
	if a.ParseError != "" || a.Kind == retrain.ActionToolCall || strings.TrimSpace(text) == "" {
		text = a.Raw
		if e.multiTurn() && !strings.Contains(text, "```") {
			return text, false
		}
	}
	if e.multiTurn() && strings.TrimSpace(codetest.Extract(text)) == "" {
		return text, false
	}
	return text, true
}

// runCalls runs the python tool for each call; another tool name is a
// failed result. The error is non-nil only when ctx is done or the sandbox
// failed.
func (e *Env) runCalls(ctx context.Context, calls []retrain.ToolCall) ([]retrain.ToolResult, error) {
	results := make([]retrain.ToolResult, 0, len(calls))
	for i, c := range calls {
		id := c.ID
		if id == "" {
			id = fmt.Sprintf("call_%d_%d", e.turns+1, i)
		}
		if c.Name != python.Name {
			results = append(results, retrain.ToolResult{CallID: id, Name: c.Name,
				Error: fmt.Sprintf("unknown tool %q; the only tool is %q", c.Name, python.Name)})
			continue
		}
		t, err := e.pythonTool()
		if err != nil {
			return nil, err
		}
		res, err := tool.Invoke(ctx, t, json.RawMessage(c.Arguments), &tool.CallOptions{Timeout: 2 * e.f.sb.Limits().Timeout})
		if err != nil {
			return nil, err
		}
		res.CallID = id
		results = append(results, res)
	}
	return results, nil
}

// pythonTool returns the episode's python tool, starting its session when
// the episode is stateful.
func (e *Env) pythonTool() (tool.Tool, error) {
	if !e.f.opts.Stateful {
		return e.f.tool, nil
	}
	if e.session == nil {
		s, err := e.f.sb.NewSession()
		if err != nil {
			return nil, err
		}
		e.session = s
		e.py = python.NewStateful(s)
	}
	return e.py, nil
}

// endSession closes the episode's interpreter, if any.
func (e *Env) endSession() {
	if e.session != nil {
		e.session.Close()
		e.session, e.py = nil, nil
	}
}

// Render shows the conversation so far.
func (e *Env) Render() (string, error) {
	if !e.reset {
		return "", fmt.Errorf("code: Render: %w", retrain.ErrNotReset)
	}
	return env.RenderMessages(e.messages), nil
}

// Close ends the episode's interpreter; later calls return
// retrain.ErrClosed. It is safe to call more than once.
func (e *Env) Close() error {
	e.closed = true
	e.endSession()
	return nil
}
