package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// Both clients send the same requests, byte for byte, and write one right
// episode per task.
func TestSameRequests(t *testing.T) {
	const episodes = 6
	bodies := map[string][]string{}
	for _, v := range []struct {
		name string
		run  func(context.Context, *Workload) (WorkerResult, error)
	}{{Retrain, RunRetrain}, {Baseline, RunBaseline}} {
		o := ServerOptions(DefaultTokens, 0, 0)
		o.Record = true
		srv := openaitest.NewServer(o)
		out := filepath.Join(t.TempDir(), v.name+".jsonl")
		res, err := v.run(context.Background(), &Workload{URL: srv.URL, Episodes: episodes, Concurrency: 1, Out: out})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Variant != v.name || res.Episodes != episodes || res.Lines != episodes || res.Failed != 0 || res.WallSeconds <= 0 {
			t.Errorf("%s: result %+v", v.name, res)
		}
		got, err := CheckOutput(out, DefaultTokens)
		if err != nil {
			t.Fatal(err)
		}
		if got.Correct != episodes || got.BadTokens != 0 {
			t.Errorf("%s: output %+v", v.name, got)
		}
		for _, r := range srv.Recorded() {
			// retrain sends the episode's drawn sampling seed (recorded in
			// each turn); the baseline has no use for one. The rest must match.
			bodies[v.name] = append(bodies[v.name], seedField.ReplaceAllString(string(r.Raw), ""))
		}
	}
	if len(bodies[Retrain]) != 2*episodes {
		t.Fatalf("%d requests from retrain, want %d", len(bodies[Retrain]), 2*episodes)
	}
	if diff := cmp.Diff(bodies[Retrain], bodies[Baseline]); diff != "" {
		t.Errorf("request bodies (-retrain +baseline):\n%s", diff)
	}
	var first struct {
		Messages []struct{ Role, Content string } `json:"messages"`
		Logprobs bool                             `json:"logprobs"`
	}
	if err := json.Unmarshal([]byte(bodies[Retrain][1]), &first); err != nil {
		t.Fatal(err)
	}
	if !first.Logprobs || len(first.Messages) != 4 || !strings.HasPrefix(first.Messages[3].Content, "<result>") {
		t.Errorf("second request %+v: want logprobs and system, user, assistant, <result>", first)
	}
}

func TestResponderPadsReplies(t *testing.T) {
	system, err := SystemPrompt()
	if err != nil {
		t.Fatal(err)
	}
	req := &openaitest.ChatRequest{Messages: []openaitest.Message{
		{Role: "system", Content: openaitest.Content(system)},
		{Role: "user", Content: "What is 6 * 7?"},
	}}
	r := responder(200)(req)
	if n := len(r.Content); n < 780 || n > 800 {
		t.Errorf("reply of %d bytes, want about 800 (4 a token)", n)
	}
	if !strings.HasPrefix(r.Content, "<think>\n") || !strings.HasSuffix(r.Content, `</think>
<tool>{"name": "calculator", "args": {"expression":"6 * 7"}}</tool>`) {
		t.Errorf("reply %q", r.Content)
	}
	if r := responder(5)(req); strings.Contains(r.Content, "<think>") {
		t.Errorf("a 5-token reply was padded: %q", r.Content)
	}
}

func TestCheckOutput(t *testing.T) {
	ids := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = "7"
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	retrainTurn := `{"action":{"text":"%s","tokens":{"ids":` + ids(3) + `,"logprobs":` + ids(3) + `}}}`
	line := func(id, answer, turns string) string {
		return `{"id":"` + id + `","task":{"answer":"` + answer + `"},"turns":[` + turns + `]}`
	}
	rt := func(text string) string { return strings.Replace(retrainTurn, "%s", text, 1) }
	baseTurn := `{"token_ids":` + ids(3) + `,"logprobs":` + ids(3) + `}`
	tests := []struct {
		name  string
		lines []string
		want  Output
		err   string
	}{
		{name: "retrain lines", lines: []string{line("a", "4", rt("")+","+rt("4")), line("b", "5", rt("")+","+rt("5"))},
			want: Output{Lines: 2, Unique: 2, Correct: 2}},
		{name: "baseline line", lines: []string{`{"id":"a","task":{"answer":"4"},"answer":"4","turns":[` + baseTurn + "," + baseTurn + `]}`},
			want: Output{Lines: 1, Unique: 1, Correct: 1}},
		{name: "repeated id, failed, wrong, short tokens", lines: []string{
			line("a", "4", rt("")+","+rt("4")),
			line("a", "4", rt("")+","+rt("4")),
			`{"id":"b","error":"server down","turns":[]}`,
			line("c", "4", rt("")+","+rt("5")),
			`{"id":"d","task":{"answer":"1"},"answer":"1","turns":[{"token_ids":[1],"logprobs":[1]},` + baseTurn + `]}`,
		}, want: Output{Lines: 5, Unique: 4, Failed: 1, Correct: 3, BadTokens: 1}},
		{name: "blank lines skipped", lines: []string{"", line("a", "4", rt("")+","+rt("4")), "  "},
			want: Output{Lines: 1, Unique: 1, Correct: 1}},
		{name: "not JSON", lines: []string{line("a", "4", rt("")+","+rt("4")), `{"id":`}, err: "line 2 is not an episode"},
		{name: "no id", lines: []string{`{"turns":[]}`}, err: "line 1 is not an episode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.jsonl")
			content := strings.Join(tt.lines, "\n") + "\n"
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := CheckOutput(path, 3)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Bytes = int64(len(content))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := CheckOutput(filepath.Join(t.TempDir(), "missing"), 3); err == nil {
		t.Error("a missing file checked")
	}
}

// FuzzCheckOutput checks that any file is counted without panicking and
// that the counts are consistent.
func FuzzCheckOutput(f *testing.F) {
	f.Add(`{"id":"a","task":{"answer":"4"},"answer":"4","turns":[{"token_ids":[1],"logprobs":[1]},{"token_ids":[1],"logprobs":[1]}]}` + "\n")
	f.Add(`{"id":"a","error":"x"}` + "\n" + `{"id":"a"}`)
	f.Add("\n\n{}\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(dir, "out.jsonl")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := CheckOutput(path, 1)
		if err != nil {
			return
		}
		if o.Unique > o.Lines || o.Failed > o.Lines || o.Correct > o.Lines-o.Failed || o.Bytes != int64(len(content)) {
			t.Fatalf("inconsistent counts %+v for %q", o, content)
		}
	})
}

func TestRunWorkerArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--worker", "python"}, `--worker is "python"`},
		{[]string{"--worker", Retrain, "--episodes", "x"}, "invalid value"},
		{[]string{"--worker", Retrain, "extra"}, `unexpected argument "extra"`},
		{[]string{"--worker", Retrain, "--episodes", "1", "--concurrency", "1", "--out", "x"}, "URL is empty"},
		{[]string{"--worker", Baseline, "--url", "http://127.0.0.1:1/v1", "--episodes", "0", "--concurrency", "1", "--out", "x"}, "Episodes is 0"},
	}
	for _, tt := range tests {
		var out strings.Builder
		err := RunWorker(context.Background(), tt.args, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

// seedField matches the sampling seed in a request body.
var seedField = regexp.MustCompile(`,"seed":-?[0-9]+`)
