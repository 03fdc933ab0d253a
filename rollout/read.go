package rollout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"

	"github.com/retrain-rl/retrain"
)

// Line is one non-blank line of a JSON Lines input, as [ReadLines] yields it.
type Line struct {
	// Number is the line's number in the input, from 1, blank lines counted.
	Number int
	// Data is the line without its line ending. It is reused for the next
	// line: copy it to keep it past the loop iteration.
	Data []byte
	// Unterminated is true for a last line that does not end with a
	// newline: a file written by hand, or a line cut short by a killed
	// writer.
	Unterminated bool
}

// ReadLines returns the non-blank lines of r, in order, however long they
// are. When reading fails it yields the error, unwrapped, and stops. It is
// the line reader under [ReadTrajectories], for inputs that hold other rows
// besides trajectories; decode those with [DecodeTrajectory].
func ReadLines(r io.Reader) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var buf []byte
		for n := 1; ; n++ {
			buf = buf[:0]
			var err error
			for {
				var chunk []byte
				chunk, err = br.ReadSlice('\n')
				buf = append(buf, chunk...)
				if err != bufio.ErrBufferFull {
					break
				}
			}
			if err != nil && err != io.EOF {
				yield(Line{}, err)
				return
			}
			data := bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
			if len(bytes.TrimSpace(data)) > 0 {
				if !yield(Line{Number: n, Data: data, Unterminated: err == io.EOF}, nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
		}
	}
}

// ReadOptions configure [ReadTrajectories]. The zero value works.
type ReadOptions struct {
	// Name names the input in errors, e.g. its path; empty means
	// "trajectories".
	Name string
	// Cut, when set, is called when a last line is skipped as cut short (by
	// a killed writer), with its number and why it does not count.
	Cut func(line int, err error)
}

// LineError reports a line that is not a trajectory. Like [os.PathError]
// (what a file that cannot be opened or read yields), its message has no
// package prefix: callers add their own context.
type LineError struct {
	// Name is [ReadOptions.Name]; Line is the line's number, from 1.
	Name string
	Line int
	// Err says what is wrong with the line.
	Err error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s line %d is not a trajectory: %v", e.Name, e.Line, e.Err)
}

// Unwrap returns Err.
func (e *LineError) Unwrap() error { return e.Err }

// ReadTrajectories returns the trajectories of a JSON Lines input (a file
// written by [JSONLWriter]), one per non-blank line, in order:
//
//	for t, err := range rollout.ReadTrajectories(r, nil) {
//		if err != nil {
//			return err
//		}
//		use(t)
//	}
//
// A line that is not a trajectory (it does not decode, or has no "id" or no
// "sample") yields a *[LineError] naming it, and reading goes on with the
// next line: stop or skip it as you like. A failed read yields its error and
// is the last. Lines may be of any length. A last line cut short by a killed
// writer (no newline, and not a whole trajectory) is skipped, and reported
// to [ReadOptions.Cut]. Trajectories are decoded by [DecodeTrajectory], so
// old files read as new ones.
func ReadTrajectories(r io.Reader, opts *ReadOptions) iter.Seq2[*retrain.Trajectory, error] {
	var o ReadOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "trajectories"
	}
	return func(yield func(*retrain.Trajectory, error) bool) {
		for line, err := range ReadLines(r) {
			if err != nil {
				yield(nil, fmt.Errorf("read %s: %w", o.Name, err))
				return
			}
			t, err := decodeTrajectory(line.Data, true)
			if err != nil && line.Unterminated {
				if o.Cut != nil {
					o.Cut(line.Number, err)
				}
				return
			}
			if err != nil {
				if !yield(nil, &LineError{Name: o.Name, Line: line.Number, Err: err}) {
					return
				}
				continue
			}
			if !yield(t, nil) {
				return
			}
		}
	}
}

// ReadTrajectoryFile is [ReadTrajectories] of the file at path (Name
// defaults to path); the file is closed when the loop ends. A file that
// cannot be opened yields the error of [os.Open] (match a missing one with
// [os.ErrNotExist]).
func ReadTrajectoryFile(path string, opts *ReadOptions) iter.Seq2[*retrain.Trajectory, error] {
	var o ReadOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = path
	}
	return func(yield func(*retrain.Trajectory, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(nil, err)
			return
		}
		defer f.Close()
		for t, err := range ReadTrajectories(f, &o) {
			if !yield(t, err) {
				return
			}
		}
	}
}

// DecodeTrajectory decodes one JSON trajectory. It is the one place that
// reads files written by older versions as today's: a trajectory without
// a "dialect" takes it from its reset info's "dialect" (where toolenv put
// it before the field existed). It also restores the long replies that
// [EncodeTrajectory] stored once (see [LongReply]). It checks nothing else.
func DecodeTrajectory(data []byte) (*retrain.Trajectory, error) {
	return decodeTrajectory(data, false)
}

// trajectoryRow decodes a trajectory and sees whether it has a "sample".
type trajectoryRow struct {
	*retrain.Trajectory
	Sample *int `json:"sample"` // shadows Trajectory.Sample
}

// decodeTrajectory decodes data; with identity it requires the fields
// every trajectory package rollout writes has: a non-empty "id" and a
// "sample".
func decodeTrajectory(data []byte, identity bool) (*retrain.Trajectory, error) {
	if d := bytes.TrimLeft(data, " \t\r\n"); len(d) > 0 && d[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	row := trajectoryRow{Trajectory: &retrain.Trajectory{}}
	if err := json.Unmarshal(data, &row); err != nil {
		return nil, err
	}
	t := row.Trajectory
	if row.Sample != nil {
		t.Sample = *row.Sample
	}
	if identity {
		switch {
		case t.ID == "":
			return nil, errors.New(`no "id"`)
		case row.Sample == nil:
			return nil, errors.New(`no "sample"`)
		}
	}
	if t.Dialect == "" {
		if d, ok := t.ResetInfo["dialect"].(string); ok {
			t.Dialect = d
		}
	}
	if err := restoreReplies(t, data); err != nil {
		return nil, err
	}
	return t, nil
}
