package games

import (
	"fmt"
	"strconv"
	"strings"
)

// Connect-four board size.
const (
	ConnectFourRows = 6
	ConnectFourCols = 7
)

// ConnectFour is connect four on a board of 7 columns and 6 rows. Player 0
// is X and moves first; player 1 is O. A move names a column, "1" (left) to
// "7" (right); the piece falls to the lowest empty cell of that column.
// Cells are named "(column,row)", rows counted from the bottom.
type ConnectFour struct {
	cells   [ConnectFourRows][ConnectFourCols]int8 // [row from bottom][col]: 0 empty, 1 X, 2 O
	heights [ConnectFourCols]int
	ply     int
	out     Outcome
}

var (
	_ Game      = (*ConnectFour)(nil)
	_ Evaluator = (*ConnectFour)(nil)
)

// NewConnectFour returns an empty board, X to move.
func NewConnectFour() *ConnectFour { return &ConnectFour{} }

// Name returns "connect4".
func (*ConnectFour) Name() string { return "connect4" }

// Title returns "Connect four".
func (*ConnectFour) Title() string { return "Connect four" }

// Rules explains the game and how to write a move.
func (*ConnectFour) Rules() string {
	return "Connect four on a board of 7 columns and 6 rows. Players take turns dropping a piece (X or O) " +
		"into a column; it falls to the lowest empty cell of that column. X moves first. Four of your " +
		"pieces in a line (horizontal, vertical or diagonal) win; a full board without such a line is a " +
		"draw. A move is a column number from 1 (left) to 7 (right), e.g. 4 for the middle column; a " +
		"full column cannot be played."
}

// Mark is "X" for player 0 and "O" for player 1.
func (*ConnectFour) Mark(player int) string {
	if player == 0 {
		return "X"
	}
	return "O"
}

// ToMove returns the player to move.
func (g *ConnectFour) ToMove() int { return g.ply % 2 }

// Ply returns the number of moves made.
func (g *ConnectFour) Ply() int { return g.ply }

// Legal lists the columns that are not full, left to right.
func (g *ConnectFour) Legal() []string {
	if g.out.Over {
		return nil
	}
	var moves []string
	for c, h := range g.heights {
		if h < ConnectFourRows {
			moves = append(moves, strconv.Itoa(c+1))
		}
	}
	return moves
}

// Normalize accepts a column number, optionally written "column 4".
func (g *ConnectFour) Normalize(text string) (string, error) {
	c, err := c4Column(text)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(c + 1), nil
}

func c4Column(text string) (int, error) {
	s := strings.ToLower(strings.TrimSpace(text))
	s = strings.TrimSpace(strings.TrimPrefix(s, "column"))
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > ConnectFourCols {
		return 0, fmt.Errorf("%q is not a column: write a column number from 1 to %d, like 4", clip(text), ConnectFourCols)
	}
	return n - 1, nil
}

// Play drops the mover's piece into the column move.
func (g *ConnectFour) Play(move string) error {
	if g.out.Over {
		return fmt.Errorf("the game is over")
	}
	c, err := c4Column(move)
	if err != nil {
		return err
	}
	r := g.heights[c]
	if r >= ConnectFourRows {
		return fmt.Errorf("column %d is full", c+1)
	}
	piece := int8(g.ToMove() + 1)
	g.cells[r][c] = piece
	g.heights[c]++
	g.ply++
	if line := g.lineThrough(r, c, piece); line != nil {
		g.out = Outcome{Over: true, Winner: int(piece - 1), Line: line}
	} else if g.ply == ConnectFourRows*ConnectFourCols {
		g.out = Outcome{Over: true, Winner: Draw}
	}
	return nil
}

// c4Dirs are the four directions of a line: right, up, up-right, up-left.
var c4Dirs = [4][2]int{{0, 1}, {1, 0}, {1, 1}, {1, -1}}

func c4Cell(r, c int) string { return fmt.Sprintf("(%d,%d)", c+1, r+1) }

// lineThrough returns the cells of a line of four or more pieces through
// (r, c), or nil.
func (g *ConnectFour) lineThrough(r, c int, piece int8) []string {
	for _, d := range c4Dirs {
		var cells [][2]int
		// Walk back to the start of the run, then forward along it.
		sr, sc := r, c
		for g.at(sr-d[0], sc-d[1]) == piece {
			sr, sc = sr-d[0], sc-d[1]
		}
		for rr, cc := sr, sc; g.at(rr, cc) == piece; rr, cc = rr+d[0], cc+d[1] {
			cells = append(cells, [2]int{rr, cc})
		}
		if len(cells) >= 4 {
			line := make([]string, len(cells))
			for i, p := range cells {
				line[i] = c4Cell(p[0], p[1])
			}
			return line
		}
	}
	return nil
}

// at is the piece at (r, c), or -1 off the board.
func (g *ConnectFour) at(r, c int) int8 {
	if r < 0 || r >= ConnectFourRows || c < 0 || c >= ConnectFourCols {
		return -1
	}
	return g.cells[r][c]
}

// Outcome reports the game's end.
func (g *ConnectFour) Outcome() Outcome { return g.out }

// Board draws the board, top row first, columns numbered 1–7 and rows
// 1–6 from the bottom; "." is empty.
//
//	   1 2 3 4 5 6 7
//	6  . . . . . . .
//	…
//	1  . . X O . . .
func (g *ConnectFour) Board() string {
	var b strings.Builder
	b.WriteString("   1 2 3 4 5 6 7\n")
	for r := ConnectFourRows - 1; r >= 0; r-- {
		fmt.Fprintf(&b, "%d ", r+1)
		for c := range ConnectFourCols {
			b.WriteString(" ")
			if p := g.cells[r][c]; p == 0 {
				b.WriteString(".")
			} else {
				b.WriteString(g.Mark(int(p - 1)))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Clone returns a copy.
func (g *ConnectFour) Clone() Game {
	c := *g
	c.out.Line = append([]string(nil), g.out.Line...)
	return &c
}

// Evaluate scores a position for player: open windows of four with two or
// three of one player's pieces, and pieces in the centre column.
func (g *ConnectFour) Evaluate(player int) float64 {
	me, them := int8(player+1), int8(2-player)
	score := 0.0
	for r := range ConnectFourRows {
		for c := range ConnectFourCols {
			for _, d := range c4Dirs {
				er, ec := r+3*d[0], c+3*d[1]
				if g.at(er, ec) < 0 {
					continue
				}
				var mine, theirs int
				for k := range 4 {
					switch g.cells[r+k*d[0]][c+k*d[1]] {
					case me:
						mine++
					case them:
						theirs++
					}
				}
				switch {
				case theirs == 0 && mine == 3:
					score += 5
				case theirs == 0 && mine == 2:
					score += 2
				case mine == 0 && theirs == 3:
					score -= 5
				case mine == 0 && theirs == 2:
					score -= 2
				}
			}
		}
		switch g.cells[r][ConnectFourCols/2] {
		case me:
			score += 3
		case them:
			score -= 3
		}
	}
	return score / (abs(score) + 20)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
