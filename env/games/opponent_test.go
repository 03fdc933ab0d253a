package games_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/retrain-rl/retrain/env/games"
)

// pos is the position of g with only the fields opponents use.
func pos(g games.Game) games.Position {
	return games.Position{Game: g.Name(), Player: g.ToMove(), Legal: g.Legal(), State: g.Clone()}
}

func TestRandomOpponentSeeded(t *testing.T) {
	g := games.NewConnectFour()
	moves := func(seed uint64) []string {
		var out []string
		for ply := range 20 {
			m, err := games.Random().Move(t.Context(), pos(g), games.TurnRand(seed, ply))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}
	a, b, c := moves(1), moves(1), moves(2)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different moves: %v vs %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 gave the same 20 moves %v", a)
	}
	seen := map[string]bool{}
	for _, m := range append(a, c...) {
		seen[m] = true
	}
	if len(seen) < 5 {
		t.Errorf("40 random moves used only columns %v", seen)
	}
}

func TestMinimaxTicTacToe(t *testing.T) {
	tests := []struct {
		name  string
		moves []string
		want  []string // any of these
	}{
		{"takes the win", []string{"a1", "a2", "b1", "b2"}, []string{"c1"}},
		{"blocks", []string{"a1", "b2", "b1"}, []string{"c1"}},
		{"wins rather than blocks", []string{"a1", "a2", "b1", "b2", "c3"}, []string{"c2"}},
		{"answers a corner with the centre", []string{"a1"}, []string{"b2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := games.NewTicTacToe()
			play(t, g, tt.moves...)
			for seed := range uint64(5) {
				m, err := games.Minimax(0).Move(t.Context(), pos(g), games.TurnRand(seed, 0))
				if err != nil {
					t.Fatal(err)
				}
				ok := false
				for _, w := range tt.want {
					ok = ok || m == w
				}
				if !ok {
					t.Errorf("seed %d: minimax played %s, want one of %v\n%s", seed, m, tt.want, g.Board())
				}
			}
		})
	}
}

// playOut plays a game between two opponents and returns the winner.
func playOut(t *testing.T, g games.Game, seed uint64, players [2]games.Opponent) int {
	t.Helper()
	for !g.Outcome().Over {
		m, err := players[g.ToMove()].Move(t.Context(), pos(g), games.TurnRand(seed, g.Ply()))
		if err != nil {
			t.Fatal(err)
		}
		play(t, g, m)
	}
	return g.Outcome().Winner
}

func TestMinimaxNeverLosesTicTacToe(t *testing.T) {
	for seed := range uint64(20) {
		if w := playOut(t, games.NewTicTacToe(), seed, [2]games.Opponent{games.Minimax(0), games.Random()}); w == 1 {
			t.Errorf("seed %d: minimax as X lost to random", seed)
		}
		if w := playOut(t, games.NewTicTacToe(), seed, [2]games.Opponent{games.Random(), games.Minimax(0)}); w == 0 {
			t.Errorf("seed %d: minimax as O lost to random", seed)
		}
	}
	if w := playOut(t, games.NewTicTacToe(), 3, [2]games.Opponent{games.Minimax(0), games.Minimax(0)}); w != games.Draw {
		t.Errorf("minimax against itself: winner %d, want a draw", w)
	}
}

func TestMinimaxConnectFour(t *testing.T) {
	g := games.NewConnectFour()
	play(t, g, "1", "7", "2", "7", "3") // X threatens 4
	m, err := games.Minimax(4).Move(t.Context(), pos(g), games.TurnRand(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if m != "4" {
		t.Errorf("minimax as O played %s, want the block at 4\n%s", m, g.Board())
	}
	wins := 0
	for seed := range uint64(6) {
		if playOut(t, games.NewConnectFour(), seed, [2]games.Opponent{games.Minimax(3), games.Random()}) == 0 {
			wins++
		}
	}
	if wins < 5 {
		t.Errorf("depth-3 minimax beat random %d times of 6", wins)
	}
	if _, err := games.Minimax(2).Move(t.Context(), games.Position{Legal: []string{"1"}}, games.TurnRand(1, 0)); err == nil {
		t.Error("minimax without a game state succeeded")
	}
}

func TestChooseEpsilon(t *testing.T) {
	g := games.NewTicTacToe()
	first := games.OpponentFunc(func(ctx context.Context, p games.Position, rng *rand.Rand) (string, error) {
		return p.Legal[0], nil
	})
	count := func(eps float64, seed uint64) (random int, moves []string) {
		for ply := range 400 {
			ch, err := games.Choose(t.Context(), first, eps, pos(g), games.TurnRand(seed, ply))
			if err != nil {
				t.Fatal(err)
			}
			if ch.Source == games.SourceEpsilon {
				random++
			} else if ch.Source != games.SourceOpponent || ch.Move != "a1" {
				t.Fatalf("eps %v: choice %+v, want the opponent's a1", eps, ch)
			}
			moves = append(moves, ch.Move)
		}
		return random, moves
	}
	if n, _ := count(0, 1); n != 0 {
		t.Errorf("epsilon 0: %d random moves", n)
	}
	if n, _ := count(1, 1); n != 400 {
		t.Errorf("epsilon 1: %d random moves of 400", n)
	}
	n, a := count(0.25, 7)
	if n < 60 || n > 140 {
		t.Errorf("epsilon 0.25: %d random moves of 400, want about 100", n)
	}
	if m, b := count(0.25, 7); m != n || !slices.Equal(a, b) {
		t.Error("epsilon draws differ under the same seed")
	}
}

func TestChooseFallbackAndErrors(t *testing.T) {
	g := games.NewTicTacToe()
	play(t, g, "b2")
	p := pos(g)
	p.Check = func(ans string) (string, error) {
		m, err := g.Normalize(ans)
		if err != nil {
			return "", err
		}
		if err := g.Clone().Play(m); err != nil {
			return "", err
		}
		return m, nil
	}
	taken := games.OpponentFunc(func(context.Context, games.Position, *rand.Rand) (string, error) { return "B2", nil })
	ch, err := games.Choose(t.Context(), taken, 0, p, games.TurnRand(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Source != games.SourceFallback || ch.Answer != "B2" || ch.Problem == "" || ch.Move == "b2" {
		t.Errorf("illegal opponent move: choice %+v, want a fallback to another cell with the problem kept", ch)
	}
	canon := games.OpponentFunc(func(context.Context, games.Position, *rand.Rand) (string, error) { return " C3 ", nil })
	if ch, _ := games.Choose(t.Context(), canon, 0, p, games.TurnRand(1, 1)); ch.Move != "c3" || ch.Source != games.SourceOpponent {
		t.Errorf("choice %+v, want the opponent's c3 canonicalized", ch)
	}
	boom := errors.New("server down")
	failing := games.OpponentFunc(func(context.Context, games.Position, *rand.Rand) (string, error) { return "", boom })
	if _, err := games.Choose(t.Context(), failing, 0, p, games.TurnRand(1, 1)); !errors.Is(err, boom) {
		t.Errorf("failing opponent: err = %v, want it wrapped", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := games.Choose(ctx, taken, 0, p, games.TurnRand(1, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestSeat(t *testing.T) {
	s := games.NewSeat(nil, 2)
	if _, eps := s.Current(); eps != 1 {
		t.Errorf("epsilon 2 clamped to %v, want 1", eps)
	}
	for _, tt := range []struct{ in, want float64 }{{-1, 0}, {math.NaN(), 0}, {0.3, 0.3}} {
		s.SetEpsilon(tt.in)
		if _, eps := s.Current(); eps != tt.want {
			t.Errorf("SetEpsilon(%v): epsilon %v, want %v", tt.in, eps, tt.want)
		}
	}
	// Swapping from many goroutines while others read is safe (run with -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				s.AddOpposingAgent(games.Minimax(1))
			} else {
				s.SetOpponent(nil)
			}
			s.SetEpsilon(float64(i) / 10)
		}()
		go func() {
			defer wg.Done()
			if o, _ := s.Current(); o == nil {
				t.Error("Current returned a nil opponent")
			}
		}()
	}
	wg.Wait()
}
