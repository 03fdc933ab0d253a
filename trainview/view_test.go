package trainview

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
)

// turn builds a turn with prompt ids, completion ids and log-probs.
func turn(prompt, ids []int32, lps []float64) retrain.Turn {
	tu := retrain.Turn{PromptTokenIDs: prompt, FinishReason: retrain.FinishStop}
	if ids != nil {
		tu.Action.Tokens = &retrain.Tokens{IDs: ids, Logprobs: lps}
		tu.Action.Raw = strings.Repeat("x", len(ids))
	}
	return tu
}

// traj builds a scored trajectory of turns with a group advantage.
func traj(adv float64, turns ...retrain.Turn) *retrain.Trajectory {
	t := &retrain.Trajectory{ID: "t1#2", Task: retrain.Task{ID: "t1"}, Sample: 2, Turns: turns, StopReason: retrain.StopTerminated,
		Rewards: &retrain.Rewards{Total: 1, Advantage: &adv}}
	for range turns {
		t.Rewards.Turns = append(t.Rewards.Turns, retrain.TurnReward{})
	}
	return t
}

func TestSequencesOneSequenceWhilePrefixHolds(t *testing.T) {
	temp, seed := 0.7, int64(9)
	t0 := turn([]int32{1, 2, 3}, []int32{10, 11}, []float64{-0.5, -0.25})
	t0.Sampling = &retrain.TurnSampling{Temperature: &temp, MaxTokens: 64, Seed: &seed}
	t0.PolicyVersion, t0.LogprobsMode = "m@abc", "raw"
	// Turn 1's prompt: turn 0's prompt and completion, then environment tokens 20, 21.
	t1 := turn([]int32{1, 2, 3, 10, 11, 20, 21}, []int32{12}, []float64{-1})
	t1.PrefixMatch = new(true)
	t1.FinishReason = retrain.FinishLength
	tr := traj(0.5, t0, t1)
	seqs, err := Sequences(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Sequence{{
		EpisodeID: "t1#2", GroupID: "t1", TaskID: "t1", Sample: 2, Part: 0,
		InputIDs:    []int32{1, 2, 3, 10, 11, 20, 21, 12},
		LossMask:    []uint8{0, 0, 0, 1, 1, 0, 0, 1},
		OldLogprobs: []float32{0, 0, 0, -0.5, -0.25, 0, 0, -1},
		Advantages:  []float32{0, 0, 0, 0.5, 0.5, 0, 0, 0.5},
		Reward:      1, PolicyVersion: "m@abc", LogprobsMode: "raw", Sampling: t0.Sampling,
		FirstTurn: 0, TurnStarts: []int32{3, 7}, TurnEnds: []int32{5, 8}, FinishReasons: []string{"stop", "length"},
		StopReason: "terminated",
	}}
	if d := cmp.Diff(want, seqs); d != "" {
		t.Errorf("sequences (-want +got):\n%s", d)
	}
	// The sequence shares no memory with the trajectory.
	seqs[0].InputIDs[0] = 99
	seqs[0].Sampling.MaxTokens = 1
	if tr.Turns[0].PromptTokenIDs[0] != 1 || t0.Sampling.MaxTokens != 64 {
		t.Error("the sequence shares memory with the trajectory")
	}
}

// Where a prompt does not extend the previous prompt and completion, a new
// part starts with that prompt whole; the ids decide, not the flag.
func TestSequencesSplitWhereThePrefixBreaks(t *testing.T) {
	t0 := turn([]int32{1, 2}, []int32{10, 11}, []float64{-1, -2})
	t1 := turn([]int32{1, 2, 10, 99, 5}, []int32{12}, []float64{-3}) // 99: the template re-rendered 11
	t1.PrefixMatch = new(true)                                       // wrong, by hand: the ids decide
	t2 := turn([]int32{1, 2, 10, 99, 5, 12, 6}, []int32{13}, []float64{-4})
	t2.PrefixMatch = new(false) // wrong too: the ids extend
	t2.PolicyVersion = "v2"
	tr := traj(-1, t0, t1, t2)
	seqs, err := Sequences(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 2 {
		t.Fatalf("%d sequences, want 2: %+v", len(seqs), seqs)
	}
	a, b := seqs[0], seqs[1]
	if d := cmp.Diff([]int32{1, 2, 10, 11}, a.InputIDs); d != "" || a.Part != 0 || a.FirstTurn != 0 {
		t.Errorf("part 0: part %d, first turn %d, ids (-want +got):\n%s", a.Part, a.FirstTurn, d)
	}
	if d := cmp.Diff([]int32{1, 2, 10, 99, 5, 12, 6, 13}, b.InputIDs); d != "" || b.Part != 1 || b.FirstTurn != 1 {
		t.Errorf("part 1: part %d, first turn %d, ids (-want +got):\n%s", b.Part, b.FirstTurn, d)
	}
	if d := cmp.Diff([]uint8{0, 0, 0, 0, 0, 1, 0, 1}, b.LossMask); d != "" {
		t.Errorf("part 1 mask (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]float32{0, 0, 0, 0, 0, -1, 0, -1}, b.Advantages); d != "" {
		t.Errorf("part 1 advantages (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int32{5, 7}, b.TurnStarts); d != "" {
		t.Errorf("part 1 turn starts (-want +got):\n%s", d)
	}
	if b.PolicyVersion != "" {
		t.Errorf("part 1 policy %q, want its first turn's (none)", b.PolicyVersion)
	}
}

func TestSequencesPerTurnAdvantage(t *testing.T) {
	t0 := turn([]int32{1}, []int32{10}, []float64{-1})
	t1 := turn([]int32{1, 10, 2}, []int32{11, 12}, []float64{-1, -1})
	tr := traj(5, t0, t1)
	tr.Rewards.Turns[0].Advantage = new(0.25)
	tr.Rewards.Turns[1].Advantage = new(-0.75)
	seqs, err := Sequences(tr, &Options{Advantage: AdvantageTurn})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]float32{0, 0.25, 0, -0.75, -0.75}, seqs[0].Advantages); d != "" {
		t.Errorf("advantages (-want +got):\n%s", d)
	}
	tr.Rewards.Turns[1].Advantage = nil
	if _, err := Sequences(tr, &Options{Advantage: AdvantageTurn}); !errors.Is(err, ErrNoAdvantage) || !strings.Contains(err.Error(), "turn 1") {
		t.Errorf("a turn without advantage: %v", err)
	}
	seqs, err = Sequences(tr, &Options{Advantage: AdvantageTurn, NoAdvantage: true})
	if err != nil || seqs[0].Advantages[3] != 0 {
		t.Errorf("NoAdvantage: %v, advantages %v", err, seqs)
	}
}

// An empty completion adds no model tokens, and an empty span.
func TestSequencesEmptyCompletion(t *testing.T) {
	t0 := turn([]int32{1, 2}, nil, nil)
	t1 := turn([]int32{1, 2, 3}, []int32{10}, []float64{-1})
	seqs, err := Sequences(traj(1, t0, t1), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := seqs[0]
	if d := cmp.Diff([]int32{1, 2, 3, 10}, s.InputIDs); d != "" || s.ModelTokens() != 1 || s.Tokens() != 4 {
		t.Errorf("ids (-want +got):\n%s\nmodel tokens %d", d, s.ModelTokens())
	}
	if d := cmp.Diff([]int32{2, 3}, s.TurnStarts); d != "" {
		t.Errorf("starts (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int32{2, 4}, s.TurnEnds); d != "" {
		t.Errorf("ends (-want +got):\n%s", d)
	}
}

func TestSequencesRefusals(t *testing.T) {
	ok := func() *retrain.Trajectory {
		return traj(1, turn([]int32{1}, []int32{10}, []float64{-1}))
	}
	for _, c := range []struct {
		name   string
		edit   func(*retrain.Trajectory)
		opts   *Options
		want   error
		phrase string
	}{
		{"failed", func(t *retrain.Trajectory) { t.Error = "model down\nstack" }, nil, ErrFailed, "model down"},
		{"no turns", func(t *retrain.Trajectory) { t.Turns = nil }, nil, ErrNoTurns, ""},
		{"no prompt ids", func(t *retrain.Trajectory) { t.Turns[0].PromptTokenIDs = nil }, nil, ErrNoTokenIDs, "--token-ids"},
		{"text without tokens", func(t *retrain.Trajectory) { t.Turns[0].Action.Tokens = nil }, nil, ErrNoTokenIDs, "--token-ids"},
		{"logprobs without ids", func(t *retrain.Trajectory) { t.Turns[0].Action.Tokens.IDs = nil }, nil, ErrNoTokenIDs, "0 ids for 1 tokens"},
		{"ids without logprobs", func(t *retrain.Trajectory) { t.Turns[0].Action.Tokens.Logprobs = nil }, nil, ErrNoLogprobs, "log-probs"},
		{"no rewards", func(t *retrain.Trajectory) { t.Rewards = nil }, nil, ErrNoAdvantage, "advantage: grpo"},
		{"no advantage", func(t *retrain.Trajectory) { t.Rewards.Advantage = nil }, nil, ErrNoAdvantage, "its rewards have none"},
		{"turn rewards missing", func(t *retrain.Trajectory) { t.Rewards.Turns = nil }, &Options{Advantage: AdvantageTurn}, ErrNoAdvantage, "0 turn rewards"},
		{"bad source", func(*retrain.Trajectory) {}, &Options{Advantage: "token"}, ErrBadOptions, `"token"`},
	} {
		tr := ok()
		c.edit(tr)
		seqs, err := Sequences(tr, c.opts)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.phrase) || seqs != nil {
			t.Errorf("%s: %v (%d sequences); want %v saying %q", c.name, err, len(seqs), c.want, c.phrase)
		}
	}
	// What the options let through.
	tr := ok()
	tr.Error, tr.Rewards = "boom", nil
	seqs, err := Sequences(tr, &Options{KeepFailed: true, NoAdvantage: true})
	if err != nil || len(seqs) != 1 || !seqs[0].Failed || seqs[0].Advantages[1] != 0 || seqs[0].Reward != 0 {
		t.Errorf("KeepFailed+NoAdvantage: %v %+v", err, seqs)
	}
	if _, err := Sequences(nil, nil); !errors.Is(err, ErrNoTurns) {
		t.Errorf("nil trajectory: %v", err)
	}
}

// The JSON field names are the API trainers read.
func TestSequenceJSON(t *testing.T) {
	seqs, err := Sequences(traj(1, turn([]int32{1}, []int32{10}, []float64{-1})), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(seqs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"episode_id":"t1#2","group_id":"t1","task_id":"t1","sample":2,"part":0,"input_ids":[1,10],` +
		`"old_logprobs":[0,-1],"advantages":[0,1],"reward":1,"first_turn":0,"turn_starts":[1],"turn_ends":[2],` +
		`"finish_reasons":["stop"],"stop_reason":"terminated","loss_mask":[0,1]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var back Sequence
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(seqs[0], back); d != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", d)
	}
}
