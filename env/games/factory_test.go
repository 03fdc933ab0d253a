package games_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env/games"
)

// A seat factory hands every environment its seat, refuses to make more
// once closed (its name in the error), and releases once.
func TestSeatFactory(t *testing.T) {
	var made []games.Seated
	f := games.NewSeatFactory("mygame", nil, func() retrain.Environment {
		e := games.New(nil)
		made = append(made, e.Seated)
		return e
	})
	released := 0
	f.OnClose(func() { released++ })
	if f.Seat() == nil {
		t.Fatal("no seat")
	}
	if _, eps := f.Seat().Current(); eps != 0 {
		t.Errorf("epsilon %g on a new seat", eps)
	}
	if _, err := f.NewEnv(); err != nil {
		t.Fatal(err)
	}
	f.SetEpsilon(0.5)
	if _, eps := f.Seat().Current(); eps != 0.5 {
		t.Errorf("SetEpsilon on the factory: epsilon %g", eps)
	}
	f.Close()
	f.Close()
	if released != 1 {
		t.Errorf("released %d times, want 1", released)
	}
	_, err := f.NewEnv()
	if !errors.Is(err, retrain.ErrClosed) || !strings.HasPrefix(err.Error(), "mygame: NewEnv") {
		t.Errorf("NewEnv after Close: %v", err)
	}
}

// Environments of a game factory act on the factory's seat: an opponent set
// on one is the opponent of all, from their next episode.
func TestFactorySharesSeat(t *testing.T) {
	f := games.NewFactory(&games.Options{Opponent: scripted("c3")})
	defer f.Close()
	a, _ := f.NewEnv()
	b, _ := f.NewEnv()
	ea, eb := a.(*games.Env), b.(*games.Env)
	if ea.Seat() != f.Seat() || eb.Seat() != f.Seat() {
		t.Fatal("environments do not share the factory's seat")
	}
	ea.SetEpsilon(1)
	if _, eps := eb.Seat().Current(); eps != 1 {
		t.Errorf("epsilon set through one environment: the other sees %g", eps)
	}
}

// A match reads the seat once, and plays turns with TurnRand(seed, ply).
func TestMatch(t *testing.T) {
	seat := games.NewSeat(games.Random(), 0.3)
	s := games.SeatedAt(seat, nil, 0)
	m := s.Start(games.Alternate, 7)
	if m.Seed != 7 || m.ModelPlayer != 1 || m.Epsilon != 0.3 {
		t.Fatalf("match %+v", m)
	}
	seat.SetEpsilon(0.9) // the match keeps what it started with
	if m.Epsilon != 0.3 {
		t.Errorf("match epsilon changed to %g", m.Epsilon)
	}
	pos := games.Position{Game: "g", Ply: 4, Legal: []string{"a", "b", "c", "d", "e"}, Check: func(s string) (string, error) { return s, nil }}
	for range 5 {
		got, err := m.Choose(t.Context(), pos)
		if err != nil {
			t.Fatal(err)
		}
		want, err := games.Choose(t.Context(), m.Opponent, m.Epsilon, pos, games.TurnRand(7, 4))
		if err != nil || got != want {
			t.Errorf("Match.Choose = %+v, Choose = %+v, %v", got, want, err)
		}
	}
}
