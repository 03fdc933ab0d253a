package games

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/answer"
	"github.com/retrain-rl/retrain/model"
)

// ModelOpponent is an opponent played by a language model (self-play: the
// model being trained, an older snapshot of it, or another model). It is
// prompted exactly as the trained model is, from its own seat (the
// position's System and Prompt), and its answer is parsed with the
// position's dialect. An answer that is not a legal move is replaced by a
// random legal move (see [Choose]); a failed request fails the episode.
type ModelOpponent struct {
	m        model.Model
	sampling model.Sampling
}

// ModelOpponentOptions configure a [ModelOpponent]. Nil means defaults.
type ModelOpponentOptions struct {
	// Sampling holds the sampling settings of the opponent's requests.
	// When Seed is nil, each request gets a seed drawn from the turn's
	// random source, so that seeded episodes ask for the same sample
	// (servers that honour seeds then replay them).
	Sampling model.Sampling
}

// NewModelOpponent returns an opponent played by m.
func NewModelOpponent(m model.Model, opts *ModelOpponentOptions) *ModelOpponent {
	o := &ModelOpponent{m: m}
	if opts != nil {
		o.sampling = opts.Sampling
	}
	return o
}

// Move asks the model for a move in pos and returns its answer (or its raw
// output when the answer could not be read; the caller's check rejects it).
func (o *ModelOpponent) Move(ctx context.Context, pos Position, rng *rand.Rand) (string, error) {
	var msgs []retrain.Message
	if pos.System != "" {
		msgs = append(msgs, retrain.Message{Role: retrain.RoleSystem, Content: pos.System})
	}
	msgs = append(msgs, retrain.Message{Role: retrain.RoleUser, Content: pos.Prompt})
	s := o.sampling
	if s.Seed == nil {
		s.Seed = retrain.Seed(rng.Int64())
	}
	c, err := o.m.Generate(ctx, model.Request{Messages: msgs, Sampling: s})
	if err != nil {
		return "", fmt.Errorf("opponent model: %w", err)
	}
	d := pos.Dialect
	if d == nil {
		d = answer.PlainDialect()
	}
	text, problem := answer.Text(d.Parse(c.Text, c.ToolCalls))
	if problem != "" {
		return c.Text, nil
	}
	return text, nil
}
