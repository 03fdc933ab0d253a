package games

import (
	"fmt"
	"strings"
)

// TicTacToe is tic-tac-toe on a 3×3 board. Player 0 is X and moves first;
// player 1 is O. A move names a cell by its column letter and row number,
// "a1" (top left) to "c3" (bottom right).
type TicTacToe struct {
	cells [9]int8 // 0 empty, 1 player 0 (X), 2 player 1 (O); index row*3+col
	ply   int
	out   Outcome
}

var (
	_ Game  = (*TicTacToe)(nil)
	_ Keyer = (*TicTacToe)(nil)
)

// NewTicTacToe returns an empty board, X to move.
func NewTicTacToe() *TicTacToe { return &TicTacToe{} }

// Name returns "tictactoe".
func (*TicTacToe) Name() string { return "tictactoe" }

// Title returns "Tic-tac-toe".
func (*TicTacToe) Title() string { return "Tic-tac-toe" }

// Rules explains the game and how to write a move.
func (*TicTacToe) Rules() string {
	return "Tic-tac-toe on a 3×3 board. Players take turns putting their mark (X or O) in an empty cell; " +
		"X moves first. Three of your marks in a row, a column or a diagonal win; a full board without " +
		"a line is a draw. A move names a cell by its column letter (a, b, c, left to right) and row " +
		"number (1, 2, 3, top to bottom), e.g. b2 for the centre."
}

// Mark is "X" for player 0 and "O" for player 1.
func (*TicTacToe) Mark(player int) string {
	if player == 0 {
		return "X"
	}
	return "O"
}

// ToMove returns the player to move.
func (g *TicTacToe) ToMove() int { return g.ply % 2 }

// Ply returns the number of moves made.
func (g *TicTacToe) Ply() int { return g.ply }

func tttCell(i int) string { return fmt.Sprintf("%c%d", 'a'+i%3, i/3+1) }

// Legal lists the empty cells, row by row.
func (g *TicTacToe) Legal() []string {
	if g.out.Over {
		return nil
	}
	var moves []string
	for i, c := range g.cells {
		if c == 0 {
			moves = append(moves, tttCell(i))
		}
	}
	return moves
}

// Normalize accepts a cell as column letter and row number in either order
// and either case ("b2", "B2", "2b").
func (g *TicTacToe) Normalize(text string) (string, error) {
	i, err := tttIndex(text)
	if err != nil {
		return "", err
	}
	return tttCell(i), nil
}

func tttIndex(text string) (int, error) {
	s := strings.ToLower(strings.Join(strings.Fields(text), ""))
	if len(s) == 2 && s[0] >= '1' && s[0] <= '9' {
		s = s[1:] + s[:1]
	}
	if len(s) != 2 || s[0] < 'a' || s[0] > 'c' || s[1] < '1' || s[1] > '3' {
		return 0, fmt.Errorf("%q is not a cell: write a column letter (a, b or c) then a row number (1, 2 or 3), like b2", clip(text))
	}
	return int(s[1]-'1')*3 + int(s[0]-'a'), nil
}

// Play puts the mover's mark in the cell move.
func (g *TicTacToe) Play(move string) error {
	if g.out.Over {
		return fmt.Errorf("the game is over")
	}
	i, err := tttIndex(move)
	if err != nil {
		return err
	}
	if c := g.cells[i]; c != 0 {
		return fmt.Errorf("%s is already taken by %s", tttCell(i), g.Mark(int(c-1)))
	}
	g.cells[i] = int8(g.ToMove() + 1)
	g.ply++
	g.out = g.outcome()
	return nil
}

var tttLines = [8][3]int{
	{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, // rows
	{0, 3, 6}, {1, 4, 7}, {2, 5, 8}, // columns
	{0, 4, 8}, {2, 4, 6}, // diagonals
}

func (g *TicTacToe) outcome() Outcome {
	for _, l := range tttLines {
		if c := g.cells[l[0]]; c != 0 && c == g.cells[l[1]] && c == g.cells[l[2]] {
			return Outcome{Over: true, Winner: int(c - 1), Line: []string{tttCell(l[0]), tttCell(l[1]), tttCell(l[2])}}
		}
	}
	if g.ply == 9 {
		return Outcome{Over: true, Winner: Draw}
	}
	return Outcome{}
}

// Outcome reports the game's end.
func (g *TicTacToe) Outcome() Outcome { return g.out }

// Board draws the board with columns a–c and rows 1–3; "." is empty.
//
//	   a b c
//	1  X . .
//	2  . O .
//	3  . . .
func (g *TicTacToe) Board() string {
	var b strings.Builder
	b.WriteString("   a b c\n")
	for r := range 3 {
		fmt.Fprintf(&b, "%d ", r+1)
		for c := range 3 {
			b.WriteString(" ")
			switch g.cells[r*3+c] {
			case 0:
				b.WriteString(".")
			default:
				b.WriteString(g.Mark(int(g.cells[r*3+c] - 1)))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Key identifies the position: the nine cells.
func (g *TicTacToe) Key() string {
	var b [9]byte
	for i, c := range g.cells {
		b[i] = '0' + byte(c)
	}
	return string(b[:])
}

// Clone returns a copy.
func (g *TicTacToe) Clone() Game {
	c := *g
	c.out.Line = append([]string(nil), g.out.Line...)
	return &c
}

// clip shortens a player's text for an error message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}
