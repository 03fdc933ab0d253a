package trainview

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/retrain-rl/retrain"
)

// parquetRow is a Sequence as a Parquet row: the same column names as the
// JSON fields, the arrays as LIST columns (the loss mask as int32: a Go
// []uint8 would be a byte string), sampling as an optional group.
type parquetRow struct {
	EpisodeID     string          `parquet:"episode_id"`
	GroupID       string          `parquet:"group_id"`
	TaskID        string          `parquet:"task_id"`
	Sample        int64           `parquet:"sample"`
	Part          int64           `parquet:"part"`
	InputIDs      []int32         `parquet:"input_ids,list"`
	LossMask      []int32         `parquet:"loss_mask,list"`
	OldLogprobs   []float32       `parquet:"old_logprobs,list"`
	Advantages    []float32       `parquet:"advantages,list"`
	Reward        float64         `parquet:"reward"`
	PolicyVersion *string         `parquet:"policy_version,optional"`
	LogprobsMode  *string         `parquet:"logprobs_mode,optional"`
	Sampling      *parquetSampler `parquet:"sampling,optional"`
	FirstTurn     int64           `parquet:"first_turn"`
	TurnStarts    []int32         `parquet:"turn_starts,list"`
	TurnEnds      []int32         `parquet:"turn_ends,list"`
	FinishReasons []string        `parquet:"finish_reasons,list"`
	StopReason    string          `parquet:"stop_reason"`
	Failed        bool            `parquet:"failed"`
}

type parquetSampler struct {
	Temperature *float64 `parquet:"temperature,optional"`
	TopP        *float64 `parquet:"top_p,optional"`
	MaxTokens   *int64   `parquet:"max_tokens,optional"` // null: none sent
	Seed        *int64   `parquet:"seed,optional"`
}

// ParquetWriter writes sequences as rows of a Parquet file (Snappy
// compressed), one column per Sequence field, named as in its JSON. It is
// not safe for concurrent use.
type ParquetWriter struct {
	w   *parquet.GenericWriter[parquetRow]
	buf []parquetRow
}

// NewParquetWriter returns a writer of a Parquet file to w. Close it to
// write the file's footer; it does not close w.
func NewParquetWriter(w io.Writer) *ParquetWriter {
	return &ParquetWriter{w: parquet.NewGenericWriter[parquetRow](w, parquet.Compression(&parquet.Snappy))}
}

// Write writes seqs as rows.
func (pw *ParquetWriter) Write(seqs ...Sequence) error {
	pw.buf = pw.buf[:0]
	for i := range seqs {
		pw.buf = append(pw.buf, toRow(&seqs[i]))
	}
	if _, err := pw.w.Write(pw.buf); err != nil {
		return fmt.Errorf("trainview: write parquet: %w", err)
	}
	clear(pw.buf) // let the rows' arrays go
	return nil
}

// Close flushes the rows and writes the file's footer.
func (pw *ParquetWriter) Close() error {
	if err := pw.w.Close(); err != nil {
		return fmt.Errorf("trainview: write parquet: %w", err)
	}
	return nil
}

// WriteParquet writes seqs to w as a whole Parquet file.
func WriteParquet(w io.Writer, seqs []Sequence) error {
	pw := NewParquetWriter(w)
	if err := pw.Write(seqs...); err != nil {
		return err
	}
	return pw.Close()
}

// ReadParquet reads the sequences of a Parquet file written by
// [ParquetWriter] (size bytes long).
func ReadParquet(r io.ReaderAt, size int64) ([]Sequence, error) {
	rows, err := parquet.Read[parquetRow](r, size)
	if err != nil {
		return nil, fmt.Errorf("trainview: read parquet: %w", err)
	}
	seqs := make([]Sequence, len(rows))
	for i := range rows {
		seqs[i] = fromRow(&rows[i])
	}
	return seqs, nil
}

func toRow(s *Sequence) parquetRow {
	r := parquetRow{
		EpisodeID: s.EpisodeID, GroupID: s.GroupID, TaskID: s.TaskID, Sample: int64(s.Sample), Part: int64(s.Part),
		InputIDs: s.InputIDs, LossMask: make([]int32, len(s.LossMask)), OldLogprobs: s.OldLogprobs, Advantages: s.Advantages,
		Reward: s.Reward, FirstTurn: int64(s.FirstTurn), TurnStarts: s.TurnStarts, TurnEnds: s.TurnEnds,
		FinishReasons: s.FinishReasons, StopReason: s.StopReason, Failed: s.Failed,
	}
	for i, m := range s.LossMask {
		r.LossMask[i] = int32(m)
	}
	if s.PolicyVersion != "" {
		r.PolicyVersion = &s.PolicyVersion
	}
	if s.LogprobsMode != "" {
		r.LogprobsMode = &s.LogprobsMode
	}
	if sa := s.Sampling; sa != nil {
		r.Sampling = &parquetSampler{Temperature: sa.Temperature, TopP: sa.TopP, Seed: sa.Seed}
		if sa.MaxTokens != 0 {
			r.Sampling.MaxTokens = new(int64(sa.MaxTokens))
		}
	}
	return r
}

func fromRow(r *parquetRow) Sequence {
	s := Sequence{
		EpisodeID: r.EpisodeID, GroupID: r.GroupID, TaskID: r.TaskID, Sample: int(r.Sample), Part: int(r.Part),
		InputIDs: r.InputIDs, LossMask: make([]uint8, len(r.LossMask)), OldLogprobs: r.OldLogprobs, Advantages: r.Advantages,
		Reward: r.Reward, FirstTurn: int(r.FirstTurn), TurnStarts: r.TurnStarts, TurnEnds: r.TurnEnds,
		FinishReasons: r.FinishReasons, StopReason: r.StopReason, Failed: r.Failed,
	}
	for i, m := range r.LossMask {
		s.LossMask[i] = uint8(m)
	}
	if r.PolicyVersion != nil {
		s.PolicyVersion = *r.PolicyVersion
	}
	if r.LogprobsMode != nil {
		s.LogprobsMode = *r.LogprobsMode
	}
	if sa := r.Sampling; sa != nil {
		s.Sampling = &retrain.TurnSampling{Temperature: sa.Temperature, TopP: sa.TopP, Seed: sa.Seed}
		if sa.MaxTokens != nil {
			s.Sampling.MaxTokens = int(*sa.MaxTokens)
		}
	}
	return s
}
