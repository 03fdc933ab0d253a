package reward

import (
	"math"
	"testing"

	"github.com/retrain-rl/retrain"
)

// scored returns a trajectory with two turns whose total is total.
func scored(total float64, failed bool) *retrain.Trajectory {
	t := &retrain.Trajectory{Rewards: &retrain.Rewards{
		Total: total,
		Turns: []retrain.TurnReward{{Reward: 0}, {Reward: total}},
	}}
	if failed {
		t.Error = "model server down"
	}
	return t
}

func TestAdvantages(t *testing.T) {
	eps := stdEpsilon
	nan := math.NaN()
	tests := []struct {
		name   string
		cfg    Config
		totals []float64
		failed []bool
		want   []float64 // NaN: no advantage
	}{
		{"grpo", Config{Advantage: AdvGRPO}, []float64{3, 1}, nil, []float64{1 / (1 + eps), -1 / (1 + eps)}},
		// mean 2, population std sqrt(8/3)
		{"grpo three", Config{Advantage: AdvGRPO}, []float64{0, 2, 4}, nil,
			[]float64{-2 / (math.Sqrt(8.0/3) + eps), 0, 2 / (math.Sqrt(8.0/3) + eps)}},
		// 1,0,0,1: mean 0.5, squared deviations 4×0.25 = 1; population
		// std sqrt(1/4) = 0.5, sample std sqrt(1/3) ≈ 0.577.
		{"grpo population by default", Config{Advantage: AdvGRPO}, []float64{1, 0, 0, 1}, nil,
			[]float64{0.5 / (0.5 + eps), -0.5 / (0.5 + eps), -0.5 / (0.5 + eps), 0.5 / (0.5 + eps)}},
		{"grpo population", Config{Advantage: AdvGRPO, Std: StdPopulation}, []float64{1, 0, 0, 1}, nil,
			[]float64{0.5 / (0.5 + eps), -0.5 / (0.5 + eps), -0.5 / (0.5 + eps), 0.5 / (0.5 + eps)}},
		{"grpo sample", Config{Advantage: AdvGRPO, Std: StdSample}, []float64{1, 0, 0, 1}, nil,
			[]float64{0.5 / (math.Sqrt(1.0/3) + eps), -0.5 / (math.Sqrt(1.0/3) + eps), -0.5 / (math.Sqrt(1.0/3) + eps), 0.5 / (math.Sqrt(1.0/3) + eps)}},
		// mean 2, sample std sqrt(8/2) = 2
		{"grpo sample three", Config{Advantage: AdvGRPO, Std: StdSample, ScaleByStd: new(true)}, []float64{0, 2, 4}, nil,
			[]float64{-2 / (2 + eps), 0, 2 / (2 + eps)}},
		{"grpo sample zero variance", Config{Advantage: AdvGRPO, Std: StdSample}, []float64{1, 1}, nil, []float64{0, 0}},
		{"grpo sample group of one", Config{Advantage: AdvGRPO, Std: StdSample}, []float64{1}, nil, []float64{0}},
		{"grpo unscaled", Config{Advantage: AdvGRPO, ScaleByStd: new(false)}, []float64{3, 1, 2}, nil, []float64{1, -1, 0}},
		{"grpo zero variance", Config{Advantage: AdvGRPO}, []float64{0.1, 0.1, 0.1}, nil, []float64{0, 0, 0}},
		{"grpo group of one", Config{Advantage: AdvGRPO}, []float64{5}, nil, []float64{0}},
		{"dr_grpo", Config{Advantage: AdvDrGRPO}, []float64{1, 0, 0, 1}, nil, []float64{0.5, -0.5, -0.5, 0.5}},
		{"rloo", Config{Advantage: AdvRLOO}, []float64{1, 2, 6}, nil, []float64{-3, -1.5, 4.5}},
		{"rloo group of one", Config{Advantage: AdvRLOO}, []float64{7}, nil, []float64{0}},
		{"rloo zero variance", Config{Advantage: AdvRLOO}, []float64{2, 2}, nil, []float64{0, 0}},
		{"failed left out", Config{Advantage: AdvDrGRPO}, []float64{1, 3, 100}, []bool{false, false, true}, []float64{-1, 1, nan}},
		{"only one left", Config{Advantage: AdvGRPO}, []float64{1, 3}, []bool{false, true}, []float64{0, nan}},
		{"none", Config{}, []float64{1, 3}, nil, []float64{nan, nan}},
	}
	for _, tt := range tests {
		calc, err := NewCalculator(&tt.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var group []*retrain.Trajectory
		for i, total := range tt.totals {
			group = append(group, scored(total, tt.failed != nil && tt.failed[i]))
		}
		group = append(group, nil, &retrain.Trajectory{}) // a nil and an unscored one are skipped
		calc.Advantages(group)
		for i, want := range tt.want {
			r := group[i].Rewards
			if math.IsNaN(want) {
				if r.Advantage != nil || r.Turns[0].Advantage != nil {
					t.Errorf("%s: trajectory %d got an advantage, want none", tt.name, i)
				}
				continue
			}
			if r.Advantage == nil {
				t.Errorf("%s: trajectory %d has no advantage", tt.name, i)
				continue
			}
			if got := *r.Advantage; math.IsNaN(got) || math.Abs(got-want) > 1e-9 {
				t.Errorf("%s: trajectory %d advantage = %v, want %v", tt.name, i, got, want)
			}
			for j, tr := range r.Turns {
				if tr.Advantage == nil || *tr.Advantage != *r.Advantage {
					t.Errorf("%s: trajectory %d turn %d advantage = %v, want %v", tt.name, i, j, tr.Advantage, *r.Advantage)
				}
			}
		}
	}
}

func TestAdvantagesClearStaleOnFailure(t *testing.T) {
	calc, _ := NewCalculator(&Config{Advantage: AdvDrGRPO}, nil)
	tr := scored(1, false)
	group := []*retrain.Trajectory{tr, scored(3, false)}
	calc.Advantages(group)
	if tr.Rewards.Advantage == nil {
		t.Fatal("no advantage")
	}
	tr.Error = "retried and failed"
	calc.Advantages(group)
	if tr.Rewards.Advantage != nil || tr.Rewards.Turns[1].Advantage != nil {
		t.Error("a failed trajectory kept its old advantage")
	}
}
