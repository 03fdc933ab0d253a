package games

import (
	"context"
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/internal/answer"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
)

// Registered names.
const (
	TicTacToeName   = "tictactoe"
	ConnectFourName = "connect4"
)

// DefaultConnectFourDepth is the search depth of the minimax opponent in
// connect four when the configuration does not set one.
const DefaultConnectFourDepth = 4

func init() {
	env.MustRegisterSpec(env.NewSpec(TicTacToeName, "tic-tac-toe against an opponent: random, minimax or a model",
		DefaultConfig, func(c Config) (env.Factory, error) {
			return construct(c, func() Game { return NewTicTacToe() }, 0)
		}))
	env.MustRegisterSpec(env.NewSpec(ConnectFourName, "connect four against an opponent: random, minimax or a model",
		DefaultConfig, func(c Config) (env.Factory, error) {
			return construct(c, func() Game { return NewConnectFour() }, DefaultConnectFourDepth)
		}))
}

// DefaultConfig returns the defaults of the "tictactoe" and "connect4"
// environments' configuration.
func DefaultConfig() Config {
	return Config{
		OpponentConfig:     OpponentConfig{Opponent: OpponentRandom},
		ModelFirst:         First,
		IllegalMovePenalty: new(DefaultIllegalMovePenalty),
		MaxIllegalMoves:    DefaultMaxIllegalMoves,
		MaxSteps:           DefaultMaxSteps,
	}
}

// Opponent kinds of [OpponentConfig].
const (
	OpponentRandom  = "random"
	OpponentMinimax = "minimax"
	OpponentModel   = "model"
)

// OpponentConfig is the part of an environment's JSON configuration that
// picks the opponent. The Gymnasium bridge embeds it too.
type OpponentConfig struct {
	// Opponent is "random" (the default), "minimax" (games written in Go
	// only) or "model".
	Opponent string `json:"opponent" doc:"the opponent: \"random\", \"minimax\" (games written in Go only) or \"model\"" access:"client"`
	// Epsilon is the chance, from 0 to 1, that an opponent's turn is a
	// random move.
	Epsilon float64 `json:"epsilon" doc:"the chance, from 0 to 1, that an opponent's turn is a random move" access:"client"`
	// MinimaxDepth is the minimax opponent's search depth in plies; 0 or
	// absent means the game's default (to the end for tic-tac-toe, 4 for
	// connect four).
	MinimaxDepth int `json:"minimax_depth" doc:"the minimax opponent's search depth in plies; 0 means the game's default (to the end for tic-tac-toe, 4 for connect four)" access:"client"`
	// OpponentModel configures the "model" opponent.
	OpponentModel *ModelConfig `json:"opponent_model" doc:"the model server of the \"model\" opponent"`
}

// ModelConfig describes the model opponent: where the model is (an
// OpenAI-compatible server by default; "local" and "fake" work too) and how
// to sample it. An empty base_url means $OPENAI_BASE_URL, else
// openai.DefaultBaseURL (see package model/endpoint, which also reads the
// API key from $OPENAI_API_KEY when api_key is empty).
type ModelConfig struct {
	model.Endpoint
	// Temperature and MaxTokens are sampling settings; absent means the
	// server's defaults.
	Temperature *float64 `json:"temperature" doc:"sampling temperature of the opponent (default: the server's)"`
	MaxTokens   int      `json:"max_tokens" doc:"completion token limit of the opponent's moves (default: the server's)"`
}

// Build returns the configured opponent and a function that releases what
// it holds. minimaxDepth is the game's default search depth (0: to the
// end); allowMinimax is false for games not written in Go.
func (c *OpponentConfig) Build(allowMinimax bool, minimaxDepth int) (Opponent, func(), error) {
	if c.Epsilon < 0 || c.Epsilon > 1 {
		return nil, nil, fmt.Errorf("config key \"epsilon\" is %v; it must be between 0 and 1", c.Epsilon)
	}
	if c.MinimaxDepth < 0 {
		return nil, nil, fmt.Errorf("config key \"minimax_depth\" is %d; it must be positive (or 0 for the game's default)", c.MinimaxDepth)
	}
	kind := strings.TrimSpace(c.Opponent)
	if c.OpponentModel != nil && kind != OpponentModel {
		return nil, nil, fmt.Errorf("config key \"opponent_model\" is set but \"opponent\" is %q; set \"opponent\": \"model\" to play against a model", kind)
	}
	if c.MinimaxDepth != 0 && kind != OpponentMinimax {
		return nil, nil, fmt.Errorf("config key \"minimax_depth\" is set but \"opponent\" is %q; set \"opponent\": \"minimax\"", kind)
	}
	switch kind {
	case "", OpponentRandom:
		return Random(), func() {}, nil
	case OpponentMinimax:
		if !allowMinimax {
			return nil, nil, fmt.Errorf("config key \"opponent\": minimax needs a game written in Go; use \"random\" or \"model\"")
		}
		if c.MinimaxDepth > 0 {
			minimaxDepth = c.MinimaxDepth
		}
		return Minimax(minimaxDepth), func() {}, nil
	case OpponentModel:
		mc := c.OpponentModel
		if mc == nil {
			mc = &ModelConfig{}
		}
		if mc.MaxTokens < 0 {
			return nil, nil, fmt.Errorf("config key \"opponent_model.max_tokens\" is %d; it must be positive", mc.MaxTokens)
		}
		opened, err := endpoint.Open(context.Background(), mc.Endpoint, &endpoint.Options{EmptyIsOpenAI: true, NoLookup: true})
		if err != nil {
			return nil, nil, fmt.Errorf("config key \"opponent_model\": %w", err)
		}
		o := NewModelOpponent(opened.Model, &ModelOpponentOptions{Sampling: model.Sampling{Temperature: mc.Temperature, MaxTokens: mc.MaxTokens}})
		return o, opened.Close, nil
	}
	return nil, nil, fmt.Errorf("config key \"opponent\" is %q; use \"random\", \"minimax\" or \"model\"", kind)
}

// Config is the JSON configuration of the "tictactoe" and "connect4"
// environments.
type Config struct {
	OpponentConfig
	// ModelFirst says which side the model plays: true (first, the
	// default), false (second) or "alternate" (by seed parity).
	ModelFirst Side `json:"model_first" doc:"which side the model plays" access:"client"`
	// Dialect is the answer format: "smolagent" (default, <answer>b2</answer>),
	// "plain" (the move alone) or another dialect's name.
	Dialect string `json:"dialect" doc:"the answer format: \"smolagent\" (default, <answer>b2</answer>), \"plain\" (the move alone) or another dialect's name" access:"client"`
	// SystemPrompt replaces the framing sentence of the system message.
	SystemPrompt string `json:"system_prompt" doc:"replaces the framing sentence of the system message" access:"client"`
	// IllegalMovePenalty is the reward of an illegal move (default -0.1).
	IllegalMovePenalty *float64 `json:"illegal_move_penalty" doc:"the reward of an illegal move" access:"client"`
	// MaxIllegalMoves is how many illegal moves forfeit (default 3; -1:
	// never).
	MaxIllegalMoves int `json:"max_illegal_moves" doc:"how many illegal moves forfeit (-1: never)" access:"client"`
	// MaxSteps bounds the model's steps (default 64).
	MaxSteps int `json:"max_steps" doc:"bounds the model's steps" access:"client"`
}

func construct(c Config, newGame func() Game, depth int) (env.Factory, error) {
	if c.MaxSteps < 0 {
		return nil, fmt.Errorf("config key \"max_steps\" is %d; it must be positive (or 0 for the default, %d)", c.MaxSteps, DefaultMaxSteps)
	}
	d, err := answer.Dialect(c.Dialect)
	if err != nil {
		return nil, fmt.Errorf("config key \"dialect\": %w", err)
	}
	opp, release, err := c.Build(true, depth)
	if err != nil {
		return nil, err
	}
	f := NewFactory(&Options{
		NewGame:            newGame,
		Opponent:           opp,
		Epsilon:            c.Epsilon,
		ModelSide:          c.ModelFirst,
		Dialect:            d,
		SystemPrompt:       c.SystemPrompt,
		IllegalMovePenalty: c.IllegalMovePenalty,
		MaxIllegalMoves:    c.MaxIllegalMoves,
		MaxSteps:           c.MaxSteps,
	})
	f.onClose = release
	return f, nil
}
