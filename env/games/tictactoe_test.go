package games_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain/env/games"
)

// play makes moves in g, failing t on an illegal one.
func play(t *testing.T, g games.Game, moves ...string) {
	t.Helper()
	for _, m := range moves {
		if err := g.Play(m); err != nil {
			t.Fatalf("Play(%q) after %d moves: %v", m, g.Ply(), err)
		}
	}
}

func TestTicTacToeOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		moves  []string
		want   games.Outcome
		legals int
	}{
		{"row", []string{"a1", "a2", "b1", "b2", "c1"}, games.Outcome{Over: true, Winner: 0, Line: []string{"a1", "b1", "c1"}}, 0},
		{"middle row by O", []string{"a1", "a2", "b1", "b2", "c3", "c2"}, games.Outcome{Over: true, Winner: 1, Line: []string{"a2", "b2", "c2"}}, 0},
		{"column", []string{"b1", "a1", "b2", "c3", "b3"}, games.Outcome{Over: true, Winner: 0, Line: []string{"b1", "b2", "b3"}}, 0},
		{"diagonal", []string{"a1", "b1", "b2", "c1", "c3"}, games.Outcome{Over: true, Winner: 0, Line: []string{"a1", "b2", "c3"}}, 0},
		{"anti-diagonal", []string{"a1", "c1", "a2", "b2", "c3", "a3"}, games.Outcome{Over: true, Winner: 1, Line: []string{"c1", "b2", "a3"}}, 0},
		{"draw", []string{"a1", "b1", "c1", "b2", "a2", "c2", "b3", "a3", "c3"}, games.Outcome{Over: true, Winner: games.Draw}, 0},
		{"win on the last cell is a win", []string{"a1", "b1", "c1", "a2", "b2", "c2", "b3", "a3", "c3"}, games.Outcome{Over: true, Winner: 0, Line: []string{"a1", "b2", "c3"}}, 0},
		{"not over", []string{"a1", "b2"}, games.Outcome{}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := games.NewTicTacToe()
			play(t, g, tt.moves...)
			if diff := cmp.Diff(tt.want, g.Outcome()); diff != "" {
				t.Errorf("Outcome (-want +got):\n%s", diff)
			}
			if got := len(g.Legal()); got != tt.legals {
				t.Errorf("len(Legal()) = %d, want %d", got, tt.legals)
			}
		})
	}
}

func TestTicTacToeIllegal(t *testing.T) {
	g := games.NewTicTacToe()
	play(t, g, "b2")
	err := g.Play("b2")
	if err == nil || !strings.Contains(err.Error(), "taken by X") {
		t.Errorf("Play on a taken cell: err = %v, want one saying it is taken by X", err)
	}
	if g.Ply() != 1 || g.ToMove() != 1 {
		t.Errorf("a refused move changed the game: ply %d, to move %d", g.Ply(), g.ToMove())
	}
	if err := g.Play("d4"); err == nil {
		t.Error("Play(d4) succeeded")
	}
	play(t, g, "a1", "c1", "a2", "a3") // X wins with c1, b2, a3
	if err := g.Play("c3"); err == nil {
		t.Error("Play after the game ended succeeded")
	}
}

func TestTicTacToeNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"b2", "b2", true},
		{"B2", "b2", true},
		{" 2b ", "b2", true},
		{"c 3", "c3", true},
		{"a0", "", false},
		{"d1", "", false},
		{"b22", "", false},
		{"", "", false},
		{"center", "", false},
	}
	g := games.NewTicTacToe()
	for _, tt := range tests {
		got, err := g.Normalize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "like b2") {
			t.Errorf("Normalize(%q) error %q does not show how to write a cell", tt.in, err)
		}
	}
}

func TestTicTacToeBoard(t *testing.T) {
	g := games.NewTicTacToe()
	play(t, g, "a1", "b2", "c3")
	want := "   a b c\n1  X . .\n2  . O .\n3  . . X\n"
	if got := g.Board(); got != want {
		t.Errorf("Board() =\n%s\nwant\n%s", got, want)
	}
	c := g.Clone()
	play(t, c, "a3")
	if g.Board() != want {
		t.Error("playing on a clone changed the original")
	}
}

func FuzzTicTacToeNormalize(f *testing.F) {
	for _, s := range []string{"b2", "2B", " a 1 ", "", "c4", "ä1", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := games.NewTicTacToe()
		m, err := g.Normalize(s)
		if err != nil {
			return
		}
		// A normalized move is canonical and playable on an empty board.
		if again, err := g.Normalize(m); err != nil || again != m {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", s, m, m, again, err)
		}
		if err := g.Play(m); err != nil {
			t.Fatalf("Play(%q) on an empty board: %v", m, err)
		}
	})
}
