package trainview

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
)

// handSequences returns the sequences of a hand-built trajectory with a
// split, sampling settings on one part and none on the other.
func handSequences(t *testing.T) []Sequence {
	t.Helper()
	temp, seed := 0.7, int64(-3)
	t0 := turn([]int32{1, 2}, []int32{10, 11}, []float64{-1.5, -2.25})
	t0.Sampling = &retrain.TurnSampling{Temperature: &temp, MaxTokens: 64, Seed: &seed}
	t0.PolicyVersion, t0.LogprobsMode = "m@abc", "raw"
	t1 := turn([]int32{1, 2, 10, 99, 5}, []int32{12}, []float64{-3})
	t1.FinishReason = retrain.FinishLength
	seqs, err := Sequences(traj(-0.5, t0, t1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 2 {
		t.Fatalf("%d sequences, want 2", len(seqs))
	}
	return seqs
}

func TestParquetRoundTrip(t *testing.T) {
	seqs := handSequences(t)
	var buf bytes.Buffer
	if err := WriteParquet(&buf, seqs); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("PAR1")) || !bytes.HasSuffix(buf.Bytes(), []byte("PAR1")) {
		t.Fatalf("not a Parquet file: %q...", buf.Bytes()[:min(8, buf.Len())])
	}
	back, err := ReadParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(seqs, back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// A streaming writer with several writes gives the same rows.
	var buf2 bytes.Buffer
	pw := NewParquetWriter(&buf2)
	for _, s := range seqs {
		if err := pw.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	back, err = ReadParquet(bytes.NewReader(buf2.Bytes()), int64(buf2.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(seqs, back); d != "" {
		t.Errorf("streamed round trip (-want +got):\n%s", d)
	}
	if _, err := ReadParquet(bytes.NewReader([]byte("not parquet")), 11); err == nil {
		t.Error("ReadParquet of garbage: no error")
	}
}
