package localtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
)

func TestRandomWeights(t *testing.T) {
	a, err := RandomWeights(Tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := RandomWeights(Tiny, 1)
	other, _ := RandomWeights(Tiny, 2)
	if !bytes.Equal(a, again) || bytes.Equal(a, other) {
		t.Errorf("seed 1 twice equal: %v; seeds 1 and 2 equal: %v; want true, false", bytes.Equal(a, again), bytes.Equal(a, other))
	}
	w, _, err := local.DecodeWeights(a)
	if err != nil {
		t.Fatal(err)
	}
	if w.Config != Tiny {
		t.Errorf("config %+v, want %+v", w.Config, Tiny)
	}
	for _, ts := range w.Tensors() {
		ones, zeros := 0, 0
		for _, x := range ts.Data {
			switch x {
			case 1:
				ones++
			case 0:
				zeros++
			}
		}
		if len(ts.Shape) == 1 && ones != len(ts.Data) {
			t.Errorf("norm gain %v: %d of %d are one, want all", ts.Shape, ones, len(ts.Data))
		}
		if len(ts.Shape) == 2 && zeros+ones > len(ts.Data)/10 {
			t.Errorf("matrix %v: %d of %d are zero or one, want random", ts.Shape, zeros+ones, len(ts.Data))
		}
	}

	m, err := local.New(&local.Options{Weights: a, Name: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Generate(context.Background(), model.Request{
		Messages: []retrain.Message{{Role: "user", Content: "hi"}},
		Sampling: model.Sampling{MaxTokens: 8, Seed: new(int64)},
	})
	if err != nil || len(c.Tokens.IDs) == 0 || len(c.Tokens.IDs) != len(c.Tokens.Logprobs) {
		t.Errorf("Generate = %+v, %v; want tokens with log-probabilities", c, err)
	}
}

func TestRandomWeightsBadConfig(t *testing.T) {
	c := Tiny
	c.Heads = 3
	if _, err := RandomWeights(c, 1); err == nil || !strings.Contains(err.Error(), "Heads") {
		t.Errorf("err = %v, want one naming Heads", err)
	}
}

func TestWriteRandomWeights(t *testing.T) {
	path, err := WriteRandomWeights(t.TempDir(), Tiny, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := RandomWeights(Tiny, 3); !bytes.Equal(got, want) {
		t.Error("the file does not hold RandomWeights(Tiny, 3)")
	}
	if _, err := WriteRandomWeights(filepath.Join(t.TempDir(), "missing"), Tiny, 3); err == nil {
		t.Error("writing into a missing folder did not fail")
	}
}
