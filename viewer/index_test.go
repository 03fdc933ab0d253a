package viewer

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/rollout"
)

// The index has a row per trajectory with the values the table shows, the
// offsets to read each line back, and the file's report.
func TestIndexFixture(t *testing.T) {
	path := writeFixture(t, t.TempDir())
	for _, workers := range []int{1, 3} {
		s, err := Open(context.Background(), []string{path}, &Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		f := s.Files()[0]
		ix := f.ix
		if f.Kind != KindTrajectories || f.Episodes != fixtureTasks*fixtureSamples {
			t.Fatalf("workers %d: kind %q, %d episodes", workers, f.Kind, f.Episodes)
		}
		r := ix.report
		if r.Tasks != fixtureTasks || r.Failed != 1 || r.Failures[retrain.CauseModel] != 1 || ix.drift != 1 {
			t.Errorf("workers %d: report %+v, drift %d", workers, r, ix.drift)
		}
		// Passes: t0 all 4, t1 samples 0 and 2, t2..t4 sample 0.
		if ix.pass != "correct" || r.Pass == nil || r.Pass.Passed != 4+2+3 {
			t.Errorf("pass %q, report pass %+v", ix.pass, r.Pass)
		}
		for i, e := range ix.rows {
			want := fixtureTrajectory(i/fixtureSamples, i%fixtureSamples)
			if e.Index != i || e.Line != i+1 || e.ID != want.ID || e.Sample != want.Sample || e.Failed != want.Failed() || e.Turns != len(want.Turns) {
				t.Errorf("row %d: %+v", i, e)
			}
			got, err := readEpisode(f, &ix.rows[i])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("episode %d read back (-want +got):\n%s", i, diff)
			}
		}
		if e := ix.rows[rowOf(t, s, "t3#1")]; !e.Drift {
			t.Error("t3#1 not marked as drifted")
		}
	}
}

// Lines that are not trajectories are counted and shown, not fatal; a last
// line cut short is skipped; lines of any length, CRLF and blank lines work.
func TestIndexBadAndCutLines(t *testing.T) {
	defer func(n int) { chunkSize = n }(chunkSize)
	chunkSize = 4 << 10
	var b bytes.Buffer
	for i := range 3 {
		tr := fixtureTrajectory(1, i)
		if i == 2 {
			tr.Task.Prompt = strings.Repeat("long prompt ", chunkSize/6) // a line longer than a chunk
		}
		if err := rollout.EncodeTrajectory(&b, tr); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			b.WriteString("not json\n\n   \n{\"id\": \"x\"}\r\n")
		}
	}
	b.WriteString(`{"id": "t9#0", "sample": 0, "task": {"id": "t9"`) // cut short
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), []string{path}, &Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ix := s.files[0].ix
	if len(ix.rows) != 3 || ix.rows[1].Line != 6 || ix.rows[2].Line != 7 {
		t.Fatalf("rows %+v", ix.rows)
	}
	if ix.badCount != 2 || ix.bad[0].Line != 2 || ix.bad[1].Line != 5 || !strings.Contains(ix.bad[1].Err, `no "sample"`) {
		t.Errorf("bad lines %+v", ix.bad)
	}
	if ix.cut != 8 {
		t.Errorf("cut line %d, want 8", ix.cut)
	}
	got, err := readEpisode(s.files[0], &ix.rows[2])
	if err != nil || len(got.Task.Prompt) < chunkSize {
		t.Errorf("the long line read back: %v", err)
	}
}

// A file's kind is told by its content; a file of neither kind, an empty
// file, a directory and a missing file are errors that say so.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path string
		want string
		is   error
	}{
		{write("tasks.jsonl", `{"prompt": "2+2", "answer": "4"}`+"\n"), "neither trajectories", ErrUnknownFormat},
		{write("empty.jsonl", "\n\n"), "empty", nil},
		{write("bad-train.jsonl", `{"type":"step","step":1}`+"\nnot json\n{}\n"), "line 2 is not a training log line", nil},
		{filepath.Join(dir, "missing.jsonl"), "no such file", os.ErrNotExist},
		{dir, "is a directory", nil},
	} {
		_, err := Open(t.Context(), []string{c.path}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %v, want %q", c.path, err, c.want)
		}
	}
	// A damaged first line does not hide a good file; it is listed.
	good := writeFixture(t, t.TempDir())
	data, _ := os.ReadFile(good)
	damaged := write("damaged.jsonl", "{\"id\": \"cut sho\n"+string(data))
	s, err := Open(t.Context(), []string{damaged}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := s.files[0]; f.Kind != KindTrajectories || f.Episodes != 20 || f.ix.badCount != 1 || f.ix.bad[0].Line != 1 {
		t.Errorf("damaged first line: %s, %d episodes, bad lines %+v", f.Kind, f.Episodes, f.ix.bad)
	}
	s.Close()

	// Told by content, not by name.
	traj := writeFixture(t, t.TempDir())
	train := fixtureTrainLog(t, t.TempDir())
	swapped := []string{filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "rollouts.jsonl")}
	for i, src := range []string{traj, train} {
		data, _ := os.ReadFile(src)
		os.WriteFile(swapped[i], data, 0o644)
	}
	s, err = Open(t.Context(), swapped, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.files[0].Kind != KindTrajectories || s.files[1].Kind != KindTrainLog {
		t.Errorf("kinds %q, %q", s.files[0].Kind, s.files[1].Kind)
	}
}

// Filters, sorts and pages select the rows they name.
func TestQuery(t *testing.T) {
	s, err := Open(t.Context(), []string{writeFixture(t, t.TempDir())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ix := s.files[0].ix
	ids := func(raw string) ([]string, int) {
		t.Helper()
		q, err := parseTableQuery(mustQuery(t, raw), 50)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		rows, n := ix.query(&q)
		var out []string
		for _, e := range rows {
			out = append(out, e.ID)
		}
		return out, n
	}
	for _, c := range []struct {
		query string
		want  []string
		n     int
	}{
		{"failed=yes", []string{"t2#3"}, 1},
		{"drift=1", []string{"t3#1"}, 1},
		{"task=t1&pass=yes", []string{"t1#0", "t1#2"}, 2},
		{"task=t4%230", []string{"t4#0"}, 1},
		{"min=1&task=t2", []string{"t2#0"}, 1},
		{"max=0.5&sort=adv&task=t3", []string{"t3#1", "t3#2", "t3#3"}, 3},
		{"stop=error", []string{"t2#3"}, 1},
		{"sort=reward&order=desc&per=2", []string{"t0#0", "t0#1"}, 20},
		{"sort=reward&per=2&page=2", []string{"t1#3", "t2#1"}, 20}, // the failed t2#3 (no reward) first
		{"sort=tokens&order=desc&per=1", []string{"t0#3"}, 20},
		{"per=3&page=7", []string{"t4#2", "t4#3"}, 20},
		{"per=3&page=9", nil, 20},
	} {
		got, n := ids(c.query)
		if diff := cmp.Diff(c.want, got); diff != "" || n != c.n {
			t.Errorf("%s: matched %d (want %d), rows (-want +got):\n%s", c.query, n, c.n, diff)
		}
	}
	for raw, want := range map[string]string{
		"sort=nope":  "sort=\"nope\" is not a column",
		"min=abc":    "min=\"abc\" is not a number",
		"page=0":     "page=\"0\"",
		"per=100000": "per=\"100000\"",
		"failed=x":   "failed=\"x\"",
		"order=up":   "order=\"up\"",
		"drift=x":    "drift=\"x\"",
		"max=NaN":    "max=\"NaN\"",
	} {
		if _, err := parseTableQuery(mustQuery(t, raw), 50); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", raw, err, want)
		}
	}
}

func mustQuery(t testing.TB, raw string) url.Values {
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// A training log keeps what it knows, leaves out what it does not, and
// marks a missing metric NaN; a last line being written is skipped.
func TestReadTrainLog(t *testing.T) {
	log, err := ReadTrainLog(strings.NewReader(
		`{"type":"step","step":2,"reward":0.5,"kl":0.01,"new":{"x":1}}` + "\n" +
			`{"type":"step","step":1,"reward":0.25,"accuracy":0.5}` + "\n" +
			"\n" +
			`{"type":"eval","step":0,"split":"held_out","accuracy":0.73,"parse_errors":0,"tasks":200,"n":4,"temperature":1}` + "\n" +
			`{"type":"note","text":"hi"}` + "\n" +
			`{"type":"step","step":3,"rew`))
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Steps) != 2 || log.Steps[0].Step != 1 || log.Steps[1].Reward != 0.5 || !math.IsNaN(log.Steps[1].Accuracy) || log.Other != 1 {
		t.Errorf("steps %+v, other %d", log.Steps, log.Other)
	}
	if len(log.Evals) != 1 || log.Evals[0].Accuracy != 0.73 || log.Evals[0].Split != "held_out" || log.Evals[0].Tasks != 200 {
		t.Errorf("evals %+v", log.Evals)
	}
	for in, want := range map[string]string{
		"{\"type\":\"step\"}\n":  `line 1 is not a training log line: no "step"`,
		"[1,2]\n":                "line 1 is not a training log line",
		"{\"step\":1}\n":         `no "type"`,
		"\n\n{\"type\":3}\n\n\n": "line 3",
	} {
		if _, err := ReadTrainLog(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

// The chart has a point per value, at its step, with the exact value, and
// leaves out missing values.
func TestDrawChart(t *testing.T) {
	svg := string(drawChart("c", "reward <&>", []series{{Name: "reward", Class: "s0", Points: []point{{1, 0.5}, {2, math.NaN()}, {3, 0.125}}}}))
	for _, want := range []string{`id="c"`, "reward &lt;&amp;&gt;", `data-step="1" data-value="0.5"`, `data-step="3" data-value="0.125"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, "<circle"); n != 2 {
		t.Errorf("%d points, want 2", n)
	}
	if empty := string(drawChart("e", "kl", []series{{Name: "kl", Points: []point{{1, math.NaN()}}}})); !strings.Contains(empty, "no values") {
		t.Errorf("empty chart: %s", empty)
	}
}

// Any line decodes into a row or an error, never a panic.
func FuzzDecodeIndexRow(f *testing.F) {
	var b bytes.Buffer
	rollout.EncodeTrajectory(&b, fixtureTrajectory(1, 0))
	f.Add(bytes.TrimSpace(b.Bytes()))
	f.Add([]byte(`{"id":"a","sample":0,"rewards":{"turns":[{"components":{"c":1}}],"rollout":{"c":1},"total":1}}`))
	f.Add([]byte(`{"type":"step","step":1}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, tr, err := decodeIndexRow(data)
		if err == nil && (e.ID == "" || tr == nil || len(tr.Turns) != e.Turns) {
			t.Errorf("decoded %q into %+v", data, e)
		}
	})
}

// Any input reads into a log or an error, never a panic; what reads has
// only step and eval lines, in step order.
func FuzzReadTrainLog(f *testing.F) {
	f.Add([]byte(`{"type":"step","step":2,"reward":0.5}` + "\n" + `{"type":"eval","step":1,"accuracy":1}` + "\n"))
	f.Add([]byte("{\"type\":\"x\"}\n\n{\"type\":\"step\",\"step\":1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := ReadTrainLog(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 1; i < len(log.Steps); i++ {
			if log.Steps[i].Step < log.Steps[i-1].Step {
				t.Errorf("steps out of order: %+v", log.Steps)
			}
		}
	})
}
