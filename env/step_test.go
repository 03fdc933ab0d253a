package env_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
)

func TestCheckStep(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name                string
		ctx                 context.Context
		closed, reset, done bool
		want                error // nil: the step may go on
		msg                 string
	}{
		{"ready", t.Context(), false, true, false, nil, ""},
		{"closed first", canceled, true, false, true, retrain.ErrClosed, "mine: Step: " + retrain.ErrClosed.Error()},
		{"not reset", canceled, false, false, true, retrain.ErrNotReset, "mine: " + retrain.ErrNotReset.Error()},
		{"done", canceled, false, true, true, retrain.ErrEpisodeDone, "mine: " + retrain.ErrEpisodeDone.Error()},
		{"canceled", canceled, false, true, false, context.Canceled, "mine: Step: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := env.CheckStep(tt.ctx, "mine", tt.closed, tt.reset, tt.done)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckStep = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || err.Error() != tt.msg {
				t.Errorf("CheckStep = %v, want %q wrapping %v", err, tt.msg, tt.want)
			}
		})
	}
}

// checkTurn checks what Opening or Reply returned: the messages, an
// observation that shows a copy of them, its kind, content and whether it
// requires an action.
func checkTurn(t *testing.T, msgs []retrain.Message, obs retrain.Observation, want []retrain.Message, kind retrain.ObservationKind, content string, requires bool) {
	t.Helper()
	if !reflect.DeepEqual(msgs, want) || !reflect.DeepEqual(obs.Messages, want) {
		t.Fatalf("messages = %+v, observation's = %+v; want %+v", msgs, obs.Messages, want)
	}
	if obs.Kind != kind || obs.Content != content || obs.RequiresAction != requires {
		t.Errorf("observation = %+v; want kind %q, content %q, RequiresAction %v", obs, kind, content, requires)
	}
	first := msgs[0].Content
	msgs[0].Content = "changed"
	if obs.Messages[0].Content != first {
		t.Error("the observation shares its messages with the episode's")
	}
	msgs[0].Content = first
}

func TestOpening(t *testing.T) {
	sys := retrain.Message{Role: retrain.RoleSystem, Content: "be brief"}
	user := retrain.Message{Role: retrain.RoleUser, Content: "2+2?"}
	msgs, obs := env.Opening("be brief", "2+2?")
	checkTurn(t, msgs, obs, []retrain.Message{sys, user}, retrain.ObsInitial, "2+2?", true)
	msgs, obs = env.Opening("", "2+2?")
	checkTurn(t, msgs, obs, []retrain.Message{user}, retrain.ObsInitial, "2+2?", true)
}

func TestReply(t *testing.T) {
	d, err := dialect.Get("smolagent")
	if err != nil {
		t.Fatal(err)
	}
	start, _ := env.Opening("sys", "go")
	action := retrain.Action{Kind: retrain.ActionText, Text: "left", Raw: "left"}
	msgs, obs := env.Reply(slices.Clone(start), d, action, "you moved left", false)
	want := append(slices.Clone(start), d.AssistantMessage(action), d.Feedback("you moved left"))
	checkTurn(t, msgs, obs, want, retrain.ObsEnvironmentState, "you moved left", true)
	msgs, obs = env.Reply(slices.Clone(start), d, action, "the end", true)
	want = append(slices.Clone(start), d.AssistantMessage(action), d.Feedback("the end"))
	checkTurn(t, msgs, obs, want, retrain.ObsEnvironmentState, "the end", false)
}
