package env_test

import (
	"context"
	"errors"
	"testing"

	"github.com/retrain-rl/retrain"
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
