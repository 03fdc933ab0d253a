package rollout

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
)

// limitedEnv is a scriptEnv that declares a step limit and truncates
// itself there, like a Gymnasium environment under a TimeLimit.
type limitedEnv struct {
	scriptEnv
	limit int
}

func (e *limitedEnv) StepLimit() int { return e.limit }

var _ env.StepLimiter = (*limitedEnv)(nil)

func TestStepLimitOfTheEnvironment(t *testing.T) {
	for _, tt := range []struct {
		name     string
		maxTurns int
		want     int
		stop     retrain.StopReason
	}{
		{"the environment's limit", 0, 20, retrain.StopTruncated},
		{"the user's limit wins", 5, 5, retrain.StopMaxTurns},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &limitedEnv{scriptEnv: scriptEnv{truncateAt: 20}, limit: 20}
			tr, err := Run(context.Background(), e, textModel("go on"), &Options{MaxTurns: tt.maxTurns, Task: retrain.Task{Prompt: "play"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Turns) != tt.want || tr.StopReason != tt.stop {
				t.Errorf("%d turns, stop %q; want %d, %q (default limit %d)", len(tr.Turns), tr.StopReason, tt.want, tt.stop, DefaultMaxTurns)
			}
		})
	}
}

// taskFreeFactory makes scriptEnvs that need no task.
type taskFreeFactory struct{ env.Factory }

func (taskFreeFactory) TaskFree() bool { return true }

func TestTaskFreeEnvironmentsGetEmptyTasks(t *testing.T) {
	reg := env.NewRegistry()
	reg.MustRegister("game", "needs no task", func(json.RawMessage) (env.Factory, error) {
		return taskFreeFactory{env.FactoryFunc(func() (retrain.Environment, error) { return &scriptEnv{}, nil })}, nil
	})
	var generated, called bool
	var prompts []string
	p, err := Prepare(context.Background(), &Job{Env: "game", Generate: 3, Model: model.Endpoint{BaseURL: "fake"}}, &PrepareOptions{
		Envs: reg,
		OnTasks: func(tasks []retrain.Task, gen bool) {
			called, generated = true, gen
			for _, tk := range tasks {
				prompts = append(prompts, tk.ID+":"+tk.Prompt+":"+tk.Answer)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !called || generated {
		t.Errorf("OnTasks called %v with generated %v; want called, not as generated arithmetic tasks", called, generated)
	}
	if want := []string{"episode-1::", "episode-2::", "episode-3::"}; len(prompts) != 3 || prompts[0] != want[0] || prompts[2] != want[2] {
		t.Errorf("tasks %q, want %q", prompts, want)
	}
}
