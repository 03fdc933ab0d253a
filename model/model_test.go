package model_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/retrain-rl/retrain/model"
)

type verdict bool

func (v verdict) Error() string   { return fmt.Sprintf("retryable=%v", bool(v)) }
func (v verdict) Retryable() bool { return bool(v) }

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"plain error", errors.New("connection refused"), true},
		{"permanent", verdict(false), false},
		{"permanent, wrapped", fmt.Errorf("episode: %w", verdict(false)), false},
		{"permanent, joined", errors.Join(errors.New("x"), verdict(false)), false},
		{"says retryable", fmt.Errorf("x: %w", verdict(true)), true},
		{"nil", nil, true},
	}
	for _, tt := range tests {
		if got := model.Retryable(tt.err); got != tt.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
