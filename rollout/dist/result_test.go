package dist

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
)

func TestBinaryResult(t *testing.T) {
	for _, tr := range []*retrain.Trajectory{resultTrajectory(), {ID: "a#1", Sample: 1}, {ID: "b#0", Turns: []retrain.Turn{}},
		{ID: "p#0", Turns: []retrain.Turn{{PromptTokenIDs: []int32{1, 2, 3}}, {}, {PromptTokenIDs: []int32{1, 2, 3, 4, -5}}, {PromptTokenIDs: []int32{1, 9}}, {PromptTokenIDs: []int32{1}}, {PromptTokenIDs: []int32{}}}},
		{ID: "c#0", Turns: []retrain.Turn{{PromptTokenIDs: []int32{}, Action: retrain.Action{Tokens: &retrain.Tokens{IDs: []int32{}, Logprobs: []float64{math.Copysign(0, -1), 5e-324}}}}}}} {
		b, err := encodeResult(tr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeBinaryResult(b)
		if err != nil {
			t.Fatalf("decodeBinaryResult(encodeResult(%s)): %v", tr.ID, err)
		}
		if d := cmp.Diff(tr, got); d != "" {
			t.Errorf("decodeBinaryResult does not give back what was encoded (-want +got):\n%s", d)
		}
		sameBits(t, tr, got)
		// What the coordinator writes is what it wrote from a JSON result.
		j, _ := json.Marshal(tr)
		viaJSON, err := decodeResult(j)
		if err != nil {
			t.Fatal(err)
		}
		w1, _ := json.Marshal(viaJSON)
		w2, _ := json.Marshal(got)
		if string(w1) != string(w2) {
			t.Errorf("the line differs from the JSON format's:\n%s\n%s", w1, w2)
		}
	}
	full, _ := encodeResult(resultTrajectory())
	for name, bad := range map[string][]byte{
		"empty":               nil,
		"truncated":           full[:len(full)-1],
		"trailing":            append(append([]byte{}, full...), 0),
		"json too long":       {0xff, 0x01, '{', '}'},
		"not json":            {2, 'x', 'y'},
		"ids in json":         append([]byte{byte(len(`{"turns":[{"prompt_token_ids":[1]}]}`))}, []byte(`{"turns":[{"prompt_token_ids":[1]}]}`+"\x00")...),
		"array too long":      append([]byte{byte(len(`{"turns":[{}]}`))}, []byte(`{"turns":[{}]}`+"\xff\xff\xff\xff\x0f")...),
		"too many prompt ids": manyPrompts(),
	} {
		if _, err := decodeBinaryResult(bad); err == nil {
			t.Errorf("%s: decodeBinaryResult(%q) succeeded", name, bad)
		}
	}
	if _, err := encodeResult(&retrain.Trajectory{ID: "x", Turns: []retrain.Turn{{Action: retrain.Action{Tokens: &retrain.Tokens{Logprobs: []float64{math.NaN()}}}}}}); err == nil {
		t.Error("encodeResult accepted a NaN log-probability, which JSON cannot hold")
	}
}

// sameBits fails unless the log-probabilities of a and b have the same bits
// (cmp.Diff holds -0 equal to 0).
func sameBits(t *testing.T, a, b *retrain.Trajectory) {
	t.Helper()
	for i := range a.Turns {
		if ta, tb := a.Turns[i].Action.Tokens, b.Turns[i].Action.Tokens; ta != nil && tb != nil {
			for k := range ta.Logprobs {
				if math.Float64bits(ta.Logprobs[k]) != math.Float64bits(tb.Logprobs[k]) {
					t.Fatalf("turn %d log-prob %d: %v became %v", i, k, ta.Logprobs[k], tb.Logprobs[k])
				}
			}
		}
	}
}

// Any trajectory (from JSON the fuzzer writes) comes back from
// decodeBinaryResult(encodeResult(t)) exactly as it was, and no input makes
// decodeBinaryResult panic.
func FuzzBinaryResult(f *testing.F) {
	b, _ := json.Marshal(resultTrajectory())
	f.Add(b)
	bin, _ := encodeResult(resultTrajectory())
	f.Add(bin)
	f.Add([]byte(`{"id":"x","turns":[{"action":{"tokens":{"logprobs":[ -0.5 , 1E3,2e-2],"ids":[ ]}},"prompt_token_ids":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeBinaryResult(data) // must not panic
		var tr retrain.Trajectory
		if json.Unmarshal(data, &tr) != nil {
			return
		}
		enc, err := encodeResult(&tr)
		if err != nil {
			return
		}
		got, err := decodeBinaryResult(enc)
		if err != nil {
			t.Fatalf("decodeBinaryResult(encodeResult(%q)): %v", data, err)
		}
		if d := cmp.Diff(&tr, got); d != "" {
			t.Fatalf("%q does not come back (-want +got):\n%s", data, d)
		}
		sameBits(t, &tr, got)
	})
}

// manyPrompts is a small message whose turns repeat a long prompt: more
// prompt ids than a result may hold in all.
func manyPrompts() []byte {
	const turns, n = 20, maxResultIDs / 16
	j := []byte(`{"turns":[{}` + strings.Repeat(`,{}`, turns-1) + `]}`)
	b := append(binary.AppendUvarint(nil, uint64(len(j))), j...)
	b = binary.AppendUvarint(binary.AppendUvarint(b, n+1), 0)
	b = append(b, make([]byte, n)...) // n zero ids
	for range turns - 1 {
		b = binary.AppendUvarint(binary.AppendUvarint(b, n+1), n) // the same prompt again
	}
	return b
}
