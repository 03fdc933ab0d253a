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
// The agent gets OPENAI_BASE_URL (the session's base URL) and
// OPENAI_API_KEY (a token made for the episode, which the proxy requires),
// the task's prompt on stdin, as its last argument or in an environment
// variable (prompt_via), and a fresh empty work directory, in the minimal
// environment of internal/procenv. Past the timeout its whole process
// group is killed. Its output is kept up to max_output_bytes.
//
// An argument naming an existing file relative to the current directory
// (agent.mjs) is made absolute when the environment is configured, since
// the agent runs elsewhere. The command and its arguments are the
// operator's configuration: no
// network client may set them (no key here is marked access:"client").
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
)

// Name is the name the environment is registered under.
const Name = "harness"

// Defaults of [Config].
const (
	DefaultTimeout        = 10 * time.Minute
	DefaultMaxOutputBytes = 1 << 20
	DefaultPromptEnv      = "TASK_PROMPT"
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
}

func defaults() Config {
	return Config{PromptVia: "stdin", PromptEnv: DefaultPromptEnv, Timeout: DefaultTimeout, MaxOutputBytes: DefaultMaxOutputBytes}
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
	}
	// An argument naming a file of the operator's working directory is made
	// absolute: the agent runs in a fresh directory of its own.
	for i, a := range c.Args {
		if !filepath.IsAbs(a) && !strings.HasPrefix(a, "-") {
			if _, err := os.Stat(a); err == nil {
				if abs, err := filepath.Abs(a); err == nil {
					c.Args[i] = abs
				}
			}
		}
	}
	if strings.ContainsRune(c.Command, os.PathSeparator) && !filepath.IsAbs(c.Command) {
		if abs, err := filepath.Abs(c.Command); err == nil {
			c.Command = abs
		}
	}
	var rf reward.Func
	if c.Reward != "" {
		var err error
		if rf, err = reward.New(c.Reward, nil); err != nil {
			return nil, fmt.Errorf("harness: reward: %w", err)
		}
	}
	return env.FactoryFunc(func() (retrain.Environment, error) { return &Env{c: c, reward: rf}, nil }), nil
}

// Env is one harness environment: it runs whole episodes ([Env.Rollout]);
// Step is not used. Not safe for concurrent use (the Runner gives each
// worker its own).
type Env struct {
	c      Config
	reward reward.Func
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
	work, err := os.MkdirTemp("", "retrain-harness-*")
	if err != nil {
		return nil, fmt.Errorf("harness: work directory: %w", err)
	}
	defer os.RemoveAll(work)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The model, served as an OpenAI endpoint on a loopback port.
	name := o.ModelName
	if name == "" {
		name = "model"
	}
	upURL, stopUp, err := listen(ctx, serve.NewHandler(m, &serve.Options{Name: name}), "")
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
	pxURL, stopPx, err := listen(ctx, p, token)
	if err != nil {
		return nil, err
	}
	defer stopPx()
	const session = "episode"
	if err := p.Open(session); err != nil {
		return nil, err
	}

	run := e.runAgent(ctx, work, task, pxURL+"/sessions/"+session+"/v1", token)
	info := retrain.Info{"exit_code": run.exit, "stdout_tail": tail(run.stdout.Bytes()), "stderr_tail": tail(run.stderr.Bytes()),
		"agent_seconds": run.seconds}
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

// runAgent runs the agent program in work until it exits or the timeout.
func (e *Env) runAgent(ctx context.Context, work string, task retrain.Task, base, token string) agentRun {
	c := e.c
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	args := append([]string(nil), c.Args...)
	extra := []string{"OPENAI_BASE_URL=" + base, "OPENAI_API_KEY=" + token}
	for k, v := range c.Env {
		extra = append(extra, k+"="+v)
	}
	var stdin *strings.Reader
	switch c.PromptVia {
	case "arg":
		args = append(args, task.Prompt)
	case "env":
		extra = append(extra, c.PromptEnv+"="+task.Prompt)
	default:
		stdin = strings.NewReader(task.Prompt)
	}
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
		if v, perr := strconv.ParseFloat(lastLine(out.Bytes()), 64); perr == nil {
			return v, "verifier: number on stdout", nil
		}
		if cmd.ProcessState.ExitCode() == 0 {
			return 1, "verifier: exit status 0", nil
		}
		return 0, fmt.Sprintf("verifier: exit status %d", cmd.ProcessState.ExitCode()), nil
	case e.reward != nil:
		s, err := e.reward.Score(ctx, reward.Sample{Task: task, Completion: answer, Step: -1, Trajectory: t})
		if err != nil {
			return 0, "reward " + e.c.Reward, fmt.Errorf("harness: reward %s: %w", e.c.Reward, err)
		}
		return s.Value, "reward " + e.c.Reward, nil
	}
	return 0, "none", nil
}

// listen serves h on a fresh loopback port behind the front door (with
// token, when set) until ctx ends; stop stops it.
func listen(ctx context.Context, h http.Handler, token string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
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
