// Package fstask is the "fs_task" environment: file tasks that the model
// does through the reference filesystem MCP server
// (@modelcontextprotocol/server-filesystem), in a private temporary
// workspace, rewarded by the files it leaves behind. It needs no network
// once the server is installed.
//
// A task names the files to create before the episode ("files") and what the
// workspace must hold at the end ("expect": a path and a text the file must
// contain; null for a file that must not exist):
//
//	{"id": "rename", "prompt": "Rename draft.txt to final.txt.",
//	 "files": {"draft.txt": "report v1\n"},
//	 "expect": {"final.txt": "report v1", "draft.txt": null}}
//
// The episode is the multi-turn tool environment (package toolenv) over the
// server's file tools; the final answer's reward is the fraction of the
// expectations met. Each environment runs its own server over its own
// workspace, emptied at every Reset, so that concurrent episodes cannot see
// each other's files; the model writes paths relative to the workspace.
//
//	e := fstask.New(&fstask.Options{Server: []string{"node", "/path/to/server-filesystem/dist/index.js"}})
//	defer e.Close()
//	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Task: fstask.ExampleTasks()[0]})
package fstask

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/toolenv"
	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/mcp"
)

// Name is the name the environment is registered under.
const Name = "fs_task"

// SystemPrompt frames the task; the dialect's tool instructions follow it.
const SystemPrompt = "You work on files with the tools below. Your workspace is the current directory: " +
	"write paths relative to it, such as notes/todo.txt; other directories are out of reach. " +
	"When the task is done, reply with a one-line summary inside <answer></answer>."

// DefaultServer is the command that runs the filesystem server when
// Options.Server is empty. The workspace directory is appended to it.
var DefaultServer = []string{"npx", "-y", "@modelcontextprotocol/server-filesystem@2026.8.31"}

// Tools are the server's tools offered to the model.
var Tools = []string{"read_text_file", "write_file", "edit_file", "create_directory", "list_directory",
	"directory_tree", "move_file", "search_files", "get_file_info"}

func init() {
	env.MustRegisterSpec(env.NewSpec(Name,
		"file tasks through the reference filesystem MCP server in a private workspace, rewarded by the resulting files",
		func() Config {
			return Config{Server: slices.Clone(DefaultServer), CommonConfig: toolenv.DefaultCommonConfig()}
		}, construct))
}

// Config is the JSON configuration of the registered environment.
type Config struct {
	// Server is the command line of the filesystem server, without the
	// workspace; default DefaultServer.
	Server []string `json:"server" doc:"the command line of the filesystem server, without the workspace (which is appended)"`
	toolenv.CommonConfig
}

func construct(c Config) (env.Factory, error) {
	if c.Server != nil && (len(c.Server) == 0 || c.Server[0] == "") {
		return nil, errors.New(`config key "server" must be a command line, e.g. ["node", "/path/to/server-filesystem/dist/index.js"]`)
	}
	if c.MaxSteps < 0 {
		return nil, fmt.Errorf("config key \"max_steps\" is %d; it must be positive (or 0 for the default)", c.MaxSteps)
	}
	o := &Options{Server: c.Server, Env: toolenv.Options{
		SystemPrompt:         c.SystemPrompt,
		MaxSteps:             c.MaxSteps,
		InvalidActionPenalty: c.InvalidActionPenalty,
		ToolTimeout:          time.Duration(c.ToolTimeout),
	}}
	if c.Dialect != "" {
		d, err := dialect.Get(c.Dialect)
		if err != nil {
			return nil, fmt.Errorf("config key \"dialect\": %w", err)
		}
		o.Env.Dialect = d
	}
	return env.FactoryFunc(func() (retrain.Environment, error) { return New(o), nil }), nil
}

// Options configure the environment. Nil means defaults.
type Options struct {
	// Server is the command line of the filesystem server, without the
	// workspace (which is appended); empty means DefaultServer.
	Server []string
	// Env configures the tool environment. Its Providers and AnswerReward
	// are set by fs_task; an empty SystemPrompt means SystemPrompt.
	Env toolenv.Options
	// MCP configures the connection to the server; nil means defaults.
	MCP *mcp.Options
}

// Env is one fs_task environment: a workspace, its filesystem server, and
// the tool environment over them. It is not safe for concurrent use.
type Env struct {
	opts   Options
	inner  *toolenv.Env
	dir    string      // the workspace, made on first use
	client *mcp.Client // the server over dir
	task   retrain.Task
	closed bool
}

var (
	_ env.DialectEnv   = (*Env)(nil)
	_ retrain.Renderer = (*Env)(nil)
)

// New returns an environment; nothing starts until Setup.
func New(opts *Options) *Env {
	e := &Env{}
	if opts != nil {
		e.opts = *opts
	}
	if len(e.opts.Server) == 0 {
		e.opts.Server = DefaultServer
	}
	to := e.opts.Env
	if to.SystemPrompt == "" {
		to.SystemPrompt = SystemPrompt
	}
	to.Providers = []tool.Provider{(*workspaceTools)(e)}
	to.AnswerReward = e.reward
	e.inner = toolenv.New(&to)
	return e
}

// workspaceTools is the provider of the workspace's server tools: it makes
// the workspace and the client on first use.
type workspaceTools Env

func (w *workspaceTools) Tools(ctx context.Context) ([]tool.Tool, error) {
	e := (*Env)(w)
	if e.client == nil {
		dir, err := os.MkdirTemp("", "retrain-fs_task-*")
		if err != nil {
			return nil, fmt.Errorf("fs_task: making the workspace: %w", err)
		}
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		args := append(slices.Clone(e.opts.Server[1:]), dir)
		c, err := mcp.NewClient(&mcp.ServerConfig{Name: "filesystem", Command: e.opts.Server[0], Args: args, Allow: Tools}, e.opts.MCP)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("fs_task: %w", err)
		}
		e.dir, e.client = dir, c
	}
	return e.client.Tools(ctx)
}

// Name describes the provider in error messages.
func (w *workspaceTools) Name() string { return "fs_task filesystem server" }

// Dialect is the dialect of the prompts.
func (e *Env) Dialect() dialect.Dialect { return e.inner.Dialect() }

// Workspace is the directory of the episode's files ("" before Setup).
func (e *Env) Workspace() string { return e.dir }

// Setup makes the workspace, starts the server and lists its tools.
func (e *Env) Setup(ctx context.Context) error {
	if e.closed {
		return fmt.Errorf("fs_task: Setup: %w", retrain.ErrClosed)
	}
	return e.inner.Setup(ctx)
}

// Reset empties the workspace, creates the task's files and starts the
// episode. A task without "expect" metadata is an error: it cannot be
// scored.
func (e *Env) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed {
		return retrain.Observation{}, nil, fmt.Errorf("fs_task: Reset: %w", retrain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("fs_task: Reset: %w", err)
	}
	files, err := fileMap(opts.Task, "files")
	if err != nil {
		return retrain.Observation{}, nil, err
	}
	expect, err := fileMap(opts.Task, "expect")
	if err != nil {
		return retrain.Observation{}, nil, err
	}
	if len(expect) == 0 {
		return retrain.Observation{}, nil, fmt.Errorf(`fs_task: task %q has no "expect" metadata, so it cannot be scored; add e.g. "expect": {"notes/todo.txt": "buy milk"}`, opts.Task.ID)
	}
	if err := e.Setup(ctx); err != nil {
		return retrain.Observation{}, nil, err
	}
	if err := e.prepare(files); err != nil {
		return retrain.Observation{}, nil, err
	}
	e.task = opts.Task
	return e.inner.Reset(ctx, opts)
}

// prepare empties the workspace and writes files into it.
func (e *Env) prepare(files map[string]*string) error {
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		return fmt.Errorf("fs_task: reading the workspace: %w", err)
	}
	for _, de := range entries {
		if err := os.RemoveAll(filepath.Join(e.dir, de.Name())); err != nil {
			return fmt.Errorf("fs_task: emptying the workspace: %w", err)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if files[p] == nil {
			continue
		}
		full := filepath.Join(e.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("fs_task: %w", err)
		}
		if err := os.WriteFile(full, []byte(*files[p]), 0o644); err != nil {
			return fmt.Errorf("fs_task: %w", err)
		}
	}
	return nil
}

// Step applies the model's action; see package toolenv.
func (e *Env) Step(ctx context.Context, action retrain.Action) (retrain.Step, error) {
	if e.closed {
		return retrain.Step{}, fmt.Errorf("fs_task: Step: %w", retrain.ErrClosed)
	}
	return e.inner.Step(ctx, action)
}

// Render shows the conversation so far.
func (e *Env) Render() (string, error) { return e.inner.Render() }

// Close stops the server and removes the workspace. It is safe to call more
// than once.
func (e *Env) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.inner.Close()
	if e.client != nil {
		err = errors.Join(err, e.client.Close())
	}
	if e.dir != "" {
		err = errors.Join(err, os.RemoveAll(e.dir))
	}
	return err
}

// reward is the fraction of the task's expectations the workspace meets.
func (e *Env) reward(task retrain.Task, _ string) float64 {
	expect, err := fileMap(task, "expect")
	if err != nil || len(expect) == 0 || e.dir == "" {
		return 0
	}
	met := 0
	for p, want := range expect {
		b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(p)))
		switch {
		case want == nil:
			if errors.Is(err, os.ErrNotExist) {
				met++
			}
		case err == nil && strings.Contains(string(b), *want):
			met++
		}
	}
	return float64(met) / float64(len(expect))
}

// fileMap reads a task's metadata key as a map from relative paths to texts
// (nil for null).
func fileMap(task retrain.Task, key string) (map[string]*string, error) {
	v, ok := task.Metadata[key]
	if !ok || v == nil {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("fs_task: task %q: metadata %q: %s", task.ID, key, fmt.Sprintf(format, args...))
	}
	out := map[string]*string{}
	add := func(p string, text *string) error {
		if !filepath.IsLocal(filepath.FromSlash(p)) {
			return bad("path %q must be relative and stay inside the workspace", p)
		}
		out[p] = text
		return nil
	}
	switch m := v.(type) {
	case map[string]string:
		for p, s := range m {
			if err := add(p, &s); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for p, x := range m {
			var text *string
			switch x := x.(type) {
			case string:
				text = &x
			case nil:
			default:
				return nil, bad("the value for %q must be a string (or null), got %T", p, x)
			}
			if err := add(p, text); err != nil {
				return nil, err
			}
		}
	default:
		return nil, bad(`must be an object of paths, e.g. {"notes/todo.txt": "buy milk"}, got %T`, v)
	}
	return out, nil
}

// ExampleTasks are a few tasks to try the environment with.
func ExampleTasks() []retrain.Task {
	return []retrain.Task{
		{ID: "todo", Prompt: "Create the file notes/todo.txt containing the line: buy milk",
			Metadata: map[string]any{"expect": map[string]any{"notes/todo.txt": "buy milk"}}},
		{ID: "rename", Prompt: "Rename draft.txt to final.txt.",
			Metadata: map[string]any{"files": map[string]any{"draft.txt": "report v1\n"}, "expect": map[string]any{"final.txt": "report v1", "draft.txt": nil}}},
		{ID: "port", Prompt: "In config.ini, change the port from 8080 to 9090.",
			Metadata: map[string]any{"files": map[string]any{"config.ini": "[server]\nport = 8080\n"}, "expect": map[string]any{"config.ini": "port = 9090"}}},
	}
}
