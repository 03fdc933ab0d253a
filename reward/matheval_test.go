package reward

import (
	"errors"
	"math"
	"testing"
)

// Each function of one argument, at a point where its value is known.
func TestFuncValue(t *testing.T) {
	tests := []struct {
		name string
		args []float64
		want float64
	}{
		{"sin", []float64{math.Pi / 2}, 1},
		{"cos", []float64{0}, 1},
		{"tan", []float64{math.Pi / 4}, 1},
		{"sec", []float64{0}, 1},
		{"csc", []float64{math.Pi / 2}, 1},
		{"cot", []float64{math.Pi / 4}, 1},
		{"arcsin", []float64{1}, math.Pi / 2},
		{"arccos", []float64{1}, 0},
		{"arctan", []float64{1}, math.Pi / 4},
		{"sinh", []float64{1}, (math.E - 1/math.E) / 2},
		{"cosh", []float64{1}, (math.E + 1/math.E) / 2},
		{"tanh", []float64{0}, 0},
		{"exp", []float64{1}, math.E},
		{"ln", []float64{math.E}, 1},
		{"log", []float64{1000}, 3},
		{"log", []float64{8, 2}, 3},
	}
	for _, tt := range tests {
		args := make([]value, len(tt.args))
		for i, a := range tt.args {
			args[i] = value{f: a}
		}
		got, err := funcValue(tt.name, args, false)
		if err != nil {
			t.Errorf("%s%v: %v", tt.name, tt.args, err)
			continue
		}
		if !closeFloats(got.f, tt.want, 1e-12, 0) || got.exact {
			t.Errorf("%s%v = %+v, want %v (inexact)", tt.name, tt.args, got, tt.want)
		}
	}
}

func TestFuncValueUndefined(t *testing.T) {
	for _, tt := range []struct {
		name string
		x    float64
	}{
		{"nope", 1},   // unknown function
		{"ln", 0},     // -Inf
		{"cot", 0},    // +Inf
		{"arcsin", 2}, // NaN
	} {
		if v, err := funcValue(tt.name, []value{{f: tt.x}}, false); !errors.Is(err, errUndefined) {
			t.Errorf("%s(%v) = %+v, %v; want an undefined value", tt.name, tt.x, v, err)
		}
	}
}
