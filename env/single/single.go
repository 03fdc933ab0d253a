// Package single is the single-turn environment: the model reads a prompt,
// answers once, and the episode ends. It keeps no state between episodes and
// offers no tools. It registers itself as "single_turn" (config:
// system_prompt).
//
//	e := single.New(&single.Options{
//		SystemPrompt: "Answer with a number.",
//		Reward: func(task retrain.Task, a retrain.Action) float64 {
//			if strings.TrimSpace(a.Text) == task.Answer {
//				return 1
//			}
//			return 0
//		},
//	})
//	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Task: retrain.Task{Prompt: "2+2?", Answer: "4"}})
//	step, err := e.Step(ctx, retrain.Action{Kind: retrain.ActionText, Text: "4"})
//	// step.Terminated == true, step.Reward == 1
package single

import (
	"context"
	"fmt"
	"slices"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
)

// Name is the name the environment is registered under.
const Name = "single_turn"

func init() {
	env.MustRegisterSpec(env.NewSpec(Name, "single-turn prompt and answer; no tools, no state", nil, construct))
}

// Config is the JSON configuration of the registered environment.
type Config struct {
	// SystemPrompt, when set, is sent as a system message before the prompt.
	SystemPrompt string `json:"system_prompt" doc:"sent as a system message before the prompt, when set" access:"client"`
}

func construct(c Config) (env.Factory, error) {
	opts := &Options{SystemPrompt: c.SystemPrompt}
	return env.FactoryFunc(func() (retrain.Environment, error) { return New(opts), nil }), nil
}

// Options configure the environment. The zero value works.
type Options struct {
	// SystemPrompt, when set, is sent as a system message before the prompt.
	SystemPrompt string
	// Reward, when set, scores the answer; it is the Step's reward. Nil means
	// a step reward of zero (a reward calculator scores the trajectory later).
	// It must be safe for concurrent use when environments share Options.
	Reward func(task retrain.Task, action retrain.Action) float64
}

// Env is the single-turn environment. It is not safe for concurrent use.
type Env struct {
	opts     Options
	task     retrain.Task
	messages []retrain.Message
	reset    bool
	done     bool
	closed   bool
}

var _ retrain.Renderer = (*Env)(nil)

// New returns a single-turn environment; nil opts means defaults.
func New(opts *Options) *Env {
	e := &Env{}
	if opts != nil {
		e.opts = *opts
	}
	return e
}

// Setup does nothing: the environment needs no resources.
func (e *Env) Setup(ctx context.Context) error {
	if e.closed {
		return retrain.ErrClosed
	}
	return ctx.Err()
}

// Reset starts an episode on opts.Task. The observation's messages are the
// system prompt (when configured) and the task's prompt as a user message.
func (e *Env) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed {
		return retrain.Observation{}, nil, fmt.Errorf("single: Reset: %w", retrain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("single: Reset: %w", err)
	}
	e.task = opts.Task
	var obs retrain.Observation
	e.messages, obs = env.Opening(e.opts.SystemPrompt, opts.Task.Prompt)
	e.reset, e.done = true, false
	return obs, retrain.Info{}, nil
}

// Step takes the model's answer and ends the episode, with the reward of
// Options.Reward. Any action is taken as the answer: a tool call or a parse
// error is scored like text (the reward function sees the whole action).
func (e *Env) Step(ctx context.Context, action retrain.Action) (retrain.Step, error) {
	if err := env.CheckStep(ctx, "single", e.closed, e.reset, e.done); err != nil {
		return retrain.Step{}, err
	}
	var reward float64
	if e.opts.Reward != nil {
		reward = e.opts.Reward(e.task, action)
	}
	content := action.Text
	if content == "" && action.Kind != retrain.ActionToolCall {
		content = action.Raw
	}
	e.messages = append(e.messages, retrain.Message{
		Role:      retrain.RoleAssistant,
		Content:   content,
		Reasoning: action.Reasoning,
		ToolCalls: slices.Clone(action.ToolCalls),
	})
	e.done = true
	return retrain.Step{
		Observation: retrain.Observation{
			Kind:     retrain.ObsFinalAnswerFeedback,
			Messages: slices.Clone(e.messages),
		},
		Reward:     reward,
		Terminated: true,
		Info:       retrain.Info{},
	}, nil
}

// Render shows the conversation so far as text.
func (e *Env) Render() (string, error) {
	if !e.reset {
		return "", fmt.Errorf("single: Render: %w", retrain.ErrNotReset)
	}
	return env.RenderMessages(e.messages), nil
}

// Close marks the environment closed; later calls return retrain.ErrClosed.
// It is safe to call more than once.
func (e *Env) Close() error {
	e.closed = true
	return nil
}
