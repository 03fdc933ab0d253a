package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/trainview"
)

func init() {
	exportCommand.run = runExport
	register(exportCommand)
}

var exportCommand = &command{
	name:    "export",
	summary: "turn a trajectory file into the token sequences a trainer learns from (JSONL or Parquet)",
	usage: "--view tokens --in FILE [--out FILE] [--format jsonl|parquet] [flags]\n\n" +
		"Writes one record per training sequence: input_ids (the prompt and every turn, flattened while\n" +
		"each prompt extends the one before, split into parts where it does not), loss_mask (1 on the\n" +
		"tokens the model generated, 0 on prompt and environment tokens), old_logprobs (the log-probs the\n" +
		"tokens were sampled with) and advantages (per token), aligned with input_ids; with the episode,\n" +
		"its group (task), reward, policy version, log-probs mode, sampling settings and turn boundaries.\n" +
		"The trajectories need token ids (the built-in model always has them; a server needs\n" +
		"`retrain rollout --token-ids`) and advantages (a --rewards config that names one, and --n > 1).\n" +
		"Episodes that cannot be used are skipped, and the summary on stderr says why.\n\n" +
		"Examples:\n" +
		"  retrain rollout --n 4 --rewards rewards.yaml --out rollouts.jsonl\n" +
		"  retrain export --view tokens --in rollouts.jsonl --out train.jsonl\n" +
		"  retrain export --view tokens --in rollouts.jsonl --out train.parquet   # Parquet, from the extension\n" +
		"  retrain export --view tokens --in rollouts.jsonl --no-advantage        # zeros where there is none\n\n" +
		"See docs/trainers.md for feeding TRL, verl, prime-rl and OpenRLHF.",
}

// Export formats.
const (
	formatJSONL   = "jsonl"
	formatParquet = "parquet"
)

// exportOptions are the flags of export.
type exportOptions struct {
	view, in, out, format string
	seq                   trainview.Options
	overwrite             bool
}

func runExport(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(exportCommand, s.err)
	var o exportOptions
	fs.StringVar(&o.view, "view", "tokens", "what to export: `tokens` (the training view; the only one today)")
	fs.StringVar(&o.in, "in", "", "the trajectory `file` (JSONL, as retrain rollout writes it); - for stdin")
	fs.StringVar(&o.out, "out", "", "the output `file` (default: stdout, JSONL only)")
	fs.StringVar(&o.format, "format", "", "`jsonl` or parquet (default: parquet when --out ends in .parquet, else jsonl)")
	adv := fs.String("advantage", string(trainview.AdvantageTrajectory), "where the advantages come from: `trajectory` (the episode's group advantage on every model token: GRPO) or turn (each turn's own)")
	fs.BoolVar(&o.seq.KeepFailed, "keep-failed", false, "export failed episodes too (marked \"failed\"); by default they are skipped")
	fs.BoolVar(&o.seq.NoAdvantage, "no-advantage", false, "export episodes without an advantage with advantages 0 (for a trainer that computes its own) instead of skipping them")
	fs.BoolVar(&o.overwrite, "overwrite", false, "replace an existing --out")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	o.seq.Advantage = trainview.AdvantageSource(*adv)
	switch {
	case o.view != "tokens":
		return usageErrorf("--view %q: the only view is tokens", o.view)
	case o.in == "":
		return usageErrorf("--in is required: the trajectory file to export (retrain rollout's --out)")
	case o.seq.Advantage != trainview.AdvantageTrajectory && o.seq.Advantage != trainview.AdvantageTurn:
		return usageErrorf("--advantage %q: use trajectory or turn", *adv)
	}
	if o.format == "" {
		o.format = formatJSONL
		if strings.EqualFold(filepath.Ext(o.out), ".parquet") {
			o.format = formatParquet
		}
	}
	switch o.format {
	case formatJSONL:
	case formatParquet:
		if o.out == "" || o.out == "-" {
			return usageErrorf("--format parquet needs --out FILE: Parquet is a binary file format, not for a terminal")
		}
	default:
		return usageErrorf("--format %q: use jsonl or parquet", o.format)
	}
	if o.out != "" && o.out != "-" && !o.overwrite {
		if _, err := os.Stat(o.out); err == nil {
			return usageErrorf("--out %s exists; pass --overwrite to replace it", o.out)
		}
	}
	return export(ctx, &o, s)
}

// exportStats count what an export wrote and skipped.
type exportStats struct {
	episodes, sequences, split int
	tokens, modelTokens        int
	skipped                    map[string]int    // by reason
	example                    map[string]string // the first error of each reason
	reasons                    []string          // in order of first appearance
}

func (st *exportStats) skip(err error) {
	reason := "other"
	for _, r := range []struct {
		err  error
		name string
	}{
		{trainview.ErrFailed, "failed"},
		{trainview.ErrNoTurns, "no model turns"},
		{trainview.ErrNoTokenIDs, "no token ids"},
		{trainview.ErrNoLogprobs, "no log-probs"},
		{trainview.ErrNoAdvantage, "no advantage"},
	} {
		if errors.Is(err, r.err) {
			reason = r.name
			break
		}
	}
	if st.skipped[reason] == 0 {
		st.reasons = append(st.reasons, reason)
		st.example[reason] = strings.TrimPrefix(err.Error(), "trainview: ")
	}
	st.skipped[reason]++
}

func (st *exportStats) print(w io.Writer, in, out string) {
	skipped := 0
	for _, n := range st.skipped {
		skipped += n
	}
	fmt.Fprintf(w, "exported %d sequences (%d tokens, %d generated by the model) from %d of %d episodes in %s to %s\n",
		st.sequences, st.tokens, st.modelTokens, st.episodes-skipped, st.episodes, in, out)
	if st.split > 0 {
		fmt.Fprintf(w, "  %d episodes split into several sequences where a prompt did not extend the previous turn's tokens (template drift)\n", st.split)
	}
	if skipped > 0 {
		fmt.Fprintf(w, "  skipped %d episodes:\n", skipped)
		for _, r := range st.reasons {
			fmt.Fprintf(w, "    %d %s, e.g. %s\n", st.skipped[r], r, st.example[r])
		}
	}
}

// seqWriter writes sequences in one format.
type seqWriter interface {
	Write(seqs ...trainview.Sequence) error
	Close() error
}

// jsonlSeqWriter writes one JSON object per line.
type jsonlSeqWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

func newJSONLSeqWriter(w io.Writer) *jsonlSeqWriter {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonlSeqWriter{bw: bw, enc: enc}
}

func (j *jsonlSeqWriter) Write(seqs ...trainview.Sequence) error {
	for i := range seqs {
		if err := j.enc.Encode(seqs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonlSeqWriter) Close() error { return j.bw.Flush() }

// export reads o.in and writes its sequences to o.out. A partly written
// --out is removed when the export fails.
func export(ctx context.Context, o *exportOptions, s stdio) (err error) {
	var in io.Reader = s.in
	name := "stdin"
	if o.in != "-" {
		f, err := os.Open(o.in)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return usageErrorf("--in %s: no such file", o.in)
			}
			return err
		}
		defer f.Close()
		in, name = f, o.in
	}
	var out io.Writer = s.out
	outName := "stdout"
	if o.out != "" && o.out != "-" {
		f, cerr := os.Create(o.out)
		if cerr != nil {
			return cerr
		}
		outName = o.out
		defer func() { // err is the named result
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(o.out)
			}
		}()
		out = f
	}
	var w seqWriter
	if o.format == formatParquet {
		w = trainview.NewParquetWriter(out)
	} else {
		w = newJSONLSeqWriter(out)
	}
	st := &exportStats{skipped: map[string]int{}, example: map[string]string{}}
	cut := func(line int, err error) {
		fmt.Fprintf(s.err, "note: %s: line %d was cut short (a killed writer?) and is skipped: %v\n", name, line, err)
	}
	for t, rerr := range rollout.ReadTrajectories(in, &rollout.ReadOptions{Name: name, Cut: cut}) {
		if rerr != nil {
			return rerr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		st.episodes++
		seqs, err := trainview.Sequences(t, &o.seq)
		if err != nil {
			st.skip(err)
			continue
		}
		if len(seqs) > 1 {
			st.split++
		}
		for i := range seqs {
			st.tokens += seqs[i].Tokens()
			st.modelTokens += seqs[i].ModelTokens()
		}
		st.sequences += len(seqs)
		if err := w.Write(seqs...); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	st.print(s.err, name, outName)
	switch {
	case st.episodes == 0:
		return fmt.Errorf("%s holds no trajectories", name)
	case st.sequences == 0:
		return fmt.Errorf("no episode of %s could be used: see why above", name)
	}
	return nil
}
