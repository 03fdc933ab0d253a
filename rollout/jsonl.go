package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/retrain-rl/retrain"
)

// Sink receives finished trajectories. Write must be safe for concurrent
// use; an error from it stops the run.
type Sink interface {
	Write(t *retrain.Trajectory) error
}

// JSONLOptions configure [OpenJSONL]. The zero value appends.
type JSONLOptions struct {
	// Overwrite empties an existing file instead of appending to it.
	Overwrite bool
}

// JSONLWriter writes trajectories as JSON lines, one whole line per
// trajectory. Each line is encoded first and then written with one write
// call to a file opened for appending, so a run killed at any moment leaves
// only whole lines, except at worst a partial last line, which [OpenJSONL]
// removes when it opens the file again. It is a [Sink], safe for concurrent
// use.
type JSONLWriter struct {
	path string
	mu   sync.Mutex // guards f, err, n
	f    *os.File
	err  error // sticky: set by a failed write, returned after
	n    int
}

// OpenJSONL opens path for writing trajectories, creating it if needed. An
// existing file is appended to (or emptied, with Overwrite); a partial last
// line left by a killed writer is truncated away first.
func OpenJSONL(path string, opts *JSONLOptions) (*JSONLWriter, error) {
	flag := os.O_RDWR | os.O_CREATE | os.O_APPEND
	if opts != nil && opts.Overwrite {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("rollout: open output: %w", err)
	}
	if err := repairTail(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("rollout: repair %s: %w", path, err)
	}
	return &JSONLWriter{path: path, f: f}, nil
}

// repairTail truncates f after its last newline when it does not end with one.
func repairTail(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	buf := make([]byte, 64<<10)
	for pos := end; pos > 0; {
		n := int64(len(buf))
		if n > pos {
			n = pos
		}
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil && err != io.EOF {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if keep := pos + int64(i) + 1; keep < end {
				return f.Truncate(keep)
			}
			return nil
		}
	}
	if end > 0 { // no newline at all: one partial line
		return f.Truncate(0)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Write appends t as one line. After a failed write every later Write
// fails too (the file may end with a partial line; reopening repairs it).
func (w *JSONLWriter) Write(t *retrain.Trajectory) error {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if err := EncodeTrajectory(buf, t); err != nil {
		return fmt.Errorf("rollout: encode trajectory %s: %w", t.ID, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		return fmt.Errorf("rollout: write %s: %w", w.path, os.ErrClosed)
	}
	if _, err := w.f.Write(buf.Bytes()); err != nil {
		w.err = fmt.Errorf("rollout: write %s: %w", w.path, err)
		return w.err
	}
	w.n++
	return nil
}

// Lines is the number of lines written since the file was opened.
func (w *JSONLWriter) Lines() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Close syncs and closes the file. It is safe to call more than once.
func (w *JSONLWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := errors.Join(w.f.Sync(), w.f.Close())
	w.f = nil
	if err != nil {
		return fmt.Errorf("rollout: close %s: %w", w.path, err)
	}
	return nil
}

// Key identifies one episode of a run: a task and a sample index.
type Key struct {
	TaskID string
	Sample int
}

// Completed reads a JSONL file of trajectories and returns the episodes it
// holds that succeeded, for resuming a run: those are skipped, while failed
// episodes (a line with an error) are run again, their new line appended
// after the failed one. A missing file holds none. A last line without a
// newline (a killed writer) is ignored, as [OpenJSONL] truncates it away;
// any other line that is not a trajectory is an error naming it.
func Completed(path string) (map[Key]bool, error) {
	done := map[Key]bool{}
	err := ScanWritten(path, func(k Key, failed bool, _ []byte) error {
		if !failed {
			done[k] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}

// ScanWritten calls f with each whole line of the trajectory file at path
// (a rollout's output, for resuming it) and the identity of its episode:
// its key, and whether it failed (a line with an error). Only the identity
// is decoded: resuming a file of a million trajectories must not decode a
// million conversations. A missing file holds no line; a last line without
// a newline (a killed writer) is ignored, as [OpenJSONL] truncates it away;
// any other line that is not a trajectory is an error naming it. An error
// of f stops the scan and is returned as is.
func ScanWritten(path string, f func(k Key, failed bool, line []byte) error) error {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rollout: resume: %w", err)
	}
	defer file.Close()
	for line, err := range ReadLines(file) {
		if err != nil {
			return fmt.Errorf("rollout: resume: read %s: %w", path, err)
		}
		if line.Unterminated {
			break // a partial last line (a killed writer); OpenJSONL trims it
		}
		var row struct {
			ID   string `json:"id"`
			Task struct {
				ID string `json:"id"`
			} `json:"task"`
			Sample *int   `json:"sample"`
			Error  string `json:"error"`
		}
		err := json.Unmarshal(line.Data, &row)
		switch {
		case err != nil:
		case row.ID == "":
			err = errors.New(`no "id"`)
		case row.Sample == nil:
			err = errors.New(`no "sample"`)
		}
		if err != nil {
			return fmt.Errorf("rollout: resume: %s line %d is not a trajectory (%v): --out must be a file written by retrain rollout (fix or delete that line, or choose another --out)", path, line.Number, err)
		}
		if err := f(Key{row.Task.ID, *row.Sample}, row.Error != "", line.Data); err != nil {
			return err
		}
	}
	return nil
}
