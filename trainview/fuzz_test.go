package trainview

import (
	"bytes"
	"slices"
	"testing"

	"github.com/retrain-rl/retrain"
)

// fuzzTrajectory builds a trajectory from data: each turn takes a few
// bytes saying how its prompt relates to the ids so far (extends them,
// breaks them, or is missing), how long its completion is, and whether its
// ids, log-probs, flags and advantages are there.
func fuzzTrajectory(data []byte) *retrain.Trajectory {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	t := &retrain.Trajectory{ID: "f#0", Task: retrain.Task{ID: "f"}}
	h := next()
	if h&1 != 0 {
		t.Rewards = &retrain.Rewards{Total: float64(int8(next()))}
		if h&2 != 0 {
			t.Rewards.Advantage = new(float64(int8(next())) / 16)
		}
	}
	if h&4 != 0 {
		t.Error = "failed"
	}
	var sofar []int32
	for len(data) > 0 {
		c := next()
		var prompt []int32
		switch c & 3 {
		case 0, 1: // extends
			prompt = slices.Clone(sofar)
			for range int(next() % 4) {
				prompt = append(prompt, int32(next()))
			}
			if len(prompt) == 0 {
				prompt = append(prompt, 1)
			}
		case 2: // breaks
			for range int(next()%6) + 1 {
				prompt = append(prompt, int32(next()))
			}
		case 3: // missing
		}
		tu := retrain.Turn{PromptTokenIDs: prompt}
		if c&4 != 0 {
			tu.PrefixMatch = new(c&8 != 0)
		}
		if n := int(c>>4) % 5; n > 0 || c&0x80 != 0 {
			tok := &retrain.Tokens{}
			for range n {
				tok.IDs = append(tok.IDs, int32(next()))
				tok.Logprobs = append(tok.Logprobs, -float64(next())/32)
			}
			if c&0x80 != 0 && n > 0 {
				tok.Logprobs = tok.Logprobs[:n-1] // misaligned
			}
			tu.Action.Tokens = tok
			tu.Action.Raw = "x"
		}
		t.Turns = append(t.Turns, tu)
		if t.Rewards != nil {
			tr := retrain.TurnReward{}
			if c&0x40 != 0 {
				tr.Advantage = new(1.0)
			}
			t.Rewards.Turns = append(t.Rewards.Turns, tr)
		}
		sofar = append(slices.Clone(prompt), completionOf(&tu)...)
	}
	return t
}

func completionOf(tu *retrain.Turn) []int32 {
	if tu.Action.Tokens == nil {
		return nil
	}
	return tu.Action.Tokens.IDs
}

// checkInvariants fails t when seqs, the sequences of tr, break what every
// training view must hold.
func checkInvariants(t *testing.T, tr *retrain.Trajectory, seqs []Sequence) {
	t.Helper()
	var model, want []int32
	var lps, wantLps []float32
	turns := 0
	for k, s := range seqs {
		n := len(s.InputIDs)
		if len(s.LossMask) != n || len(s.OldLogprobs) != n || len(s.Advantages) != n {
			t.Fatalf("part %d: %d ids, %d mask, %d logprobs, %d advantages", k, n, len(s.LossMask), len(s.OldLogprobs), len(s.Advantages))
		}
		if s.Part != k || s.FirstTurn != turns || len(s.TurnStarts) != len(s.TurnEnds) || len(s.TurnStarts) != len(s.FinishReasons) {
			t.Fatalf("part %d: part %d, first turn %d after %d turns, %d starts, %d ends", k, s.Part, s.FirstTurn, turns, len(s.TurnStarts), len(s.TurnEnds))
		}
		turns += len(s.TurnStarts)
		if !slices.Equal(s.InputIDs[:len(tr.Turns[s.FirstTurn].PromptTokenIDs)], tr.Turns[s.FirstTurn].PromptTokenIDs) {
			t.Fatalf("part %d does not start with its first turn's prompt", k)
		}
		inSpan := make([]bool, n)
		for j := range s.TurnStarts {
			a, b := int(s.TurnStarts[j]), int(s.TurnEnds[j])
			if a > b || b > n || (j > 0 && a < int(s.TurnEnds[j-1])) {
				t.Fatalf("part %d turn %d: span [%d, %d) of %d", k, j, a, b, n)
			}
			for i := a; i < b; i++ {
				inSpan[i] = true
			}
		}
		for i := range n {
			if (s.LossMask[i] == 1) != inSpan[i] {
				t.Fatalf("part %d token %d: mask %d, in a completion span %v", k, i, s.LossMask[i], inSpan[i])
			}
			if s.LossMask[i] == 0 && (s.OldLogprobs[i] != 0 || s.Advantages[i] != 0) {
				t.Fatalf("part %d token %d: masked out but log-prob %v, advantage %v", k, i, s.OldLogprobs[i], s.Advantages[i])
			}
			if s.LossMask[i] == 1 {
				model = append(model, s.InputIDs[i])
				lps = append(lps, s.OldLogprobs[i])
			}
		}
	}
	if turns != len(tr.Turns) {
		t.Fatalf("sequences cover %d turns of %d", turns, len(tr.Turns))
	}
	for i := range tr.Turns {
		if tok := tr.Turns[i].Action.Tokens; tok != nil {
			want = append(want, tok.IDs...)
			for _, lp := range tok.Logprobs {
				wantLps = append(wantLps, float32(lp))
			}
		}
	}
	if !slices.Equal(model, want) || !slices.Equal(lps, wantLps) {
		t.Fatalf("model tokens %v (log-probs %v), want the completions' %v (%v)", model, lps, want, wantLps)
	}
}

func FuzzSequences(f *testing.F) {
	f.Add([]byte{3, 5, 8, 0x10, 1, 2, 3, 0x20, 4, 5, 6, 7})
	f.Add([]byte{3, 5, 8, 0x12, 3, 1, 2, 3, 4, 0xc6, 2, 9, 9})
	f.Add([]byte{1, 0, 0x93})
	f.Add([]byte{7, 1, 1, 0x30, 0, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := fuzzTrajectory(bytes.Clone(data))
		for _, o := range []*Options{nil, {Advantage: AdvantageTurn}, {KeepFailed: true, NoAdvantage: true}} {
			seqs, err := Sequences(tr, o)
			if err != nil {
				if seqs != nil {
					t.Fatalf("error %v with %d sequences", err, len(seqs))
				}
				continue
			}
			checkInvariants(t, tr, seqs)
		}
	})
}
