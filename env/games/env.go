package games

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/internal/answer"
)

// Defaults of [Options].
const (
	// DefaultIllegalMovePenalty is the step reward of an illegal move that
	// does not forfeit the game.
	DefaultIllegalMovePenalty = -0.1
	// DefaultMaxIllegalMoves is how many illegal moves in one episode
	// forfeit the game.
	DefaultMaxIllegalMoves = 3
	// DefaultMaxSteps bounds the model's steps, illegal moves included.
	DefaultMaxSteps = 64
)

// Options configure a game environment. Nil means defaults; the zero value
// of each field means its default.
type Options struct {
	// NewGame makes the game of each episode; nil means tic-tac-toe.
	NewGame func() Game
	// Opponent plays the other side; nil means [Random]. Ignored when Seat
	// is set.
	Opponent Opponent
	// Epsilon is the chance that an opponent's turn is a random move (see
	// [Seat.SetEpsilon]). Ignored when Seat is set.
	Epsilon float64
	// Seat, when set, is the opponent's seat, shared with whoever else
	// holds it (a [Factory] shares one between its environments).
	Seat *Seat
	// ModelSide says which player the model is (default First).
	ModelSide Side
	// Dialect is the format of the model's answer; nil means smolagent
	// (<answer>b2</answer>). [Dialect]("plain") is the bare move.
	Dialect dialect.Dialect
	// SystemPrompt replaces the first paragraph of the system message
	// ("You are playing …"); the rules and the answer format follow it.
	SystemPrompt string
	// IllegalMovePenalty is the step reward of an illegal or unreadable
	// move that does not forfeit; nil means DefaultIllegalMovePenalty. The
	// game goes on: the model is told what was wrong and moves again.
	IllegalMovePenalty *float64
	// MaxIllegalMoves is how many illegal moves in one episode (counted in
	// total, not in a row) forfeit the game: the episode terminates with
	// LossReward. Zero means DefaultMaxIllegalMoves; negative means never.
	MaxIllegalMoves int
	// MaxSteps bounds the model's steps, illegal moves included; the
	// episode is truncated when it is reached. Zero means DefaultMaxSteps.
	MaxSteps int
}

// Dialect returns the answer format called name: "" or "smolagent"
// (<answer>b2</answer>), "plain" (the answer alone, after any <think>
// block), or the name of another dialect of package dialect.
func Dialect(name string) (dialect.Dialect, error) { return answer.Dialect(name) }

// Env is one two-player game episode at a time: the model plays one side,
// an [Opponent] the other. It is not safe for concurrent use, except for
// the Seat methods.
type Env struct {
	Seated
	opts     Options
	dialect  dialect.Dialect
	penalty  float64
	system   string // for the first game; the rules depend only on the game
	example  string // a move shown in the answer format
	newGame  func() Game
	maxSteps int

	// The episode.
	game     Game
	match    Match
	messages []retrain.Message
	steps    int
	illegal  int
	reset    bool
	done     bool
	closed   bool
}

var (
	_ env.DialectEnv   = (*Env)(nil)
	_ retrain.Renderer = (*Env)(nil)
)

// New returns a game environment; nil opts means defaults.
func New(opts *Options) *Env {
	var o Options
	if opts != nil {
		o = *opts
	}
	e := &Env{Seated: SeatedAt(o.Seat, o.Opponent, o.Epsilon), opts: o, dialect: o.Dialect, newGame: o.NewGame}
	if e.dialect == nil {
		e.dialect, _ = answer.Dialect("") // smolagent is built in
	}
	if e.newGame == nil {
		e.newGame = func() Game { return NewTicTacToe() }
	}
	e.penalty = DefaultIllegalMovePenalty
	if o.IllegalMovePenalty != nil {
		e.penalty = *o.IllegalMovePenalty
	}
	if e.opts.MaxIllegalMoves == 0 {
		e.opts.MaxIllegalMoves = DefaultMaxIllegalMoves
	}
	e.maxSteps = o.MaxSteps
	if e.maxSteps <= 0 {
		e.maxSteps = DefaultMaxSteps
	}
	return e
}

// Dialect returns the format in which the model's answers are parsed.
func (e *Env) Dialect() dialect.Dialect { return e.dialect }

// StepLimit is the most steps an episode takes (see env.StepLimiter):
// Options.MaxSteps, else DefaultMaxSteps.
func (e *Env) StepLimit() int { return e.maxSteps }

// Setup does nothing: a game needs no resources.
func (e *Env) Setup(ctx context.Context) error {
	if e.closed {
		return fmt.Errorf("games: Setup: %w", retrain.ErrClosed)
	}
	return ctx.Err()
}

// systemPrompt is the system message for game g: the framing, the rules and
// the answer format. It is the same for both seats.
func (e *Env) systemPrompt(g Game) string {
	framing := strings.TrimSpace(e.opts.SystemPrompt)
	if framing == "" {
		framing = fmt.Sprintf("You are playing %s against an opponent. Play to win.", strings.ToLower(g.Title()))
	}
	e.example = "a legal move"
	if legal := g.Legal(); len(legal) > 0 {
		e.example = legal[len(legal)/2]
	}
	return fmt.Sprintf("%s\n\nRules: %s\n\nEach turn you see the board and the legal moves. You may think first inside <think></think> tags. Then give exactly one legal move, written like this:\n%s",
		framing, g.Rules(), answer.Example(e.dialect, e.example))
}

// turnPrompt is what player p reads at its turn in g: the lead lines (what
// just happened), a blank line, the sides, the board and the legal moves.
func turnPrompt(g Game, p int, lead ...string) string {
	var b strings.Builder
	if len(lead) > 0 {
		b.WriteString(strings.Join(lead, "\n") + "\n\n")
	}
	fmt.Fprintf(&b, "You play %s; your opponent plays %s.\n\n", g.Mark(p), g.Mark(1-p))
	b.WriteString(g.Board())
	fmt.Fprintf(&b, "\nLegal moves: %s\nYour move (%s)?", strings.Join(g.Legal(), ", "), g.Mark(p))
	return b.String()
}

// position is g seen by the player to move, for an opponent.
func (e *Env) position(g Game, lead string) Position {
	p := g.ToMove()
	var leads []string
	if lead != "" {
		leads = []string{lead}
	}
	return Position{
		Game:    g.Name(),
		Player:  p,
		Mark:    g.Mark(p),
		Ply:     g.Ply(),
		Legal:   g.Legal(),
		System:  e.system,
		Prompt:  turnPrompt(g, p, leads...),
		Dialect: e.dialect,
		State:   g.Clone(),
		Check:   func(ans string) (string, error) { return checkMove(g, ans) },
	}
}

// checkMove returns the canonical spelling of ans if it is a legal move in
// g, else an error for the player that says why.
func checkMove(g Game, ans string) (string, error) {
	move, err := g.Normalize(ans)
	if err != nil {
		return "", err
	}
	if err := g.Clone().Play(move); err != nil {
		return "", err
	}
	return move, nil
}

// opponentTurn lets the opponent move in g (which it changes) and returns
// the choice. lead is the line the opponent reads first.
func (e *Env) opponentTurn(ctx context.Context, g Game, m Match, lead string) (Choice, error) {
	ch, err := m.Choose(ctx, e.position(g, lead))
	if err != nil {
		return Choice{}, err
	}
	if err := g.Play(ch.Move); err != nil {
		return Choice{}, fmt.Errorf("games: opponent's move %q was checked but the game refused it: %w", ch.Move, err)
	}
	return ch, nil
}

// Reset starts a game. The task only names the episode (a dataset of
// tasks is a list of games); its prompt is not shown: the system message
// holds the rules. With a seed, the model's side (when alternating),
// the opponent's random choices and epsilon draws replay exactly. When the
// opponent opens, its first move is made before the model sees the board.
// Info holds "seed", "model_player", "model_mark", "epsilon" and, when the
// opponent opened, "opponent_move" (a [Choice]).
func (e *Env) Reset(ctx context.Context, opts retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if e.closed {
		return retrain.Observation{}, nil, fmt.Errorf("games: Reset: %w", retrain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return retrain.Observation{}, nil, fmt.Errorf("games: Reset: %w", err)
	}
	seed := rand.Uint64()
	if opts.Seed != nil {
		seed = uint64(*opts.Seed)
	}
	g := e.newGame()
	if e.system == "" {
		e.system = e.systemPrompt(g)
	}
	m := e.Start(e.opts.ModelSide, seed)
	player := m.ModelPlayer
	info := retrain.Info{"seed": seed, "model_player": player, "model_mark": g.Mark(player), "epsilon": m.Epsilon}
	var lead []string
	if g.ToMove() != player {
		ch, err := e.opponentTurn(ctx, g, m, "You move first.")
		if err != nil {
			return retrain.Observation{}, nil, fmt.Errorf("games: Reset: %w", err)
		}
		info["opponent_move"] = ch
		lead = append(lead, fmt.Sprintf("Your opponent (%s) opened with %s.", g.Mark(1-player), ch.Move))
	} else {
		lead = append(lead, "You move first.")
	}
	content := turnPrompt(g, player, lead...)
	e.game, e.match = g, m
	var obs retrain.Observation
	e.messages, obs = env.Opening(e.system, content)
	e.steps, e.illegal = 0, 0
	e.reset, e.done = true, false
	return obs, info, nil
}

// Step plays the model's move, then the opponent's reply. A legal move that
// ends the game terminates the episode with WinReward or DrawReward; an
// opponent's reply that ends it, with LossReward or DrawReward. An illegal
// or unreadable move earns the illegal-move penalty and corrective
// feedback, and the model moves again, unless it was the MaxIllegalMoves-th
// of the episode: then the model forfeits (LossReward, terminated). Other
// steps earn 0.
//
// Info holds "step", "illegal_move" (bool), "illegal_moves" (the count so
// far), "move" (the model's move, when legal), "opponent_move" (a
// [Choice], when the opponent replied) and, at the end, "outcome" ("win",
// "loss", "draw" or "forfeit") and "winning_line".
//
// A cancelled ctx, or an opponent that fails, makes Step return an error
// and leaves the episode as it was.
func (e *Env) Step(ctx context.Context, action retrain.Action) (retrain.Step, error) {
	if err := env.CheckStep(ctx, "games", e.closed, e.reset, e.done); err != nil {
		return retrain.Step{}, err
	}
	steps, illegal := e.steps+1, e.illegal
	info := retrain.Info{"step": steps, "illegal_move": false}
	g := e.game.Clone()
	var step retrain.Step
	var content string
	me, them := g.Mark(e.match.ModelPlayer), g.Mark(1-e.match.ModelPlayer)

	move, problem := answer.Text(action)
	if problem != "" {
		problem += ". Write exactly one legal move like this: " + answer.Example(e.dialect, e.example)
	} else {
		var err error
		if move, err = checkMove(g, move); err != nil {
			problem = err.Error()
		}
	}
	if problem != "" {
		illegal++
		info["illegal_move"] = true
		if e.opts.MaxIllegalMoves > 0 && illegal >= e.opts.MaxIllegalMoves {
			step.Reward, step.Terminated = LossReward, true
			info["outcome"] = "forfeit"
			content = fmt.Sprintf("Illegal move: %s. That was illegal move %d of %d allowed: you forfeit the game.", problem, illegal, e.opts.MaxIllegalMoves)
		} else {
			step.Reward = e.penalty
			warn := ""
			if e.opts.MaxIllegalMoves > 0 {
				warn = fmt.Sprintf(" (illegal move %d; at %d you forfeit the game)", illegal, e.opts.MaxIllegalMoves)
			}
			content = turnPrompt(g, e.match.ModelPlayer, fmt.Sprintf("Illegal move: %s%s. Choose one of the legal moves.", problem, warn))
		}
	} else {
		info["move"] = move
		if err := g.Play(move); err != nil {
			return retrain.Step{}, fmt.Errorf("games: move %q was checked but the game refused it: %w", move, err)
		}
		if out := g.Outcome(); out.Over {
			step.Reward, step.Terminated = rewardFor(out, e.match.ModelPlayer), true
			content = g.Board() + "\n" + e.ending(g, out)
			e.recordOutcome(info, out)
		} else {
			ch, err := e.opponentTurn(ctx, g, e.match, fmt.Sprintf("Your opponent (%s) played %s.", me, move))
			if err != nil {
				return retrain.Step{}, fmt.Errorf("games: Step: %w", err)
			}
			info["opponent_move"] = ch
			played := fmt.Sprintf("Your opponent (%s) played %s.", them, ch.Move)
			if out := g.Outcome(); out.Over {
				step.Reward, step.Terminated = rewardFor(out, e.match.ModelPlayer), true
				content = played + "\n\n" + g.Board() + "\n" + e.ending(g, out)
				e.recordOutcome(info, out)
			} else {
				content = turnPrompt(g, e.match.ModelPlayer, played)
			}
		}
	}
	if !step.Terminated && steps >= e.maxSteps {
		step.Truncated = true
		content += fmt.Sprintf("\n\nThe step limit (%d) is reached: the game stops here.", e.maxSteps)
	}
	info["illegal_moves"] = illegal

	// Commit: nothing above changed the episode.
	e.game, e.steps, e.illegal = g, steps, illegal
	e.done = step.Done()
	e.messages, step.Observation = env.Reply(e.messages, e.dialect, action, content, e.done)
	step.Info = info
	return step, nil
}

// ending says how the game ended, from the model's side.
func (e *Env) ending(g Game, out Outcome) string {
	if out.Winner == Draw {
		return "The game is a draw."
	}
	line := ""
	if len(out.Line) > 0 {
		line = " (" + strings.Join(out.Line, ", ") + ")"
	}
	if out.Winner == e.match.ModelPlayer {
		return fmt.Sprintf("You win: %s has a line%s.", g.Mark(out.Winner), line)
	}
	return fmt.Sprintf("You lose: %s has a line%s.", g.Mark(out.Winner), line)
}

func (e *Env) recordOutcome(info retrain.Info, out Outcome) {
	switch out.Winner {
	case Draw:
		info["outcome"] = "draw"
	case e.match.ModelPlayer:
		info["outcome"] = "win"
	default:
		info["outcome"] = "loss"
	}
	if len(out.Line) > 0 {
		info["winning_line"] = out.Line
	}
}

// Render draws the board and says whose turn it is.
func (e *Env) Render() (string, error) {
	if !e.reset {
		return "", fmt.Errorf("games: Render: %w", retrain.ErrNotReset)
	}
	var b strings.Builder
	b.WriteString(e.game.Board())
	if out := e.game.Outcome(); out.Over {
		b.WriteString(e.ending(e.game, out))
	} else {
		fmt.Fprintf(&b, "%s to move; the model plays %s.", e.game.Mark(e.game.ToMove()), e.game.Mark(e.match.ModelPlayer))
	}
	return b.String(), nil
}

// Close ends the environment; later calls return retrain.ErrClosed. It is
// safe to call more than once.
func (e *Env) Close() error {
	e.closed = true
	return nil
}

// Factory makes two-player environments that share one [Seat]: swapping
// the opponent or changing epsilon on the factory applies to the next
// episode of every environment it made. [NewFactory] makes game
// environments; package gym's factory is one too ([NewSeatFactory]).
type Factory struct {
	Seated
	name    string                     // for errors: "games: NewEnv: …"
	newEnv  func() retrain.Environment // makes one environment at the seat
	onClose func()                     // releases what the opponent holds (a model client)

	mu     sync.Mutex
	closed bool
}

var _ env.Factory = (*Factory)(nil)

// NewFactory returns a factory of game environments configured by opts
// (nil means defaults); their seat is opts.Seat, or a new one with
// opts.Opponent and opts.Epsilon.
func NewFactory(opts *Options) *Factory {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Seat = SeatedAt(o.Seat, o.Opponent, o.Epsilon).Seat()
	return NewSeatFactory("games", o.Seat, func() retrain.Environment { return New(&o) })
}

// NewSeatFactory returns a factory whose NewEnv calls newEnv, which must
// make an environment playing at seat (nil: a new seat with a random
// opponent). name prefixes its errors.
func NewSeatFactory(name string, seat *Seat, newEnv func() retrain.Environment) *Factory {
	return &Factory{Seated: SeatedAt(seat, nil, 0), name: name, newEnv: newEnv}
}

// OnClose sets what the first Close releases, such as the configured
// opponent's model client. Call it before the factory is shared.
func (f *Factory) OnClose(release func()) { f.onClose = release }

// TaskFree reports that a game needs no task (see env.TaskFree): the board
// is the task.
func (f *Factory) TaskFree() bool { return true }

// NewEnv makes an environment that plays at the factory's seat.
func (f *Factory) NewEnv() (retrain.Environment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, fmt.Errorf("%s: NewEnv: %w", f.name, retrain.ErrClosed)
	}
	return f.newEnv(), nil
}

// Close stops the factory from making environments and releases what the
// configured opponent holds. It is safe to call more than once.
func (f *Factory) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed && f.onClose != nil {
		f.onClose()
	}
	f.closed = true
	return nil
}
