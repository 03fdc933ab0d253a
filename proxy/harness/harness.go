// Package harness is the "harness" environment: an episode runs an agent
// that someone else wrote (any program, any language, on any
// OpenAI-compatible client) as a subprocess, pointed at a fresh session of
// a recording proxy (package proxy) in front of the rollout's model; a
// verifier scores the end state; the trajectory is the proxy's record of
// the session plus the reward. It runs through rollout's Runner like any
// environment (groups, concurrency, retries, failures recorded).
//
//	retrain rollout --env harness --env-config '{"command": "node", "args": ["agent.mjs"]}' \
//	    --data tasks.jsonl --out agent.jsonl
//
// The agent runs in a code sandbox (package sandbox: bubblewrap, its own
// network namespace, the system's /usr read-only, limits) whose only way
// out is its proxy session: OPENAI_BASE_URL is http://127.0.0.1:41000/...
// inside the sandbox, relayed to the proxy's unix socket on the host. It
// gets OPENAI_API_KEY (a token made for the episode, which the proxy
// requires), the task's prompt on stdin, as its last argument or in an
// environment variable (prompt_via), and a fresh empty work directory (its
// working directory, HOME and TMPDIR, at the same path inside and out).
// Past the timeout its whole process tree is killed. Its output is kept up
// to max_output_bytes. The verifier runs in a sandbox of its own, without
// network, over the same work directory.
//
// An argument naming an existing file relative to the current directory
// (agent.mjs) is made absolute when the environment is configured, since
// the agent runs elsewhere; the directory of the command and of such a
// file is visible to the agent read-only (a script's modules sit beside
// it), as are the paths in read_only. With unsafe_no_sandbox the agent is
// a plain child process instead (the minimal environment of
// internal/procenv, killed with its process group at the timeout). The
// command, its arguments and every other key are the operator's
// configuration: no network client may set them (no key here is marked
// access:"client").
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/internal/httpserve"
	"github.com/retrain-rl/retrain/internal/procenv"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/serve"
	"github.com/retrain-rl/retrain/proxy"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/sandbox"
)

// Name is the name the environment is registered under.
const Name = "harness"

// Defaults of [Config].
const (
	DefaultTimeout        = 10 * time.Minute
	DefaultMaxOutputBytes = 1 << 20
	DefaultPromptEnv      = "TASK_PROMPT"
	// DefaultMemoryMB is the address-space limit of each process of the
	// agent. Node's WebAssembly, which its fetch (and so the openai npm
	// client) uses, reserves about 10 GiB of address space: below 12 GiB
	// node agents fail.
	DefaultMemoryMB   = 16 << 10
	DefaultProcesses  = 256
	DefaultFileSizeMB = 1 << 10
	// AgentPort is the port of the agent's proxy session inside the
	// sandbox (on the sandbox's own loopback).
	AgentPort = 41000
)

// Config is the environment's configuration. Every key is the operator's:
// a network client names no program.
type Config struct {
	Command        string            `json:"command" doc:"the agent program (required), found on PATH or a path"`
	Args           []string          `json:"args" doc:"the agent's arguments"`
	Env            map[string]string `json:"env" doc:"extra environment variables of the agent (the rest of this process's environment is not passed)"`
	PromptVia      string            `json:"prompt_via" doc:"how the task prompt is given: stdin, arg (appended to args) or env (in prompt_env)"`
	PromptEnv      string            `json:"prompt_env" doc:"the variable holding the prompt with prompt_via env (the task's answer is never given)"`
	Timeout        time.Duration     `json:"timeout" doc:"time limit of the agent; past it its process group is killed and the episode fails with cause timeout"`
	MaxOutputBytes int               `json:"max_output_bytes" doc:"bytes of the agent's stdout and stderr kept, each; the rest is discarded"`
	Verifier       []string          `json:"verifier" doc:"a command (program and arguments) run in the work directory after the agent: its reward is the number on its last stdout line, else 1 for exit status 0 and 0 otherwise"`
	Reward         string            `json:"reward" doc:"a reward function (see retrain rewards) scoring the agent's final answer (its last stdout line, else its last message) against the task's answer, when there is no verifier"`

	ReadOnly        []string `json:"read_only" doc:"host paths the agent and the verifier see, read-only, at the same place (besides the system's /usr and the directories of the command and of file arguments)"`
	MemoryMB        int64    `json:"memory_mb" doc:"address-space limit of each process in the sandbox, MiB (node needs 12288 or more)"`
	Processes       int      `json:"processes" doc:"processes and threads the sandbox may hold at once"`
	FileSizeMB      int64    `json:"file_size_mb" doc:"largest file the agent may write, MiB"`
	Bwrap           string   `json:"bwrap" doc:"the bubblewrap program (default: bwrap on PATH)"`
	UnsafeNoSandbox bool     `json:"unsafe_no_sandbox" doc:"UNSAFE: run the agent and the verifier as plain processes of this user, with the host's files and network (for machines without bwrap, and trusted agents only)"`
}

func defaults() Config {
	return Config{PromptVia: "stdin", PromptEnv: DefaultPromptEnv, Timeout: DefaultTimeout, MaxOutputBytes: DefaultMaxOutputBytes,
		MemoryMB: DefaultMemoryMB, Processes: DefaultProcesses, FileSizeMB: DefaultFileSizeMB}
}

func init() {
	env.MustRegisterSpec(env.NewSpec(Name, "runs an agent program (any language, any OpenAI client) through a recording proxy; a verifier scores the end state",
		defaults, build))
}

func build(c Config) (env.Factory, error) {
	switch {
	case c.Command == "":
		return nil, errors.New(`harness: "command" is required: the agent program, e.g. {"command": "node", "args": ["agent.mjs"]}`)
	case c.PromptVia != "stdin" && c.PromptVia != "arg" && c.PromptVia != "env":
		return nil, fmt.Errorf(`harness: prompt_via %q: use "stdin", "arg" or "env"`, c.PromptVia)
	case c.PromptVia == "env" && c.PromptEnv == "":
		return nil, errors.New("harness: prompt_env is empty; name the variable that holds the prompt")
	case c.Timeout <= 0:
		return nil, errors.New("harness: timeout must be positive, e.g. \"5m\"")
	case c.MaxOutputBytes <= 0:
		return nil, errors.New("harness: max_output_bytes must be positive")
	case c.MemoryMB <= 0 || c.Processes <= 0 || c.FileSizeMB <= 0:
		return nil, errors.New("harness: memory_mb, processes and file_size_mb must be positive")
	}
	// An argument naming a file of the operator's working directory is made
	// absolute: the agent runs in a fresh directory of its own.
	c.Args = absFiles(c.Args)
	c.Command = absProgram(c.Command)
	if len(c.Verifier) > 0 {
		c.Verifier = append([]string{absProgram(c.Verifier[0])}, absFiles(c.Verifier[1:])...)
	}
	e := &shared{c: c}
	if !c.UnsafeNoSandbox {
		c.ReadOnly = slices.Clone(c.ReadOnly)
		for i, p := range c.ReadOnly {
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, fmt.Errorf("harness: read_only %q: %w", p, err)
			}
			if _, err := os.Stat(abs); err != nil {
				return nil, fmt.Errorf("harness: read_only: %w", err)
			}
			c.ReadOnly[i] = abs
		}
		sb, err := sandbox.New(&sandbox.Options{Bwrap: c.Bwrap, Limits: sandbox.Limits{
			Timeout:   c.Timeout,
			CPUTime:   c.Timeout * time.Duration(runtime.NumCPU()),
			Memory:    c.MemoryMB << 20,
			Processes: c.Processes,
			FileSize:  c.FileSizeMB << 20,
			OpenFiles: 4096,
		}})
		if err != nil {
			return nil, fmt.Errorf(`harness: the agent runs in a sandbox: %w (or, for a trusted agent only, "unsafe_no_sandbox": true)`, err)
		}
		e.sb = sb
		e.agentRO = mounts(c.ReadOnly, append([]string{c.Command}, c.Args...))
		if len(c.Verifier) > 0 {
			e.verifierRO = mounts(c.ReadOnly, c.Verifier)
		}
	}
	var rf reward.Func
	if c.Reward != "" {
		var err error
		if rf, err = reward.New(c.Reward, nil); err != nil {
			return nil, fmt.Errorf("harness: reward: %w", err)
		}
	}
	e.c, e.reward = c, rf
	return env.FactoryFunc(func() (retrain.Environment, error) { return &Env{shared: e}, nil }), nil
}

// shared is what the environments of one configuration share.
type shared struct {
	c                   Config
	reward              reward.Func
	sb                  *sandbox.Sandbox // nil with unsafe_no_sandbox
	agentRO, verifierRO []string         // read-only paths of the agent's and the verifier's sandboxes
}

// Env is one harness environment: it runs whole episodes ([Env.Rollout]);
// Step is not used. Not safe for concurrent use (the Runner gives each
// worker its own).
type Env struct {
	*shared
	task   retrain.Task
	reset  bool
	closed bool
}

// Setup does nothing.
func (e *Env) Setup(context.Context) error { return nil }

// Reset keeps the task.
func (e *Env) Reset(_ context.Context, o retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed {
		return retrain.Observation{}, nil, retrain.ErrClosed
	}
	e.task, e.reset = o.Task, true
	return retrain.Observation{Kind: retrain.ObsInitial, Content: o.Task.Prompt, RequiresAction: true}, nil, nil
}

// Step is refused: the agent program makes its own turns.
func (e *Env) Step(ctx context.Context, _ retrain.Action) (retrain.Step, error) {
	if err := env.CheckStep(ctx, "harness", e.closed, e.reset, false); err != nil {
		return retrain.Step{}, err
	}
	return retrain.Step{}, errors.New("harness: the agent program makes its own turns; run episodes with rollout.Run (Rollout), not Step")
}

// Close marks the environment closed.
func (e *Env) Close() error { e.closed = true; return nil }

// Rollout runs one episode: m served on a loopback port, a proxy in front
// of it, the agent program pointed at a session, then the verifier.
func (e *Env) Rollout(ctx context.Context, m model.Model, o *rollout.Options) (*retrain.Trajectory, error) {
	task := o.Task
	if task.Prompt == "" {
		task = e.task
	}
	// A private directory holds the work directory and the proxy's socket.
	// It is searchable (not listable) by others: as root the sandbox runs
	// as a user id of its own, which must reach both.
	dir, err := os.MkdirTemp("", "retrain-harness-*")
	if err != nil {
		return nil, fmt.Errorf("harness: work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		return nil, fmt.Errorf("harness: work directory: %w", err)
	}
	if e.sb != nil {
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, fmt.Errorf("harness: work directory: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The model, served as an OpenAI endpoint on a loopback port.
	name := o.ModelName
	if name == "" {
		name = "model"
	}
	upURL, stopUp, err := listen(ctx, "", serve.NewHandler(m, &serve.Options{Name: name}), "")
	if err != nil {
		return nil, err
	}
	defer stopUp()
	// The proxy, with a token made for this episode: the agent's API key.
	var tok [16]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	p, err := proxy.New(&proxy.Options{Upstream: upURL + "/v1", Model: name, IdleTimeout: 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	// Sandboxed, the proxy listens on a unix socket that the sandbox's
	// forwarder reaches; unsafe, on a loopback port.
	sock := ""
	if e.sb != nil {
		sock = filepath.Join(dir, "proxy.sock")
	}
	pxURL, stopPx, err := listen(ctx, sock, p, token)
	if err != nil {
		return nil, err
	}
	defer stopPx()
	const session = "episode"
	if err := p.Open(session); err != nil {
		return nil, err
	}

	var run agentRun
	if e.sb != nil {
		run = e.runSandboxed(ctx, work, task, "http://127.0.0.1:"+strconv.Itoa(AgentPort)+"/sessions/"+session+"/v1", token, sock)
	} else {
		run = e.runAgent(ctx, work, task, pxURL+"/sessions/"+session+"/v1", token)
	}
	info := retrain.Info{"exit_code": run.exit, "stdout_tail": tail(run.stdout.Bytes()), "stderr_tail": tail(run.stderr.Bytes()),
		"agent_seconds": run.seconds, "sandboxed": e.sb != nil}
	if run.stdout.dropped > 0 || run.stderr.dropped > 0 {
		info["output_dropped_bytes"] = run.stdout.dropped + run.stderr.dropped
	}
	ts, err := p.End(session, &proxy.EndOptions{})
	if err != nil {
		return nil, err
	}
	t := pick(ts)
	t.ID = "" // the Runner's "<task>#<sample>"
	t.Env = Name
	t.Task = task
	if len(ts) > 1 {
		info["branches"] = len(ts)
	}
	for k, v := range info {
		t.ResetInfo[k] = v
	}
	if run.err != nil {
		return t, run.err
	}
	if t.Failed() {
		return t, &rollout.EpisodeError{Cause: t.ErrorCause, Err: errors.New(t.Error)}
	}
	score, how, err := e.score(ctx, work, task, run, t)
	t.ResetInfo["verifier"] = how
	if err != nil {
		return t, &rollout.EpisodeError{Cause: retrain.CauseEnvironment, Err: err}
	}
	t.StepReward = score
	if n := len(t.Turns); n > 0 {
		t.Turns[n-1].Reward = score
	}
	t.StopReason = retrain.StopTerminated
	return t, nil
}

// pick returns the branch with the most turns (the agent's main line of
// work), the first one on a tie.
func pick(ts []*retrain.Trajectory) *retrain.Trajectory {
	best := ts[0]
	for _, t := range ts[1:] {
		if len(t.Turns) > len(best.Turns) {
			best = t
		}
	}
	return best
}

// agentRun is what became of the agent process.
type agentRun struct {
	exit           int
	stdout, stderr *capped
	seconds        float64
	err            error // an *rollout.EpisodeError when the agent failed
}

// agentInput is the agent's arguments, its extra environment and its
// stdin (nil unless the prompt goes there).
func (e *Env) agentInput(task retrain.Task, base, token string) (args, extra []string, stdin io.Reader) {
	c := e.c
	args = append([]string(nil), c.Args...)
	extra = []string{"OPENAI_BASE_URL=" + base, "OPENAI_API_KEY=" + token}
	for k, v := range c.Env {
		extra = append(extra, k+"="+v)
	}
	switch c.PromptVia {
	case "arg":
		args = append(args, task.Prompt)
	case "env":
		extra = append(extra, c.PromptEnv+"="+task.Prompt)
	default:
		stdin = strings.NewReader(task.Prompt)
	}
	return args, extra, stdin
}

// runSandboxed runs the agent program in a sandbox over work, its network
// only the proxy's socket, until it exits or the timeout.
func (e *Env) runSandboxed(ctx context.Context, work string, task retrain.Task, base, token, sock string) agentRun {
	c := e.c
	run := agentRun{exit: -1, stdout: &capped{max: c.MaxOutputBytes}, stderr: &capped{max: c.MaxOutputBytes}}
	prog, err := exec.LookPath(c.Command)
	if err != nil {
		run.err = &rollout.EpisodeError{Cause: retrain.CauseEnvironment, Err: fmt.Errorf("harness: start the agent %q: %w", c.Command, err)}
		return run
	}
	args, extra, stdin := e.agentInput(task, base, token)
	res, err := e.sb.RunCommand(ctx, sandbox.Command{
		Argv: append([]string{prog}, args...), Env: extra, Stdin: stdin, Stdout: run.stdout, Stderr: run.stderr,
		Work: work, ReadOnly: e.agentRO, Forward: &sandbox.Forward{Port: AgentPort, Socket: sock},
	})
	run.seconds, run.exit = res.Duration.Seconds(), res.ExitCode
	switch {
	case err != nil && ctx.Err() != nil:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseCanceled, Err: fmt.Errorf("harness: the agent was stopped: %w", ctx.Err())}
	case err != nil:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseEnvironment, Err: fmt.Errorf("harness: the agent's sandbox: %w", err)}
	case res.TimedOut:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseTimeout, Err: fmt.Errorf("harness: the agent ran past its timeout (%s) and was killed", c.Timeout)}
	case res.Signal != "" || res.Limit != "":
		run.err = &rollout.EpisodeError{Cause: retrain.CauseEnvironment, Err: fmt.Errorf("harness: the agent ended: %s: %s", res.Summary(), tail(run.stderr.Bytes()))}
	case res.ExitCode != 0:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseEnvironment, Err: fmt.Errorf("harness: the agent exited with status %d: %s", run.exit, tail(run.stderr.Bytes()))}
	}
	return run
}

// runAgent runs the agent program in work as a plain child process (the
// unsafe mode) until it exits or the timeout.
func (e *Env) runAgent(ctx context.Context, work string, task retrain.Task, base, token string) agentRun {
	c := e.c
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	args, extra, stdin := e.agentInput(task, base, token)
	cmd := exec.CommandContext(ctx, c.Command, args...)
	cmd.Dir = work
	cmd.Env = procenv.Minimal(extra...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	run := agentRun{exit: -1, stdout: &capped{max: c.MaxOutputBytes}, stderr: &capped{max: c.MaxOutputBytes}}
	cmd.Stdout, cmd.Stderr = run.stdout, run.stderr
	groupKill(cmd)
	cmd.WaitDelay = 2 * time.Second
	began := time.Now()
	err := cmd.Run()
	run.seconds = time.Since(began).Seconds()
	if cmd.ProcessState != nil {
		run.exit = cmd.ProcessState.ExitCode()
	}
	switch {
	case err == nil:
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && cmd.ProcessState != nil:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseTimeout, Err: fmt.Errorf("harness: the agent ran past its timeout (%s) and was killed", c.Timeout)}
	case ctx.Err() != nil:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseCanceled, Err: fmt.Errorf("harness: the agent was stopped: %w", ctx.Err())}
	case cmd.ProcessState == nil:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseEnvironment, Err: fmt.Errorf("harness: start the agent %q: %w", c.Command, err)}
	default:
		run.err = &rollout.EpisodeError{Cause: retrain.CauseEnvironment, Err: fmt.Errorf("harness: the agent exited with status %d: %s", run.exit, tail(run.stderr.Bytes()))}
	}
	return run
}

// score runs the verifier, or the reward function; how says which.
func (e *Env) score(ctx context.Context, work string, task retrain.Task, run agentRun, t *retrain.Trajectory) (float64, string, error) {
	answer := lastLine(run.stdout.Bytes())
	if answer == "" && len(t.Messages) > 0 {
		answer = t.Messages[len(t.Messages)-1].Content
	}
	switch {
	case len(e.c.Verifier) > 0 && e.sb != nil:
		out := &capped{max: 64 << 10}
		argv := append([]string(nil), e.c.Verifier...)
		if p, err := exec.LookPath(argv[0]); err == nil {
			argv[0] = p
		}
		res, err := e.sb.RunCommand(ctx, sandbox.Command{
			Argv: argv, Env: []string{"TASK_PROMPT=" + task.Prompt, "TASK_ANSWER=" + task.Answer, "AGENT_ANSWER=" + answer},
			Stdout: out, Work: work, ReadOnly: e.verifierRO,
		})
		if err != nil {
			return 0, "verifier", fmt.Errorf("harness: run the verifier %q: %w", e.c.Verifier[0], err)
		}
		return verdict(out, res.ExitCode)
	case len(e.c.Verifier) > 0:
		ctx, cancel := context.WithTimeout(ctx, e.c.Timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, e.c.Verifier[0], e.c.Verifier[1:]...)
		cmd.Dir = work
		cmd.Env = procenv.Minimal("TASK_PROMPT="+task.Prompt, "TASK_ANSWER="+task.Answer, "AGENT_ANSWER="+answer)
		out := &capped{max: 64 << 10}
		cmd.Stdout = out
		groupKill(cmd)
		cmd.WaitDelay = 2 * time.Second
		err := cmd.Run()
		if cmd.ProcessState == nil {
			return 0, "verifier", fmt.Errorf("harness: run the verifier %q: %w", e.c.Verifier[0], err)
		}
		return verdict(out, cmd.ProcessState.ExitCode())
	case e.reward != nil:
		s, err := e.reward.Score(ctx, reward.Sample{Task: task, Completion: answer, Step: -1, Trajectory: t})
		if err != nil {
			return 0, "reward " + e.c.Reward, fmt.Errorf("harness: reward %s: %w", e.c.Reward, err)
		}
		return s.Value, "reward " + e.c.Reward, nil
	}
	return 0, "none", nil
}

// verdict is the verifier's reward: the number on its last stdout line,
// else 1 for exit status 0 and 0 otherwise.
func verdict(out *capped, exit int) (float64, string, error) {
	if v, err := strconv.ParseFloat(lastLine(out.Bytes()), 64); err == nil {
		return v, "verifier: number on stdout", nil
	}
	if exit == 0 {
		return 1, "verifier: exit status 0", nil
	}
	return 0, fmt.Sprintf("verifier: exit status %d", exit), nil
}

// absFiles returns args with each relative argument that names an
// existing file or directory made absolute.
func absFiles(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if !filepath.IsAbs(a) && !strings.HasPrefix(a, "-") {
			if _, err := os.Stat(a); err == nil {
				if abs, err := filepath.Abs(a); err == nil {
					out[i] = abs
				}
			}
		}
	}
	return out
}

// absProgram makes a relative program path (one with a slash) absolute.
func absProgram(p string) string {
	if strings.ContainsRune(p, os.PathSeparator) && !filepath.IsAbs(p) {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return p
}

// systemPaths are visible in every sandbox already.
var systemPaths = []string{"/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/alternatives"}

// broadDirs are directories never made visible whole because a file in
// them was named: only that file is.
var broadDirs = []string{"/", "/etc", "/tmp", "/var", "/root", "/home", "/run", "/proc", "/dev"}

// mounts returns the read-only paths of a sandbox running argv: ro, and
// for the program (found on PATH) and each absolute argument naming an
// existing path outside the system's, the directory holding it (a
// script's modules sit beside it; a named directory is itself), or the file
// alone where that directory is /, the home directory or a system-wide one.
func mounts(ro []string, argv []string) []string {
	out := append([]string(nil), ro...)
	home, _ := os.UserHomeDir()
	add := func(p string) {
		for _, s := range systemPaths {
			if p == s || strings.HasPrefix(p, s+"/") {
				return
			}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for i, a := range argv {
		if i == 0 {
			p, err := exec.LookPath(a)
			if err != nil {
				continue
			}
			if a, err = filepath.Abs(p); err != nil {
				continue
			}
		}
		if !filepath.IsAbs(a) {
			continue
		}
		fi, err := os.Stat(a)
		switch {
		case err != nil:
		case fi.IsDir():
			add(filepath.Clean(a))
		default:
			d := filepath.Dir(a)
			if slices.Contains(broadDirs, d) || d == home {
				add(a)
			} else {
				add(d)
			}
		}
	}
	return out
}

// listen serves h behind the front door (with token, when set) until ctx
// ends, on the unix socket sock (made writable by every user: its
// directory is private) or, sock empty, on a fresh loopback port; stop
// stops it.
func listen(ctx context.Context, sock string, h http.Handler, token string) (string, func(), error) {
	var ln net.Listener
	var err error
	if sock != "" {
		if ln, err = net.Listen("unix", sock); err == nil {
			err = os.Chmod(sock, 0o666)
		}
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return "", nil, fmt.Errorf("harness: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	front := httpsec.Handler(h, &httpsec.Options{Token: token, Refuse: func(w http.ResponseWriter, _ *http.Request, status int, msg string) {
		serve.WriteError(w, status, msg, "BadRequestError", "")
	}})
	go func() {
		defer close(done)
		httpserve.Serve(ctx, ln, front, &httpserve.Options{Grace: time.Second}) //nolint:errcheck // stops with ctx
	}()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }, nil
}

// capped keeps the first max bytes written and counts the rest. (The
// buffer is not embedded: its ReadFrom would let io.Copy past the cap.)
type capped struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if room < len(p) {
		c.dropped += len(p) - max(room, 0)
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

// Bytes returns what was kept.
func (c *capped) Bytes() []byte { return c.buf.Bytes() }

// tail is the end of an output, for the record.
func tail(b []byte) string {
	const n = 2000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// lastLine is the last non-empty line of b, trimmed.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
