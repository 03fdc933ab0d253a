package games_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain/env/games"
)

func TestConnectFourGravity(t *testing.T) {
	g := games.NewConnectFour()
	play(t, g, "4", "4", "3")
	want := "" +
		"   1 2 3 4 5 6 7\n" +
		"6  . . . . . . .\n" +
		"5  . . . . . . .\n" +
		"4  . . . . . . .\n" +
		"3  . . . . . . .\n" +
		"2  . . . O . . .\n" +
		"1  . . X X . . .\n"
	if got := g.Board(); got != want {
		t.Errorf("Board() =\n%s\nwant\n%s", got, want)
	}
}

func TestConnectFourFullColumn(t *testing.T) {
	g := games.NewConnectFour()
	play(t, g, "1", "1", "1", "1", "1", "1")
	if err := g.Play("1"); err == nil || !strings.Contains(err.Error(), "column 1 is full") {
		t.Errorf("Play on a full column: err = %v, want one saying column 1 is full", err)
	}
	if diff := cmp.Diff([]string{"2", "3", "4", "5", "6", "7"}, g.Legal()); diff != "" {
		t.Errorf("Legal() (-want +got):\n%s", diff)
	}
	if g.Ply() != 6 {
		t.Errorf("Ply() = %d after a refused move, want 6", g.Ply())
	}
}

func TestConnectFourOutcomes(t *testing.T) {
	tests := []struct {
		name  string
		moves []string
		want  games.Outcome
	}{
		{"horizontal", []string{"1", "1", "2", "2", "3", "3", "4"},
			games.Outcome{Over: true, Winner: 0, Line: []string{"(1,1)", "(2,1)", "(3,1)", "(4,1)"}}},
		{"horizontal completed in the middle", []string{"1", "1", "2", "2", "4", "4", "3"},
			games.Outcome{Over: true, Winner: 0, Line: []string{"(1,1)", "(2,1)", "(3,1)", "(4,1)"}}},
		{"vertical by O", []string{"1", "2", "1", "2", "1", "2", "3", "2"},
			games.Outcome{Over: true, Winner: 1, Line: []string{"(2,1)", "(2,2)", "(2,3)", "(2,4)"}}},
		{"rising diagonal", []string{"1", "2", "2", "3", "3", "4", "3", "4", "4", "7", "4"},
			games.Outcome{Over: true, Winner: 0, Line: []string{"(1,1)", "(2,2)", "(3,3)", "(4,4)"}}},
		{"falling diagonal", []string{"7", "6", "6", "5", "5", "4", "5", "4", "4", "1", "4"},
			games.Outcome{Over: true, Winner: 0, Line: []string{"(4,4)", "(5,3)", "(6,2)", "(7,1)"}}},
		{"three is not a win", []string{"1", "1", "2", "2", "3"}, games.Outcome{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := games.NewConnectFour()
			play(t, g, tt.moves...)
			got := g.Outcome()
			// Lines are reported from one end; compare as sets of cells.
			if tt.want.Line != nil && len(got.Line) == 4 && got.Line[0] != tt.want.Line[0] {
				for i, j := 0, len(got.Line)-1; i < j; i, j = i+1, j-1 {
					got.Line[i], got.Line[j] = got.Line[j], got.Line[i]
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectFourDraw(t *testing.T) {
	// Fill columns in the order 1,2,3 then 4,5,6 two pieces at a time and
	// column 7 last: a pattern with no line of four.
	g := games.NewConnectFour()
	var moves []string
	for _, block := range [][]string{{"1", "2", "3"}, {"4", "5", "6"}} {
		for range 3 {
			for _, c := range block {
				moves = append(moves, c)
			}
			for _, c := range block {
				moves = append(moves, c)
			}
		}
	}
	// The two blocks interleave colours column by column, so no line of
	// four forms; column 7 alternates.
	for range 6 {
		moves = append(moves, "7")
	}
	for _, m := range moves {
		if g.Outcome().Over {
			t.Fatalf("the game ended early after %d moves:\n%s", g.Ply(), g.Board())
		}
		play(t, g, m)
	}
	if got := g.Outcome(); !got.Over || got.Winner != games.Draw {
		t.Errorf("Outcome after a full board = %+v, want a draw\n%s", got, g.Board())
	}
	if len(g.Legal()) != 0 {
		t.Errorf("Legal() = %v on a full board", g.Legal())
	}
}

func TestConnectFourNormalize(t *testing.T) {
	g := games.NewConnectFour()
	for in, want := range map[string]string{"4": "4", " 7 ": "7", "column 3": "3", "Column 1": "1"} {
		if got, err := g.Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "8", "d", "", "4.5"} {
		if _, err := g.Normalize(in); err == nil || !strings.Contains(err.Error(), "from 1 to 7") {
			t.Errorf("Normalize(%q): err = %v, want one saying columns go from 1 to 7", in, err)
		}
	}
}

func TestConnectFourEvaluate(t *testing.T) {
	g := games.NewConnectFour()
	play(t, g, "4", "1", "4", "1", "4") // X has three in column 4 with the top open
	if v := g.Evaluate(0); v <= 0 || v >= 1 {
		t.Errorf("Evaluate(X) = %v, want in (0, 1)", v)
	}
	if v := g.Evaluate(1); v >= 0 {
		t.Errorf("Evaluate(O) = %v, want negative", v)
	}
}

func FuzzConnectFourPlay(f *testing.F) {
	f.Add("4433221")
	f.Add("1111111")
	f.Add("7654321123")
	f.Fuzz(func(t *testing.T, moves string) {
		g := games.NewConnectFour()
		for _, r := range moves {
			before := g.Ply()
			legal := g.Legal()
			err := g.Play(string(r))
			ok := false
			for _, l := range legal {
				if l == string(r) {
					ok = true
				}
			}
			if (err == nil) != ok {
				t.Fatalf("Play(%q): err = %v, but legal moves were %v", r, err, legal)
			}
			if err == nil && g.Ply() != before+1 {
				t.Fatalf("Ply() = %d after a legal move from %d", g.Ply(), before)
			}
			if out := g.Outcome(); out.Over && out.Winner != games.Draw && len(out.Line) < 4 {
				t.Fatalf("a win with line %v", out.Line)
			}
		}
	})
}
