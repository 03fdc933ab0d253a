package grpo

import (
	"errors"
	"math"
	"testing"
)

// Validate names the wrong field, and defaults make the zero value valid.
func TestValidate(t *testing.T) {
	var zero Options
	if err := zero.defaults(); err != nil {
		t.Fatalf("the zero Options with defaults: %v", err)
	}
	good := zero
	if err := good.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	tests := []struct {
		field string
		set   func(*Options)
	}{
		{"Steps", func(o *Options) { o.Steps = 0 }},
		{"TasksPerStep", func(o *Options) { o.TasksPerStep = -1 }},
		{"SamplesPerTask", func(o *Options) { o.SamplesPerTask = 1 }},
		{"LearningRate", func(o *Options) { o.LearningRate = math.NaN() }},
		{"LearningRate", func(o *Options) { o.LearningRate = math.Inf(1) }},
		{"ClipRange", func(o *Options) { o.ClipRange = 1 }},
		{"KLCoef", func(o *Options) { o.KLCoef = -1 }},
		{"WeightDecay", func(o *Options) { o.WeightDecay = math.NaN() }},
		{"Updates", func(o *Options) { o.Updates = 0 }},
		{"MaxGradNorm", func(o *Options) { o.MaxGradNorm = 0 }},
		{"MaxEpisodeTokens", func(o *Options) { o.MaxEpisodeTokens = 0 }},
		{"MaxTurns", func(o *Options) { o.MaxTurns = 0 }},
		{"Temperature", func(o *Options) { o.Temperature = -1 }},
		{"EvalTasks", func(o *Options) { o.EvalTasks = 0 }},
		{"EvalSamples", func(o *Options) { o.EvalSamples = 0 }},
		{"Concurrency", func(o *Options) { o.Concurrency = -2 }},
		{"Seed", func(o *Options) { o.Seed = o.EvalSeed }},
	}
	for _, tt := range tests {
		o := good
		tt.set(&o)
		var oe *OptionError
		if err := o.Validate(); !errors.As(err, &oe) || oe.Field != tt.field {
			t.Errorf("%s: Validate() = %v, want an OptionError on %s", tt.field, err, tt.field)
		}
	}
	// No evaluation: the seed may then be the evaluation's.
	o := good
	o.EvalTasks, o.Seed = -1, o.EvalSeed
	if err := o.Validate(); err != nil {
		t.Errorf("no evaluation with the evaluation's seed: %v", err)
	}
	// A zero Concurrency is GOMAXPROCS, not an error.
	o = good
	o.Concurrency = 0
	if err := o.Validate(); err != nil {
		t.Errorf("Concurrency 0: %v", err)
	}
}
