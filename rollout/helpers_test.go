package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/model"
)

// modelFunc is a scripted model.
type modelFunc func(ctx context.Context, req model.Request) (model.Completion, error)

func (f modelFunc) Generate(ctx context.Context, req model.Request) (model.Completion, error) {
	return f(ctx, req)
}

// textModel replies with the given texts in turn (the last one repeated).
func textModel(texts ...string) model.Model {
	var mu sync.Mutex
	i := 0
	return modelFunc(func(ctx context.Context, req model.Request) (model.Completion, error) {
		mu.Lock()
		defer mu.Unlock()
		s := texts[min(i, len(texts)-1)]
		i++
		return model.Completion{Text: s, FinishReason: "stop", Usage: model.Usage{PromptTokens: 10, CompletionTokens: 3}}, nil
	})
}

// scriptEnv is a small multi-turn environment: an action whose text is
// "answer X" ends the episode with reward 1 when X is the task's answer;
// any other action is answered with feedback and reward -0.1.
type scriptEnv struct {
	noMessages bool  // return observations without messages
	truncateAt int   // truncate after this many steps (0: never)
	stepErr    error // returned by Step
	resetErr   error // returned by Reset
	panicStep  bool  // panic in Step
	toolSecs   float64

	task   retrain.Task
	conv   []retrain.Message
	steps  int
	closed int
	setups int
}

func (e *scriptEnv) Setup(ctx context.Context) error { e.setups++; return nil }
func (e *scriptEnv) Close() error                    { e.closed++; return nil }

func (e *scriptEnv) Reset(ctx context.Context, o retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.resetErr != nil {
		return retrain.Observation{}, nil, e.resetErr
	}
	e.task, e.steps = o.Task, 0
	e.conv = []retrain.Message{{Role: retrain.RoleUser, Content: o.Task.Prompt}}
	obs := retrain.Observation{Kind: retrain.ObsInitial, Content: o.Task.Prompt, RequiresAction: true,
		Tools: []retrain.ToolSpec{{Name: "calc", Description: "calculates"}}}
	if !e.noMessages {
		obs.Messages = e.conv
	}
	return obs, retrain.Info{"seed": o.Seed}, nil
}

func (e *scriptEnv) Step(ctx context.Context, a retrain.Action) (retrain.Step, error) {
	if e.panicStep {
		panic("scripted panic")
	}
	if e.stepErr != nil {
		return retrain.Step{}, e.stepErr
	}
	if err := ctx.Err(); err != nil {
		return retrain.Step{}, err
	}
	e.steps++
	e.conv = append(e.conv, retrain.Message{Role: retrain.RoleAssistant, Content: a.Raw})
	var st retrain.Step
	if ans, ok := strings.CutPrefix(a.Text, "answer "); ok {
		st.Terminated = true
		if ans == e.task.Answer {
			st.Reward = 1
		}
		st.Observation = retrain.Observation{Kind: retrain.ObsFinalAnswerFeedback, Content: "done"}
	} else {
		st.Reward = -0.1
		st.Observation = retrain.Observation{Kind: retrain.ObsEnvironmentState, Content: "say answer X", RequiresAction: true}
		st.Truncated = e.truncateAt > 0 && e.steps >= e.truncateAt
	}
	e.conv = append(e.conv, retrain.Message{Role: retrain.RoleUser, Content: st.Observation.Content})
	if !e.noMessages {
		st.Observation.Messages = e.conv
	}
	st.Info = retrain.Info{"step": e.steps}
	if e.toolSecs > 0 {
		st.Info["tool_seconds"] = e.toolSecs
	}
	return st, nil
}

// testDialect is a dialect that parses "call NAME" as a tool call.
type testDialect struct{ name string }

func (d testDialect) Name() string { return d.name }
func (d testDialect) SystemPrompt(tools []retrain.ToolSpec) string {
	return fmt.Sprintf("you have %d tools", len(tools))
}
func (d testDialect) Parse(text string, native []retrain.ToolCall) retrain.Action {
	if name, ok := strings.CutPrefix(text, "call "); ok {
		return retrain.Action{Kind: retrain.ActionToolCall, ToolCalls: []retrain.ToolCall{{Name: name}}, Raw: text}
	}
	return retrain.Action{Kind: retrain.ActionText, Text: text, Raw: text}
}
func (d testDialect) AssistantMessage(a retrain.Action) retrain.Message {
	return retrain.Message{Role: retrain.RoleAssistant, Content: "[" + a.Raw + "]"}
}
func (d testDialect) ToolResults(rs []retrain.ToolResult) []retrain.Message {
	return []retrain.Message{{Role: retrain.RoleUser, Content: "results"}}
}
func (d testDialect) Feedback(text string) retrain.Message {
	return retrain.Message{Role: retrain.RoleUser, Content: "feedback: " + text}
}

// dialectScriptEnv is a scriptEnv that names its dialect.
type dialectScriptEnv struct {
	scriptEnv
	d testDialect
}

func (e *dialectScriptEnv) Dialect() dialect.Dialect { return e.d }

var errServerDown = errors.New("server down")
