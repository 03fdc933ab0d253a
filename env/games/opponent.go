package games

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/retrain-rl/retrain/dialect"
)

// Position is what a player sees when it is its turn to move: the game's
// state as text, as a model in that seat would be prompted, and the legal
// moves.
type Position struct {
	// Game is the game's name ("tictactoe", or the Python environment's).
	Game string
	// Player is the player to move (0 or 1) and Mark its symbol.
	Player int
	Mark   string
	// Ply is the number of moves made so far.
	Ply int
	// Legal lists the legal moves, each spelt as a player should answer it.
	Legal []string
	// System and Prompt are the system message and the user message a
	// model in this seat reads: the rules, the board, the legal moves and
	// how to answer, written for Dialect.
	System, Prompt string
	// Dialect is the format in which System asks the model to answer.
	Dialect dialect.Dialect
	// State is a copy of the game for opponents that search (see
	// [Minimax]); nil for games that are not written in Go (the
	// Gymnasium bridge).
	State Game
	// Check turns an answer into the canonical spelling of a legal move,
	// or says why it is not one. Nil means the answer must be one of Legal
	// exactly.
	Check func(answer string) (string, error)
}

// check applies pos.Check, or exact membership in Legal.
func (pos Position) check(answer string) (string, error) {
	if pos.Check != nil {
		return pos.Check(answer)
	}
	if slices.Contains(pos.Legal, answer) {
		return answer, nil
	}
	return "", errors.New("not a legal move")
}

// Opponent plays the other side of a two-player game.
//
// Move chooses a move in pos; it is checked with pos's rules, and an
// answer that is not a legal move is replaced by a random legal one (see
// [Choose]). rng is the episode's random source for this turn: opponents
// that draw random numbers must use it (and only it) so that seeded
// episodes replay exactly. An error means the opponent could not play at
// all (its model server is down, ctx is done); it fails the episode.
//
// Implementations must be safe for concurrent use: one opponent may play in
// many episodes at once.
type Opponent interface {
	Move(ctx context.Context, pos Position, rng *rand.Rand) (string, error)
}

// OpponentFunc is a scripted opponent: a function that chooses a move.
type OpponentFunc func(ctx context.Context, pos Position, rng *rand.Rand) (string, error)

// Move calls f.
func (f OpponentFunc) Move(ctx context.Context, pos Position, rng *rand.Rand) (string, error) {
	return f(ctx, pos, rng)
}

// Random returns the opponent that plays a uniformly random legal move,
// drawn from the episode's seeded random source.
func Random() Opponent { return randomOpponent{} }

type randomOpponent struct{}

func (randomOpponent) Move(ctx context.Context, pos Position, rng *rand.Rand) (string, error) {
	if len(pos.Legal) == 0 {
		return "", errors.New("games: random opponent: no legal move")
	}
	return pos.Legal[rng.IntN(len(pos.Legal))], nil
}

// Minimax returns the opponent that searches the game tree (negamax with
// alpha-beta pruning) depth plies deep and plays a best move, breaking ties
// at random. depth <= 0 searches to the end of the game: perfect play, fit
// for tic-tac-toe (whose positions, being a [Keyer], are solved once per
// process and cached). At the depth limit positions are scored by the
// game's [Evaluator] when it has one, else as even. Faster wins and slower
// losses are preferred. It needs Position.State: it cannot play games that
// are not written in Go.
func Minimax(depth int) Opponent { return &minimax{depth: depth} }

type minimax struct{ depth int }

// solved caches the exact values of positions of games that are a Keyer,
// by game name and key: they do not depend on who asks.
var solved = struct {
	sync.Mutex
	values map[[2]string]float64
}{values: map[[2]string]float64{}}

// winScore is the value of a won position, less the plies taken to win.
const winScore = 1000.0

func (m *minimax) Move(ctx context.Context, pos Position, rng *rand.Rand) (string, error) {
	if pos.State == nil {
		return "", errors.New("games: minimax opponent: the position has no game state to search (only games written in Go have one)")
	}
	root := pos.State
	var best []string
	bestVal := math.Inf(-1)
	for _, mv := range root.Legal() {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		child := root.Clone()
		if err := child.Play(mv); err != nil {
			return "", err
		}
		var v float64
		if _, ok := child.(Keyer); ok && m.depth <= 0 {
			v = farther(-m.solve(child))
		} else {
			depth := m.depth
			if depth <= 0 {
				depth = math.MaxInt32
			}
			v = -negamax(child, depth-1, math.Inf(-1), math.Inf(1), root.Ply())
		}
		switch {
		case v > bestVal:
			best, bestVal = []string{mv}, v
		case v == bestVal:
			best = append(best, mv)
		}
	}
	if len(best) == 0 {
		return "", errors.New("games: minimax opponent: no legal move")
	}
	return best[rng.IntN(len(best))], nil
}

// farther moves a value one ply away from the end: a win or a loss k plies
// ahead is k+1 plies ahead of the position before.
func farther(v float64) float64 {
	switch {
	case v > 0:
		return v - 1
	case v < 0:
		return v + 1
	}
	return 0
}

// solve is the exact value of g for the player to move, searched to the
// end and cached by key: 0 for a draw, winScore-k for a win k plies ahead,
// -(winScore-k) for a loss.
func (m *minimax) solve(g Game) float64 {
	key := [2]string{g.Name(), g.(Keyer).Key()}
	solved.Lock()
	v, ok := solved.values[key]
	solved.Unlock()
	if ok {
		return v
	}
	if out := g.Outcome(); out.Over {
		if out.Winner != Draw {
			v = -winScore // the player who just moved won
		}
	} else {
		v = math.Inf(-1)
		for _, mv := range g.Legal() {
			child := g.Clone()
			if err := child.Play(mv); err != nil {
				continue
			}
			v = max(v, farther(-m.solve(child)))
		}
	}
	solved.Lock()
	solved.values[key] = v
	solved.Unlock()
	return v
}

// negamax is the value of g for the player to move.
func negamax(g Game, depth int, alpha, beta float64, rootPly int) float64 {
	if out := g.Outcome(); out.Over {
		if out.Winner == Draw {
			return 0
		}
		// The player who just moved won.
		return -(winScore - float64(g.Ply()-rootPly))
	}
	if depth <= 0 {
		if ev, ok := g.(Evaluator); ok {
			return ev.Evaluate(g.ToMove())
		}
		return 0
	}
	best := math.Inf(-1)
	for _, mv := range g.Legal() {
		child := g.Clone()
		if err := child.Play(mv); err != nil {
			continue
		}
		v := -negamax(child, depth-1, -beta, -alpha, rootPly)
		best = max(best, v)
		alpha = max(alpha, v)
		if alpha >= beta {
			break
		}
	}
	return best
}
