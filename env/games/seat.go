package games

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Seat is the opponent's side of the table: which [Opponent] plays and the
// chance epsilon that a turn is played at random instead. It is safe for
// concurrent use: a trainer may swap the opponent (self-play against a
// newer snapshot of the model) or change epsilon from another goroutine
// while episodes run. Environments read the seat when an episode starts
// (at Reset), so a change applies from the next episode on; an episode in
// progress keeps the opponent it started with.
type Seat struct {
	mu       sync.Mutex
	opponent Opponent
	epsilon  float64
}

// NewSeat returns a seat where o plays with the given epsilon (see
// [Seat.SetEpsilon]). A nil o means [Random].
func NewSeat(o Opponent, epsilon float64) *Seat {
	s := &Seat{}
	s.SetOpponent(o)
	s.SetEpsilon(epsilon)
	return s
}

// SetOpponent makes o the opponent of the episodes that start from now on.
// A nil o means [Random].
func (s *Seat) SetOpponent(o Opponent) {
	if o == nil {
		o = Random()
	}
	s.mu.Lock()
	s.opponent = o
	s.mu.Unlock()
}

// AddOpposingAgent is [Seat.SetOpponent] under the seed's name
// (add_opposing_agent).
func (s *Seat) AddOpposingAgent(o Opponent) { s.SetOpponent(o) }

// SetEpsilon sets the chance, from 0 to 1, that an opponent's turn is a
// uniformly random legal move instead of the opponent's choice (the seed's
// set_epsilon). Values outside [0, 1] are clamped; NaN means 0.
func (s *Seat) SetEpsilon(epsilon float64) {
	switch {
	case math.IsNaN(epsilon) || epsilon < 0:
		epsilon = 0
	case epsilon > 1:
		epsilon = 1
	}
	s.mu.Lock()
	s.epsilon = epsilon
	s.mu.Unlock()
}

// Current returns the opponent and epsilon an episode starting now plays
// with.
func (s *Seat) Current() (Opponent, float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opponent == nil {
		return Random(), s.epsilon
	}
	return s.opponent, s.epsilon
}

// Seated gives a two-player environment, or a factory of them, the seat
// methods by embedding: Seat, SetOpponent, AddOpposingAgent and SetEpsilon
// act on one shared [Seat]. This package's Env and Factory embed it, and so
// does package gym's Env. Make one with [SeatedAt]; the zero value has no
// seat.
type Seated struct{ seat *Seat }

// SeatedAt returns a Seated acting on seat or, when seat is nil, on a new
// seat where o plays with epsilon (see [NewSeat]).
func SeatedAt(seat *Seat, o Opponent, epsilon float64) Seated {
	if seat == nil {
		seat = NewSeat(o, epsilon)
	}
	return Seated{seat: seat}
}

// Seat returns the shared seat.
func (s Seated) Seat() *Seat { return s.seat }

// SetOpponent sets the opponent of the next episodes; see
// [Seat.SetOpponent].
func (s Seated) SetOpponent(o Opponent) { s.seat.SetOpponent(o) }

// AddOpposingAgent is SetOpponent under the seed's name.
func (s Seated) AddOpposingAgent(o Opponent) { s.seat.SetOpponent(o) }

// SetEpsilon sets the opponent's random-move chance of the next episodes;
// see [Seat.SetEpsilon].
func (s Seated) SetEpsilon(epsilon float64) { s.seat.SetEpsilon(epsilon) }

// Match is the opponent's side of one episode, fixed when the episode
// starts (a change to the seat applies from the next one): the seed of its
// random choices, the model's player, and the opponent and epsilon.
type Match struct {
	Seed        uint64
	ModelPlayer int
	Opponent    Opponent
	Epsilon     float64
}

// Start reads the seat for an episode with seed in which the model plays
// side.
func (s Seated) Start(side Side, seed uint64) Match {
	o, eps := s.seat.Current()
	return Match{Seed: seed, ModelPlayer: side.Player(seed), Opponent: o, Epsilon: eps}
}

// Choose plays the opponent's turn in pos (see [Choose]) with the turn's
// own random source, TurnRand(m.Seed, pos.Ply).
func (m Match) Choose(ctx context.Context, pos Position) (Choice, error) {
	return Choose(ctx, m.Opponent, m.Epsilon, pos, TurnRand(m.Seed, pos.Ply))
}

// Sources of an opponent's move, the values of [Choice.Source].
const (
	// SourceOpponent: the opponent chose the move.
	SourceOpponent = "opponent"
	// SourceEpsilon: the move was drawn at random, by epsilon.
	SourceEpsilon = "epsilon"
	// SourceFallback: the opponent's answer was not a legal move, so a
	// random legal move was played instead.
	SourceFallback = "fallback"
)

// Choice is one opponent turn.
type Choice struct {
	// Move is the move played, in canonical spelling.
	Move string `json:"move"`
	// Source says who chose it: opponent, epsilon or fallback.
	Source string `json:"source"`
	// Answer is what the opponent answered, when Source is fallback.
	Answer string `json:"answer,omitempty"`
	// Problem says why the answer was rejected, when Source is fallback.
	Problem string `json:"problem,omitempty"`
}

// Choose plays one opponent turn in pos: with probability epsilon a
// uniformly random legal move, else o's move checked with pos's rules. An
// answer that is not a legal move is replaced by a uniformly random legal
// move (Source fallback, the answer and the problem kept), so that a weak
// opponent, a model that writes nonsense, never stalls the game. rng must be
// the turn's own random source; the same rng state gives the same choice for
// deterministic opponents. An error from o fails the turn.
func Choose(ctx context.Context, o Opponent, epsilon float64, pos Position, rng *rand.Rand) (Choice, error) {
	if len(pos.Legal) == 0 {
		return Choice{}, fmt.Errorf("games: opponent to move in %s but there is no legal move", pos.Game)
	}
	if err := ctx.Err(); err != nil {
		return Choice{}, err
	}
	// The epsilon draw comes first, always, so that the rest of the turn's
	// random numbers do not depend on epsilon's value.
	explore := rng.Float64() < epsilon
	if explore {
		return Choice{Move: pos.Legal[rng.IntN(len(pos.Legal))], Source: SourceEpsilon}, nil
	}
	answer, err := o.Move(ctx, pos, rng)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			return Choice{}, fmt.Errorf("games: opponent: %w (%w)", err, ctxErr)
		}
		return Choice{}, fmt.Errorf("games: opponent: %w", err)
	}
	move, err := pos.check(answer)
	if err != nil {
		return Choice{
			Move:    pos.Legal[rng.IntN(len(pos.Legal))],
			Source:  SourceFallback,
			Answer:  answer,
			Problem: err.Error(),
		}, nil
	}
	return Choice{Move: move, Source: SourceOpponent}, nil
}

// TurnRand is the random source of the turn at ply of an episode with the
// given seed: a fresh PCG stream per turn, so that a turn that fails (a
// cancelled context) and is tried again draws the same numbers, and so that
// what happens at one turn does not shift the numbers of the next.
func TurnRand(seed uint64, ply int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(ply)))
}
