package gym

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/games"
	"github.com/retrain-rl/retrain/internal/answer"
)

// Defaults of [Options].
const (
	// DefaultInvalidActionPenalty is the step reward of an invalid action.
	DefaultInvalidActionPenalty = -0.1
	// DefaultMaxSteps bounds the model's steps, invalid ones included.
	DefaultMaxSteps = 100
	// maxOpponentTurns bounds the opponent's turns in a row: an
	// environment that never gives the turn back is broken.
	maxOpponentTurns = 1000
)

// Options configure a Gymnasium environment. Nil means defaults; the zero
// value of each field means its default, except Env, which is required.
type Options struct {
	// Env names the environment: "module:factory" (factory(**Kwargs)
	// returns the environment) or a registered Gymnasium id (made with
	// gymnasium.make(id, **Kwargs), render_mode "ansi" when it has one).
	Env string
	// Kwargs are the keyword arguments, a JSON object.
	Kwargs json.RawMessage
	// Process configures the interpreter and its timeouts; Process.Timeout
	// bounds each reset and step.
	Process ProcessOptions
	// ActionNames name a Discrete space's actions in order (e.g. for
	// FrozenLake: left, down, right, up); the model may answer a name or a
	// number. Empty means none, except for Gymnasium's toy-text ids, which
	// have built-in names (FrozenLake: left, down, right, up; Taxi: south,
	// north, east, west, pickup, dropoff; CliffWalking: up, right, down,
	// left; Blackjack: stick, hit), used when the action space matches.
	ActionNames []string
	// InvalidActionPenalty is the step reward of an invalid action; nil
	// means DefaultInvalidActionPenalty. An invalid action is not sent to
	// the environment: the model is told what was wrong and acts again.
	InvalidActionPenalty *float64
	// MaxSteps bounds the model's steps, invalid ones included; the
	// episode is truncated when it is reached. The default is the
	// environment's TimeLimit (gymnasium.make's max_episode_steps, e.g.
	// 200 for Taxi-v3) when it has one, else DefaultMaxSteps (100).
	MaxSteps int
	// Dialect is the format of the model's answer; nil means smolagent
	// (<answer>…</answer>). games.Dialect("plain") is the bare answer.
	Dialect dialect.Dialect
	// SystemPrompt replaces the first paragraph of the system message.
	SystemPrompt string
	// ResetOptions are passed as reset(options=…), a JSON object; a task's
	// Metadata["reset_options"] replaces them for its episodes.
	ResetOptions json.RawMessage

	// Two-player environments (see PROTOCOL.md): the opponent, epsilon
	// and side, as in package games. Seat, when set, wins over Opponent
	// and Epsilon.
	Opponent  games.Opponent
	Epsilon   float64
	Seat      *games.Seat
	ModelSide games.Side
}

// Env is a Gymnasium-style environment in a Python subprocess, played by a
// model through text. It is not safe for concurrent use, except Close and
// the Seat methods. Each Env runs its own process.
type Env struct {
	games.Seated
	opts     Options
	dialect  dialect.Dialect
	penalty  float64
	maxSteps int
	closed   atomic.Bool

	procMu   sync.Mutex // guards proc against a concurrent Close
	proc     *Process
	info     EnvInfo
	acts     actions
	describe func(json.RawMessage) string // says what an observation means; nil for most environments
	system   string

	// The episode.
	ep       episode
	messages []retrain.Message
	reset    bool
	failed   error // set when a step failed after reaching Python
}

// episode is the state of one episode, copied and committed whole by Step.
type episode struct {
	twoPlayer bool
	match     games.Match // two-player environments: the opponent's side
	last      Result      // the latest reset or step result
	steps     int         // the model's steps
	envSteps  int         // steps sent to the environment
	invalid   int
	total     float64
	pending   float64 // the model's reward from the opponent's opening moves, paid with its first step
	done      bool
}

var (
	_ env.DialectEnv   = (*Env)(nil)
	_ retrain.Renderer = (*Env)(nil)
)

// New returns an environment; the process starts in Setup.
func New(opts *Options) *Env {
	e := &Env{}
	if opts != nil {
		e.opts = *opts
	}
	e.Seated = games.SeatedAt(e.opts.Seat, e.opts.Opponent, e.opts.Epsilon)
	e.dialect = e.opts.Dialect
	if e.dialect == nil {
		e.dialect, _ = answer.Dialect("")
	}
	e.penalty = DefaultInvalidActionPenalty
	if e.opts.InvalidActionPenalty != nil {
		e.penalty = *e.opts.InvalidActionPenalty
	}
	e.maxSteps = e.opts.MaxSteps
	if e.maxSteps <= 0 {
		e.maxSteps = DefaultMaxSteps
	}
	return e
}

// Dialect returns the format in which the model's answers are parsed.
func (e *Env) Dialect() dialect.Dialect { return e.dialect }

// StepLimit is the most steps an episode takes (see env.StepLimiter):
// Options.MaxSteps, else, once set up, the environment's TimeLimit
// (max_episode_steps) when it has one, else DefaultMaxSteps.
func (e *Env) StepLimit() int { return e.maxSteps }

// Info describes the environment (spaces, render mode); it is empty before
// Setup.
func (e *Env) Info() EnvInfo { return e.info }

// Setup starts the Python process and makes the environment. Reset calls
// it again when the process has died (after a timeout or a crash).
func (e *Env) Setup(ctx context.Context) error {
	if e.closed.Load() {
		return fmt.Errorf("gym: Setup: %w", retrain.ErrClosed)
	}
	e.procMu.Lock()
	p := e.proc
	e.procMu.Unlock()
	if p != nil && p.Err() == nil {
		return nil
	}
	if p != nil {
		p.Close()
	}
	if strings.TrimSpace(e.opts.Env) == "" {
		return errors.New("gym: no environment named: set Env (config key \"env\") to \"module:factory\" or a Gymnasium id")
	}
	p, err := Start(ctx, e.opts.Env, e.opts.Kwargs, &e.opts.Process)
	if err != nil {
		return err
	}
	names := e.opts.ActionNames
	if len(names) == 0 {
		names = defaultActionNames(e.opts.Env, p.Info().ActionSpace)
	}
	acts, err := newActions(p.Info().ActionSpace, names)
	if err != nil {
		p.Close()
		return fmt.Errorf("gym: %s: %w", e.opts.Env, err)
	}
	e.procMu.Lock()
	defer e.procMu.Unlock()
	if e.closed.Load() {
		p.Close()
		return fmt.Errorf("gym: Setup: %w", retrain.ErrClosed)
	}
	e.proc, e.info, e.acts = p, p.Info(), acts
	e.describe = describer(e.opts.Env, e.info.ObservationSpace)
	if e.opts.MaxSteps <= 0 {
		e.maxSteps = DefaultMaxSteps
		if e.info.MaxEpisodeSteps > 0 {
			e.maxSteps = e.info.MaxEpisodeSteps
		}
	}
	e.system = e.systemPrompt()
	return nil
}

func (e *Env) systemPrompt() string {
	framing := strings.TrimSpace(e.opts.SystemPrompt)
	if framing == "" {
		framing = fmt.Sprintf("You are acting in the environment %s. Each turn you see its state and choose one action. Try to earn as much reward as possible.", e.opts.Env)
	}
	return fmt.Sprintf("%s\n\nAn action is %s.\n\nYou may think first inside <think></think> tags. Then give exactly one action, written like this:\n%s",
		framing, e.acts.describe(), answer.Example(e.dialect, e.acts.example()))
}

// Reset starts an episode: reset(seed=…, options=…) in Python, the seed
// passed exactly as given (None when unseeded). In a two-player
// environment where the opponent moves first, its moves are made before
// the model's first turn. The task's prompt, when set, is shown before the
// first observation, and its Metadata["reset_options"] replaces
// Options.ResetOptions. Info holds "env_info" (Python's info) and, for
// two-player environments, "model_player" and "opponent_moves".
func (e *Env) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed.Load() {
		return retrain.Observation{}, nil, fmt.Errorf("gym: Reset: %w", retrain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("gym: Reset: %w", err)
	}
	if err := e.Setup(ctx); err != nil {
		return retrain.Observation{}, nil, err
	}
	resetOpts := e.opts.ResetOptions
	if m, ok := opts.Task.Metadata["reset_options"]; ok {
		b, err := json.Marshal(m)
		if err != nil {
			return retrain.Observation{}, nil, fmt.Errorf("gym: Reset: task metadata reset_options: %w", err)
		}
		resetOpts = b
	}
	// From here on the Python environment no longer holds the previous
	// episode, whatever happens.
	e.reset, e.failed = false, nil
	res, err := e.proc.Reset(ctx, opts.Seed, resetOpts)
	if err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("gym: Reset: %w", err)
	}
	ep := episode{last: res}
	seed := rand.Uint64()
	if opts.Seed != nil {
		seed = uint64(*opts.Seed)
	}
	info := retrain.Info{}
	var lead []string
	if p := strings.TrimSpace(opts.Task.Prompt); p != "" {
		lead = append(lead, p, "")
	}
	if _, ok := res.Info["current_player"]; ok {
		ep.twoPlayer = true
		ep.match = e.Start(e.opts.ModelSide, seed)
		moves, reward, err := e.opponentTurns(ctx, &ep)
		if err != nil {
			return retrain.Observation{}, nil, fmt.Errorf("gym: Reset: %w", err)
		}
		if ep.done {
			return retrain.Observation{}, nil, fmt.Errorf("gym: Reset: the episode ended in the opponent's opening moves, before the model's first turn")
		}
		ep.pending = reward
		info["model_player"] = ep.match.ModelPlayer
		info["opponent_moves"] = moves
		lead = append(lead, e.movesText(moves)...)
	}
	content, err := e.stateText(ep, ep.match.ModelPlayer, lead...)
	if err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("gym: Reset: %w", err)
	}
	info["env_info"] = ep.last.Info
	if ep.last.RenderError != "" {
		info["render_error"] = ep.last.RenderError
	}
	e.ep = ep
	var obs retrain.Observation
	e.messages, obs = env.Opening(e.system, content)
	e.reset = true
	return obs, info, nil
}

// Step reads the action from the model's answer, checks it against the
// action space (and the legal actions, when the environment lists them),
// and sends it to the environment; the step reward is the environment's.
// An invalid action is not sent: the step earns the invalid-action penalty
// and the model is told what was wrong. In a two-player environment the
// opponent's replies follow at once, and their rewards count for the
// model (see PROTOCOL.md).
//
// Info holds "step", "invalid_action" (bool), "invalid_actions" (the count
// so far), "action" (the JSON sent), "env_info" (Python's info) and, for
// two-player environments, "opponent_moves".
//
// The subprocess failing (an exception, a crash, a timeout, garbage on
// stdout) is a Go error. A cancelled ctx before the action is sent leaves
// the episode as it was; once sent, the process is killed (Reset starts a
// new one).
func (e *Env) Step(ctx context.Context, action retrain.Action) (retrain.Step, error) {
	switch {
	case e.closed.Load():
		return retrain.Step{}, fmt.Errorf("gym: Step: %w", retrain.ErrClosed)
	case !e.reset:
		return retrain.Step{}, fmt.Errorf("gym: %w", retrain.ErrNotReset)
	case e.ep.done:
		return retrain.Step{}, fmt.Errorf("gym: %w", retrain.ErrEpisodeDone)
	case e.failed != nil:
		return retrain.Step{}, fmt.Errorf("gym: Step: the episode cannot go on after an earlier failure (%w); call Reset", e.failed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Step{}, fmt.Errorf("gym: Step: %w", err)
	}
	ep := e.ep
	ep.steps++
	info := retrain.Info{"step": ep.steps, "invalid_action": false}
	var step retrain.Step
	var content string

	step.Reward, ep.pending = ep.pending, 0
	v, problem := e.readAction(action, ep)
	if problem != "" {
		ep.invalid++
		info["invalid_action"] = true
		step.Reward += e.penalty
		ep.total += step.Reward
		state, err := e.stateText(ep, ep.match.ModelPlayer)
		if err != nil {
			return retrain.Step{}, fmt.Errorf("gym: Step: %w", err)
		}
		content = fmt.Sprintf("Invalid action: %s. An action is %s; write it like this: %s\n\n%s",
			problem, e.acts.describe(), answer.Example(e.dialect, e.acts.example()), state)
	} else {
		raw, err := e.acts.encode(v)
		if err != nil {
			return retrain.Step{}, err
		}
		info["action"] = string(raw)
		res, err := e.proc.Step(ctx, raw)
		if err != nil {
			return retrain.Step{}, e.fail(fmt.Errorf("gym: Step: %w", err))
		}
		if math.IsNaN(res.Reward) || math.IsInf(res.Reward, 0) {
			return retrain.Step{}, e.fail(fmt.Errorf("gym: Step: the environment returned the reward %v", res.Reward))
		}
		ep.last, ep.envSteps = res, ep.envSteps+1
		ep.done = res.Terminated || res.Truncated
		step.Reward += rewardFor(res, ep.match.ModelPlayer, ep.match.ModelPlayer, ep.twoPlayer)
		var lead []string
		if ep.twoPlayer && !ep.done {
			moves, reward, err := e.opponentTurns(ctx, &ep)
			if err != nil {
				return retrain.Step{}, e.fail(fmt.Errorf("gym: Step: %w", err))
			}
			step.Reward += reward
			info["opponent_moves"] = moves
			lead = e.movesText(moves)
		}
		ep.total += step.Reward
		if ep.done {
			content = e.endText(ep, step.Reward, lead)
		} else {
			state, err := e.stateText(ep, ep.match.ModelPlayer, append([]string{"Reward: " + num(step.Reward)}, lead...)...)
			if err != nil {
				return retrain.Step{}, e.fail(fmt.Errorf("gym: Step: %w", err))
			}
			content = state
		}
		step.Terminated, step.Truncated = ep.last.Terminated, ep.last.Truncated
	}
	if !step.Done() && ep.steps >= e.maxSteps {
		step.Truncated = true
		content += fmt.Sprintf("\n\nThe step limit (%d) is reached: the episode stops here.", e.maxSteps)
	}
	ep.done = step.Done()
	info["invalid_actions"] = ep.invalid
	info["env_info"] = ep.last.Info
	if ep.last.RenderError != "" {
		info["render_error"] = ep.last.RenderError
	}

	e.ep = ep
	e.messages, step.Observation = env.Reply(e.messages, e.dialect, action, content, ep.done)
	step.Info = info
	return step, nil
}

// fail records that the Python environment has moved past the episode
// (the action was sent, then something failed), so that Step cannot go on
// from a state the environment no longer has, and returns err.
func (e *Env) fail(err error) error {
	e.failed = err
	return err
}

// readAction reads and checks the model's action; problem is for the model.
func (e *Env) readAction(action retrain.Action, ep episode) (any, string) {
	ans, problem := answer.Text(action)
	if problem != "" {
		return nil, problem
	}
	v, err := e.acts.parse(ans)
	if err != nil {
		return nil, err.Error()
	}
	if legal, ok, err := legalActions(ep.last.Info); err == nil && ok && !containsAction(legal, v) {
		return nil, fmt.Sprintf("%s is not a legal action now; the legal actions are %s", e.acts.canonical(v), strings.Join(e.canonicals(legal), ", "))
	}
	return v, ""
}

// writeState writes the text render (when the environment has one, its
// blank edge lines trimmed), what the observation means (for the
// environments the bridge knows) and the observation.
func (e *Env) writeState(b *strings.Builder, last Result) {
	if r := last.Render; r != nil && strings.TrimSpace(*r) != "" {
		b.WriteString(strings.Trim(plainANSI(*r), "\n") + "\n")
	}
	if d := e.description(last.Observation); d != "" {
		fmt.Fprintf(b, "State: %s\n", d)
	}
	fmt.Fprintf(b, "Observation: %s\n", readable(last.Observation))
}

// description says what obs means, or is empty.
func (e *Env) description(obs json.RawMessage) string {
	if e.describe == nil {
		return ""
	}
	return e.describe(obs)
}

// stateText is the state as player p reads it: the lead lines, the text
// render (when the environment has one), the observation and the legal
// actions.
func (e *Env) stateText(ep episode, p int, lead ...string) (string, error) {
	var b strings.Builder
	for _, l := range lead {
		b.WriteString(l + "\n")
	}
	if len(lead) > 0 && lead[len(lead)-1] != "" {
		b.WriteString("\n")
	}
	if ep.twoPlayer {
		fmt.Fprintf(&b, "You are player %d.\n", p)
	}
	e.writeState(&b, ep.last)
	legal, ok, err := legalActions(ep.last.Info)
	if err != nil {
		return "", err
	}
	if ok {
		fmt.Fprintf(&b, "Legal actions: %s\n", strings.Join(e.canonicals(legal), ", "))
	}
	b.WriteString("Your action?")
	return b.String(), nil
}

// endText says how the episode ended.
func (e *Env) endText(ep episode, reward float64, lead []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Reward: %s\n", num(reward))
	for _, l := range lead {
		b.WriteString(l + "\n")
	}
	e.writeState(&b, ep.last)
	how := "it reached an end state"
	if !ep.last.Terminated {
		how = "the environment cut it short"
	}
	fmt.Fprintf(&b, "The episode is over: %s. Total reward: %s.", how, num(ep.total))
	return b.String()
}

func (e *Env) canonicals(legal []any) []string {
	out := make([]string, len(legal))
	for i, v := range legal {
		out[i] = e.acts.canonical(v)
	}
	return out
}

// Render returns the environment's latest text render (after the last
// reset or step), or when it has none what its observation means (e.g.
// Blackjack's "player sum 14, dealer shows 10, usable ace: no"), or the
// observation.
func (e *Env) Render() (string, error) {
	if !e.reset {
		return "", fmt.Errorf("gym: Render: %w", retrain.ErrNotReset)
	}
	if r := e.ep.last.Render; r != nil {
		return plainANSI(*r), nil
	}
	if d := e.description(e.ep.last.Observation); d != "" {
		return d, nil
	}
	return readable(e.ep.last.Observation), nil
}

// Close ends the process (env.close(), then the process group is killed).
// It is safe to call more than once, and while another call is in flight
// (which it aborts).
func (e *Env) Close() error {
	e.closed.Store(true)
	e.procMu.Lock()
	p := e.proc
	e.procMu.Unlock()
	if p != nil {
		p.Close()
	}
	return nil
}

// legalActions reads info["legal_actions"].
func legalActions(info map[string]any) ([]any, bool, error) {
	v, ok := info["legal_actions"]
	if !ok || v == nil {
		return nil, false, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false, fmt.Errorf("info[\"legal_actions\"] is %s; it must be a list of actions", show(v))
	}
	return list, true, nil
}

func containsAction(list []any, v any) bool {
	for _, x := range list {
		if sameAction(x, v) {
			return true
		}
	}
	return false
}

// currentPlayer reads info["current_player"]: 0 or 1.
func currentPlayer(info map[string]any) (int, error) {
	n, ok := integer(info["current_player"])
	if !ok || (n != 0 && n != 1) {
		return 0, fmt.Errorf("info[\"current_player\"] is %s; two-player environments number their players 0 and 1", show(info["current_player"]))
	}
	return int(n), nil
}

// rewardFor is the model's reward for a step made by mover: the model's
// entry of info["rewards"] when the environment lists rewards per player,
// else the step's reward, negated when the opponent moved (zero-sum).
func rewardFor(res Result, mover, model int, twoPlayer bool) float64 {
	if !twoPlayer {
		return res.Reward
	}
	if rs, ok := res.Info["rewards"].([]any); ok && model < len(rs) {
		if f, ok := rs[model].(float64); ok {
			return f
		}
	}
	if mover == model {
		return res.Reward
	}
	return -res.Reward
}

// opponentTurns lets the opponent act while it is its turn and the episode
// goes on; ep is updated. It returns the moves and the model's reward for
// them.
func (e *Env) opponentTurns(ctx context.Context, ep *episode) ([]games.Choice, float64, error) {
	moves := []games.Choice{}
	var reward float64
	for !ep.done {
		cur, err := currentPlayer(ep.last.Info)
		if err != nil {
			return nil, 0, err
		}
		if cur == ep.match.ModelPlayer {
			break
		}
		if len(moves) >= maxOpponentTurns {
			return nil, 0, fmt.Errorf("the opponent has moved %d times in a row: does the environment ever give the turn to player %d?", len(moves), ep.match.ModelPlayer)
		}
		legal, ok, err := legalActions(ep.last.Info)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			if e.acts.space.Type != SpaceDiscrete {
				return nil, 0, errors.New("two-player environments with a non-Discrete action space must list info[\"legal_actions\"]")
			}
			for a := range e.acts.space.N {
				legal = append(legal, float64(e.acts.space.Start+a))
			}
		}
		prompt, err := e.stateText(*ep, cur)
		if err != nil {
			return nil, 0, err
		}
		pos := games.Position{
			Game:    e.opts.Env,
			Player:  cur,
			Mark:    "player " + strconv.Itoa(cur),
			Ply:     ep.envSteps,
			Legal:   e.canonicals(legal),
			System:  e.system,
			Prompt:  prompt,
			Dialect: e.dialect,
			Check: func(ans string) (string, error) {
				v, err := e.acts.parse(answer.Clean(ans))
				if err != nil {
					return "", err
				}
				if !containsAction(legal, v) {
					return "", errNotLegal
				}
				return e.acts.canonical(v), nil
			},
		}
		ch, err := ep.match.Choose(ctx, pos)
		if err != nil {
			return nil, 0, err
		}
		v, err := e.acts.parse(ch.Move)
		if err != nil {
			return nil, 0, fmt.Errorf("the opponent's move %q cannot be read back: %w", ch.Move, err)
		}
		raw, err := e.acts.encode(v)
		if err != nil {
			return nil, 0, err
		}
		res, err := e.proc.Step(ctx, raw)
		if err != nil {
			return nil, 0, fmt.Errorf("opponent's step: %w", err)
		}
		if math.IsNaN(res.Reward) || math.IsInf(res.Reward, 0) {
			return nil, 0, fmt.Errorf("the environment returned the reward %v", res.Reward)
		}
		reward += rewardFor(res, cur, ep.match.ModelPlayer, true)
		ep.last, ep.envSteps = res, ep.envSteps+1
		ep.done = res.Terminated || res.Truncated
		moves = append(moves, ch)
	}
	return moves, reward, nil
}

// movesText says what the opponent did.
func (e *Env) movesText(moves []games.Choice) []string {
	out := make([]string, len(moves))
	for i, m := range moves {
		out[i] = fmt.Sprintf("Your opponent played %s.", m.Move)
	}
	return out
}
