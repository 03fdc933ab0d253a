package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

// traj returns a trajectory line (with its newline) of id, sample 0.
func traj(id string) string {
	return fmt.Sprintf(`{"id":%q,"task":{"id":%q},"sample":0,"stop_reason":"terminated"}`+"\n", id, strings.TrimSuffix(id, "#0"))
}

// read collects what ReadTrajectories yields: ids, and errors as "ERR <msg>".
func read(t *testing.T, input string, opts *ReadOptions) []string {
	t.Helper()
	var got []string
	for tr, err := range ReadTrajectories(strings.NewReader(input), opts) {
		if err != nil {
			if tr != nil {
				t.Errorf("a trajectory with the error %v", err)
			}
			got = append(got, "ERR "+err.Error())
			continue
		}
		got = append(got, tr.ID)
	}
	return got
}

func TestReadTrajectories(t *testing.T) {
	whole := traj("a#0") + traj("b#0")
	lastWhole := strings.TrimSuffix(traj("c#0"), "\n")
	tests := []struct {
		name, input string
		opts        ReadOptions
		want        []string
		cut         string // "line N: err" reported to Cut
	}{
		{name: "empty", input: "", want: nil},
		{name: "whole lines", input: whole, want: []string{"a#0", "b#0"}},
		{name: "blank lines", input: "\n  \n" + traj("a#0") + "\r\n\t\n" + traj("b#0") + "\n", want: []string{"a#0", "b#0"}},
		{name: "CRLF", input: strings.ReplaceAll(whole, "\n", "\r\n"), want: []string{"a#0", "b#0"}},
		{name: "partial last line", input: whole + `{"id":"c#0","task":{"id`, want: []string{"a#0", "b#0"},
			cut: "line 3: unexpected end of JSON input"},
		{name: "only a partial line", input: `{"id":"c`, cut: "line 1: unexpected end of JSON input"},
		{name: "whole last line without a newline", input: whole + lastWhole, want: []string{"a#0", "b#0", "c#0"}},
		{name: "bad line, then more", input: traj("a#0") + "\n" + `{"question": "q"}` + "\n" + "[1]\n" + `{"id":"x"}` + "\n" + traj("b#0"),
			opts: ReadOptions{Name: "f.jsonl"},
			want: []string{"a#0", `ERR f.jsonl line 3 is not a trajectory: no "id"`,
				"ERR f.jsonl line 4 is not a trajectory: not a JSON object",
				`ERR f.jsonl line 5 is not a trajectory: no "sample"`, "b#0"}},
		{name: "bad last line without a newline", input: traj("a#0") + `{"question": "q"}`, want: []string{"a#0"},
			cut: `line 2: no "id"`},
		{name: "default name", input: "{}\n", want: []string{`ERR trajectories line 1 is not a trajectory: no "id"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cut string
			opts := tt.opts
			opts.Cut = func(line int, err error) {
				if cut != "" {
					t.Errorf("Cut called twice")
				}
				cut = fmt.Sprintf("line %d: %v", line, err)
			}
			got := read(t, tt.input, &opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("yielded (-want +got):\n%s", diff)
			}
			if cut != tt.cut {
				t.Errorf("Cut got %q, want %q", cut, tt.cut)
			}
		})
	}
}

func TestReadTrajectoriesBadLineError(t *testing.T) {
	input := traj("a#0") + "{not json}\n"
	for _, err := range ReadTrajectories(strings.NewReader(input), &ReadOptions{Name: "x.jsonl"}) {
		if err == nil {
			continue
		}
		var le *LineError
		if !errors.As(err, &le) || le.Line != 2 || le.Name != "x.jsonl" {
			t.Fatalf("error %v (%T), want a *LineError for x.jsonl line 2", err, err)
		}
		var syntax *json.SyntaxError
		if !errors.As(err, &syntax) {
			t.Errorf("error %v does not wrap the JSON syntax error", err)
		}
		return
	}
	t.Fatal("no error for the bad line")
}

// Lines of many megabytes (token ids, long conversations) are read whole.
func TestReadTrajectoriesHugeLine(t *testing.T) {
	big := strings.Repeat("x", 12<<20)
	tr := retrain.Trajectory{ID: "big#0", Task: retrain.Task{ID: "big", Prompt: big}}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	input := traj("a#0") + string(b) + "\n" + traj("b#0")
	var ids []string
	for got, err := range ReadTrajectories(strings.NewReader(input), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == "big#0" && got.Task.Prompt != big {
			t.Errorf("the huge line's prompt has %d bytes, want %d", len(got.Task.Prompt), len(big))
		}
		ids = append(ids, got.ID)
	}
	if diff := cmp.Diff([]string{"a#0", "big#0", "b#0"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

// countingReader counts the Read calls made on it.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// Breaking out of the loop stops the reading: the iterator yields no more
// (the range loop would panic if it did) and reads no further.
func TestReadTrajectoriesEarlyBreak(t *testing.T) {
	var input strings.Builder
	for i := range 10000 {
		input.WriteString(traj(fmt.Sprintf("t%d#0", i)))
	}
	cr := &countingReader{r: iotest.OneByteReader(strings.NewReader(input.String()))}
	n := 0
	for _, err := range ReadTrajectories(cr, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if reads := cr.reads; reads > 3*len(traj("t0#0"))+10 {
		t.Errorf("%d reads after taking 2 short lines: the reader went on", reads)
	}
	// Breaking on an error line too.
	for _, err := range ReadTrajectories(strings.NewReader("bad\n"+traj("a#0")), nil) {
		if err == nil {
			t.Fatal("no error for the first line")
		}
		break
	}
}

// A failed read ends the sequence with its error, after the lines before it.
func TestReadTrajectoriesReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(traj("a#0")), iotest.ErrReader(boom))
	var got []string
	var last error
	for tr, err := range ReadTrajectories(r, &ReadOptions{Name: "f"}) {
		if err != nil {
			last = err
			continue
		}
		got = append(got, tr.ID)
	}
	if !errors.Is(last, boom) || !strings.Contains(last.Error(), "read f") || len(got) != 1 {
		t.Errorf("got %v then %v; want a#0 then the read error", got, last)
	}
	var le *LineError
	if errors.As(last, &le) {
		t.Errorf("a read error is a *LineError: %v", last)
	}
}

// Files written before Trajectory.Dialect existed kept the dialect in the
// reset info (toolenv's): they read as if written today, and score the same.
func TestReadOldFileDialect(t *testing.T) {
	input := `{"id":"old#0","task":{"id":"old"},"sample":0,"reset_info":{"dialect":"hermes","tools":["calculator"]}}
{"id":"new#0","task":{"id":"new"},"sample":0,"dialect":"smolagent","reset_info":{"dialect":"hermes"}}
{"id":"plain#0","task":{"id":"plain"},"sample":0}
{"id":"odd#0","task":{"id":"odd"},"sample":0,"reset_info":{"dialect":7}}
`
	got := map[string]string{}
	for tr, err := range ReadTrajectories(strings.NewReader(input), nil) {
		if err != nil {
			t.Fatal(err)
		}
		got[tr.ID] = tr.Dialect
	}
	want := map[string]string{"old#0": "hermes", "new#0": "smolagent", "plain#0": "", "odd#0": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dialects (-want +got):\n%s", diff)
	}
	// DecodeTrajectory, for rows read otherwise, does the same and checks nothing else.
	tr, err := DecodeTrajectory([]byte(`{"turns":[],"reset_info":{"dialect":"hermes"}}`))
	if err != nil || tr.Dialect != "hermes" {
		t.Errorf("DecodeTrajectory: %+v, %v", tr, err)
	}
	if _, err := DecodeTrajectory([]byte(`{"turns":`)); err == nil {
		t.Error("DecodeTrajectory of a cut line: no error")
	}
}

// A trajectory read back is the one written: the reader adds nothing.
func TestReadTrajectoriesRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	w, err := OpenJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []*retrain.Trajectory{
		{ID: "a#1", Task: retrain.Task{ID: "a"}, Sample: 1, Dialect: "hermes", StopReason: retrain.StopTerminated,
			Messages: []retrain.Message{{Role: retrain.RoleUser, Content: "hi"}}, Turns: []retrain.Turn{{FinishReason: retrain.FinishLength}}},
		{ID: "b#0", Task: retrain.Task{ID: "b"}, StopReason: retrain.StopError, Error: "boom", ErrorCause: retrain.CausePanic},
	}
	for _, tr := range want {
		if err := w.Write(tr); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var got []*retrain.Trajectory
	for tr, err := range ReadTrajectoryFile(path, nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
}

func TestReadTrajectoryFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.jsonl")
	n := 0
	for tr, err := range ReadTrajectoryFile(path, nil) {
		n++
		if tr != nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v, %v; want an os.ErrNotExist error", tr, err)
		}
	}
	if n != 1 {
		t.Errorf("%d yields, want 1", n)
	}
}

func TestReadLines(t *testing.T) {
	input := "a\n\n  \nb\r\n" + strings.Repeat("c", 200<<10) + "\nd"
	type line struct {
		N    int
		Data string
		Cut  bool
	}
	var got []line
	for l, err := range ReadLines(strings.NewReader(input)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line{l.Number, string(l.Data), l.Unterminated})
	}
	want := []line{{1, "a", false}, {4, "b", false}, {5, strings.Repeat("c", 200<<10), false}, {6, "d", true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// Whatever the input, the reader never panics, yields either a trajectory
// or an error, numbers bad lines within the input in increasing order, and
// stops when the loop breaks.
func FuzzReadTrajectories(f *testing.F) {
	f.Add([]byte(traj("a#0")+`{"id":"b`), 0)
	f.Add([]byte("\n\n{}\r\n[]\nnull\n"), 1)
	f.Add([]byte(`{"id":"a#0","sample":0,"reset_info":{"dialect":"hermes"}}`), 0)
	f.Add([]byte(traj("a#0")+traj("b#0")+"x"), 1)
	f.Add([]byte(`{"id":"a","sample":1e400}`+"\n"), 0)
	f.Fuzz(func(t *testing.T, data []byte, stopAfter int) {
		lines := bytes.Count(data, []byte("\n")) + 1
		n, lastLine := 0, 0
		for tr, err := range ReadTrajectories(bytes.NewReader(data), &ReadOptions{Cut: func(int, error) {}}) {
			n++
			if (tr == nil) == (err == nil) {
				t.Fatalf("yield %d: trajectory %v with error %v", n, tr, err)
			}
			var le *LineError
			if errors.As(err, &le) {
				if le.Line <= lastLine || le.Line > lines {
					t.Fatalf("bad line numbered %d after %d, in %d lines", le.Line, lastLine, lines)
				}
				lastLine = le.Line
			}
			if tr != nil && tr.ID == "" {
				t.Fatalf("a trajectory without an id: %+v", tr)
			}
			if stopAfter > 0 && n == stopAfter {
				break
			}
		}
		if n > lines {
			t.Fatalf("%d yields from %d lines", n, lines)
		}
	})
}
