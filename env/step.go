package env

import (
	"context"
	"fmt"
	"slices"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
)

// CheckStep makes the checks that come first in an environment's Step, in
// this order: the environment is not closed, an episode was reset, the
// episode has not ended, and ctx is not done. It returns nil when the step
// may go on, else an error that starts with pkg (the environment's package
// name, like "games") and wraps [retrain.ErrClosed],
// [retrain.ErrNotReset], [retrain.ErrEpisodeDone] or ctx's error.
//
//	if err := env.CheckStep(ctx, "mine", e.closed, e.reset, e.done); err != nil {
//		return retrain.Step{}, err
//	}
func CheckStep(ctx context.Context, pkg string, closed, reset, done bool) error {
	switch {
	case closed:
		return fmt.Errorf("%s: Step: %w", pkg, retrain.ErrClosed)
	case !reset:
		return fmt.Errorf("%s: %w", pkg, retrain.ErrNotReset)
	case done:
		return fmt.Errorf("%s: %w", pkg, retrain.ErrEpisodeDone)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: Step: %w", pkg, err)
	}
	return nil
}

// Opening returns the first messages of an episode, a system message (left
// out when system is empty) then the user's content, and the initial
// observation that shows them, for Reset to keep and return. The messages
// and the observation's copy of them share nothing; an environment with
// more to show (its tools) adds it to the observation.
//
//	e.messages, obs = env.Opening(e.system, task.Prompt)
func Opening(system, content string) ([]retrain.Message, retrain.Observation) {
	var msgs []retrain.Message
	if system != "" {
		msgs = append(msgs, retrain.Message{Role: retrain.RoleSystem, Content: system})
	}
	msgs = append(msgs, retrain.Message{Role: retrain.RoleUser, Content: content})
	return msgs, retrain.Observation{
		Kind:           retrain.ObsInitial,
		Content:        content,
		Messages:       slices.Clone(msgs),
		RequiresAction: true,
	}
}

// Reply appends a turn to the episode's messages: the model's action, and
// the environment's answer to it, content, as d writes them. It returns the
// messages and the observation that shows them; done says the episode has
// ended, so that no action is required.
//
//	e.messages, step.Observation = env.Reply(e.messages, e.dialect, action, content, step.Done())
func Reply(msgs []retrain.Message, d dialect.Dialect, action retrain.Action, content string, done bool) ([]retrain.Message, retrain.Observation) {
	msgs = append(msgs, d.AssistantMessage(action), d.Feedback(content))
	return msgs, retrain.Observation{
		Kind:           retrain.ObsEnvironmentState,
		Content:        content,
		Messages:       slices.Clone(msgs),
		RequiresAction: !done,
	}
}
