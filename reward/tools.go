package reward

import (
	"context"
	"fmt"

	"github.com/retrain-rl/retrain"
)

// sampleTurns returns the turns a sample covers: its own turn for a
// step-level sample, every turn for a rollout-level one. Without a
// trajectory, a step-level sample's action stands alone.
func sampleTurns(s Sample) []retrain.Turn {
	t := s.Trajectory
	switch {
	case t != nil && s.RolloutLevel():
		return t.Turns
	case t != nil && s.Step < len(t.Turns):
		return t.Turns[s.Step : s.Step+1]
	case s.Action != nil:
		return []retrain.Turn{{Action: *s.Action}}
	}
	return nil
}

// toolCounts counts the tool calls in turns and how many succeeded. A call
// with no result (an unknown tool the environment refused) counts as failed.
func toolCounts(turns []retrain.Turn) (calls, ok int) {
	for _, t := range turns {
		results := t.Observation.ToolResults
		calls += max(len(t.Action.ToolCalls), len(results))
		for _, r := range results {
			if r.Success {
				ok++
			}
		}
	}
	return calls, ok
}

// toolSuccessParams are tool_success's parameters.
type toolSuccessParams struct {
	// IfNone is the score when no tool was called (default 1: nothing failed).
	IfNone *float64 `json:"if_none"`
}

// newToolSuccess scores the share of tool calls that succeeded.
func newToolSuccess(p toolSuccessParams) (Func, error) {
	ifNone := 1.0
	if p.IfNone != nil {
		ifNone = *p.IfNone
	}
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		calls, ok := toolCounts(sampleTurns(s))
		if calls == 0 {
			return Score{Value: ifNone, Detail: "no tool calls"}, nil
		}
		return Score{Value: float64(ok) / float64(calls), Detail: fmt.Sprintf("%d of %d tool calls succeeded", ok, calls)}, nil
	}), nil
}

// toolUsedParams are tool_used's parameters.
type toolUsedParams struct {
	// Tool, when set, requires a call of that tool in particular.
	Tool string `json:"tool"`
}

// newToolUsed scores 1 when a tool (or the named tool) was called.
func newToolUsed(p toolUsedParams) (Func, error) {
	return ScoreFunc(func(ctx context.Context, s Sample) (Score, error) {
		for _, t := range sampleTurns(s) {
			for _, c := range t.Action.ToolCalls {
				if p.Tool == "" || c.Name == p.Tool {
					return Score{Value: 1, Detail: "called " + c.Name}, nil
				}
			}
		}
		return Score{Detail: "no tool called"}, nil
	}), nil
}
