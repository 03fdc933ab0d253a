package fstask_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/env/fstask"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/tool/mcp/mcptest"
)

func newEnv(t *testing.T) *fstask.Env {
	t.Helper()
	e := fstask.New(&fstask.Options{Server: mcptest.Command(t, mcptest.Filesystem)})
	t.Cleanup(func() { e.Close() })
	return e
}

func toolCall(name, args string) retrain.Action {
	return retrain.Action{Kind: retrain.ActionToolCall, Raw: name, ToolCalls: []retrain.ToolCall{{Name: name, Arguments: json.RawMessage(args)}}}
}

func answer(text string) retrain.Action {
	return retrain.Action{Kind: retrain.ActionText, Text: text, Raw: "<answer>" + text + "</answer>"}
}

// TestEpisodeThroughFakeModel plays a whole episode: a scripted model served
// by the fake OpenAI server, the OpenAI client, rollout.Run, and tool calls
// that go to the real filesystem MCP server.
func TestEpisodeThroughFakeModel(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Script: []openaitest.Reply{
		{Content: `<tool>{"name": "create_directory", "args": {"path": "notes"}}</tool>`},
		{Content: `<tool>{"name": "write_file", "args": {"path": "notes/todo.txt", "content": "buy milk\n"}}</tool>` +
			`<tool>{"name": "read_text_file", "args": {"path": "/etc/hostname"}}</tool>`},
		{Content: `<tool>{"name": "read_text_file", "args": {"path": "notes/todo.txt"}}</tool>`},
		{Content: `<answer>notes/todo.txt now says to buy milk</answer>`},
	}})
	defer srv.Close()
	client, err := openai.New(&openai.Options{BaseURL: srv.URL, Model: openaitest.DefaultModel})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()

	e := newEnv(t)
	if err := e.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	task := fstask.ExampleTasks()[0]
	traj, err := rollout.Run(t.Context(), e, client, &rollout.Options{Task: task, EnvName: fstask.Name})
	if err != nil {
		t.Fatal(err)
	}
	if traj.StopReason != "terminated" || len(traj.Turns) != 4 {
		t.Fatalf("stop %q after %d turns", traj.StopReason, len(traj.Turns))
	}
	results := func(turn int) []retrain.ToolResult { return traj.Turns[turn].Observation.ToolResults }
	if r := results(1); len(r) != 2 || !r[0].Success || r[0].Output != "Successfully wrote to notes/todo.txt" {
		t.Errorf("write result = %+v", r)
	} else if r[1].Success || !strings.Contains(r[1].Error, "Access denied") {
		t.Errorf("reading outside the workspace = %+v, want a failed result the model sees", r[1])
	}
	if r := results(2); len(r) != 1 || r[0].Output != "buy milk\n" {
		t.Errorf("read result = %+v", r)
	}
	if got := traj.Turns[3].Reward; got != 1 {
		t.Errorf("final reward = %v, want 1", got)
	}
	// The conversation the model saw holds the tool results.
	var conv strings.Builder
	for _, m := range traj.Messages {
		conv.WriteString(m.Content + "\n")
	}
	for _, want := range []string{"Successfully wrote to notes/todo.txt", "Access denied", "buy milk"} {
		if !strings.Contains(conv.String(), want) {
			t.Errorf("the trajectory's messages lack %q", want)
		}
	}
	b, err := os.ReadFile(filepath.Join(e.Workspace(), "notes", "todo.txt"))
	if err != nil || string(b) != "buy milk\n" {
		t.Errorf("file on disk = %q, %v", b, err)
	}
}

func TestRewards(t *testing.T) {
	e := newEnv(t)
	tasks := fstask.ExampleTasks()
	tests := []struct {
		task    retrain.Task
		actions []retrain.Action
		want    float64
	}{
		{tasks[0], nil, 0},
		{tasks[1], []retrain.Action{toolCall("move_file", `{"source":"draft.txt","destination":"final.txt"}`)}, 1},
		{tasks[1], []retrain.Action{toolCall("write_file", `{"path":"final.txt","content":"report v1"}`)}, 0.5}, // draft.txt still there
		{tasks[2], []retrain.Action{toolCall("edit_file", `{"path":"config.ini","edits":[{"oldText":"8080","newText":"9090"}]}`)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.task.ID, func(t *testing.T) {
			if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: tt.task}); err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.actions {
				s, err := e.Step(t.Context(), a)
				if err != nil {
					t.Fatal(err)
				}
				if r := s.Observation.ToolResults; len(r) != 1 || !r[0].Success {
					t.Fatalf("tool results = %+v", r)
				}
			}
			s, err := e.Step(t.Context(), answer("done"))
			if err != nil {
				t.Fatal(err)
			}
			if !s.Terminated || s.Reward != tt.want {
				t.Errorf("terminated %v, reward %v; want reward %v", s.Terminated, s.Reward, tt.want)
			}
		})
	}
}

func TestResetEmptiesWorkspace(t *testing.T) {
	e := newEnv(t)
	task := fstask.ExampleTasks()[1]
	e.Reset(t.Context(), retrain.ResetOptions{Task: task})
	e.Step(t.Context(), toolCall("write_file", `{"path":"junk.txt","content":"x"}`))
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: task}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(e.Workspace())
	if len(entries) != 1 || entries[0].Name() != "draft.txt" {
		t.Errorf("workspace after Reset holds %v, want only draft.txt", entries)
	}
	dir := e.Workspace()
	e.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("workspace %s remains after Close", dir)
	}
}

func TestTaskErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		meta map[string]any
		want string
	}{
		{nil, `has no "expect" metadata`},
		{map[string]any{"expect": map[string]any{"../x": "y"}}, `path "../x" must be relative`},
		{map[string]any{"expect": map[string]any{"/etc/x": "y"}}, `path "/etc/x" must be relative`},
		{map[string]any{"expect": map[string]any{"a": 1.0}}, `must be a string (or null)`},
		{map[string]any{"expect": "a"}, `must be an object of paths`},
		{map[string]any{"expect": map[string]any{"a": "b"}, "files": []any{"a"}}, `metadata "files": must be an object`},
	}
	for _, tt := range tests {
		_, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{ID: "t", Prompt: "p", Metadata: tt.meta}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.meta, err, tt.want)
		}
	}
}

func TestRegistered(t *testing.T) {
	cfg, _ := json.Marshal(map[string]any{"server": mcptest.Command(t, mcptest.Filesystem), "max_steps": 3})
	_, e := envtest.Registered(t, fstask.Name, cfg)
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: fstask.ExampleTasks()[0]})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range obs.Tools {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != strings.Join(fstask.Tools, ",") {
		t.Errorf("tools = %v, want %v", names, fstask.Tools)
	}
	if !strings.Contains(obs.Messages[0].Content, "Your workspace is the current directory") {
		t.Errorf("system prompt = %q", obs.Messages[0].Content)
	}

	for _, bad := range []string{`{"server": []}`, `{"serverr": ["x"]}`, `{"dialect": "nope"}`} {
		if _, err := env.New(fstask.Name, json.RawMessage(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestConformance(t *testing.T) {
	cmd := mcptest.Command(t, mcptest.Filesystem)
	envtest.Run(t, func() retrain.Environment { return fstask.New(&fstask.Options{Server: cmd}) }, &envtest.Options{
		Task: fstask.ExampleTasks()[1],
		Actions: func(obs retrain.Observation) retrain.Action {
			if obs.Kind == retrain.ObsInitial {
				return toolCall("list_directory", `{"path":"."}`)
			}
			return answer("done")
		},
	})
}
