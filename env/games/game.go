package games

// Game is the rules and the state of an alternating-turn, two-player board
// game. Player 0 moves first. Moves are strings in a canonical spelling
// (e.g. "b2" in tic-tac-toe, "4" in connect four). A Game is not safe for
// concurrent use; Clone gives an independent copy.
type Game interface {
	// Name is the game's name, e.g. "tictactoe".
	Name() string
	// Title is the game's name as people write it, e.g. "Tic-tac-toe".
	Title() string
	// Rules explains the goal and how a move is written, for a prompt.
	Rules() string
	// Mark is the symbol of player 0 or 1 on the board (e.g. "X", "O").
	Mark(player int) string
	// ToMove is the player whose turn it is (0 or 1).
	ToMove() int
	// Ply is the number of moves made so far.
	Ply() int
	// Legal lists the legal moves in canonical spelling, in board order;
	// it is empty once the game is over.
	Legal() []string
	// Normalize turns a move as a player wrote it into its canonical
	// spelling. Its error says how moves are written; it does not check
	// that the move is legal now.
	Normalize(text string) (string, error)
	// Play makes the move of the player to move. A move that is not legal
	// now leaves the game as it was and returns an error that says why
	// (the cell is taken, the column is full).
	Play(move string) error
	// Outcome reports whether the game is over, and who won.
	Outcome() Outcome
	// Board draws the board as text, rows and columns labelled.
	Board() string
	// Clone returns an independent copy of the game.
	Clone() Game
}

// Evaluator is an optional ability of a Game: a heuristic value of a
// position that is not over, for depth-limited search ([Minimax]).
type Evaluator interface {
	// Evaluate scores the position for player, between -1 (lost) and 1
	// (won).
	Evaluate(player int) float64
}

// Keyer is an optional ability of a Game: a key that identifies the
// position, so that search results can be cached. Two positions with the
// same key must have the same board, the same player to move and the same
// number of moves made.
type Keyer interface {
	Key() string
}

// Draw is the Winner of a drawn game.
const Draw = -1

// Outcome is the state of a game's end.
type Outcome struct {
	// Over is true once the game has ended.
	Over bool
	// Winner is the winning player (0 or 1), or Draw; it is meaningful
	// only when Over.
	Winner int
	// Line lists the winning line's cells, when a player won.
	Line []string
}

// Terminal rewards of the player the environment trains.
const (
	WinReward  = 1.0
	DrawReward = 0.0
	LossReward = -1.0
)

// rewardFor is player's terminal reward in outcome o.
func rewardFor(o Outcome, player int) float64 {
	switch o.Winner {
	case Draw:
		return DrawReward
	case player:
		return WinReward
	}
	return LossReward
}
