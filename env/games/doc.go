// Package games is two-player, alternating-turn board games as
// environments: the model plays one side, an [Opponent] the other. Built
// in are tic-tac-toe ([TicTacToe], registered as "tictactoe") and connect
// four ([ConnectFour], "connect4"); any [Game] can be played.
//
// Each turn the model reads the board (rows and columns labelled), the
// legal moves, and answers with one move (by default in the smolagent
// format, <answer>b2</answer>). A legal move is played and the opponent
// replies at once; the step reward is 0 until the game ends, then
// [WinReward] (+1), [DrawReward] (0) or [LossReward] (-1). An illegal or
// unreadable move is not played: the model is told what was wrong and
// moves again, and the step earns Options.IllegalMovePenalty (-0.1), until
// the Options.MaxIllegalMoves-th illegal move of the episode (3), which
// forfeits the game (LossReward, terminated).
//
// Opponents: [Random] (seeded), [Minimax] (perfect tic-tac-toe; a
// depth-limited search with a heuristic for connect four), [OpponentFunc]
// (any scripted policy) and [ModelOpponent] (any model.Model, prompted with
// the same board from its own seat and parsed the same way; a move it gets
// wrong is replaced by a random legal move). With probability epsilon an
// opponent's turn is a random move instead ([Seat.SetEpsilon], the seed's
// set_epsilon). The opponent can be replaced between episodes, from any
// goroutine ([Seat.SetOpponent], alias AddOpposingAgent, the seed's
// add_opposing_agent); an episode keeps the opponent it started with.
//
// Episodes are deterministic under a seed: the model's side (with
// [Alternate]), every random move and every epsilon draw come from the
// seed ([TurnRand]).
//
//	f := games.NewFactory(&games.Options{
//		NewGame:   func() games.Game { return games.NewConnectFour() },
//		Opponent:  games.Minimax(4),
//		Epsilon:   0.1,
//		ModelSide: games.Alternate,
//	})
//	defer f.Close()
//	e, _ := f.NewEnv()
//	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Seed: retrain.Seed(7)})
//	step, err := e.Step(ctx, e.(env.DialectEnv).Dialect().Parse("<answer>4</answer>", nil))
//	f.SetOpponent(games.NewModelOpponent(snapshot, nil)) // self-play from the next episode
//
// Registered configuration (both games): opponent ("random", "minimax",
// "model"), epsilon, minimax_depth, opponent_model ({"base_url", "model",
// "api_key", "token_ids", "weights", "temperature", "max_tokens"}: a
// model.Endpoint, by default the OpenAI-compatible server at
// $OPENAI_BASE_URL, plus sampling), model_first
// (true, false or "alternate"), dialect ("smolagent", "plain", …),
// system_prompt, illegal_move_penalty, max_illegal_moves (-1: never
// forfeit), max_steps.
package games
