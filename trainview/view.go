package trainview

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/retrain-rl/retrain"
)

// Sequence is one sequence a trainer learns from. Its per-token arrays
// (InputIDs, LossMask, OldLogprobs, Advantages) have one entry per token.
type Sequence struct {
	// EpisodeID is the trajectory's id.
	EpisodeID string `json:"episode_id"`
	// GroupID is the task id: the n samples of a task form a group.
	GroupID string `json:"group_id"`
	// TaskID is the task's id.
	TaskID string `json:"task_id"`
	// Sample is the episode's index within its group.
	Sample int `json:"sample"`
	// Part numbers the sequences of one episode: 0, 1, ...; the episode is
	// split where a turn's prompt does not extend the previous prompt and
	// completion (see [Sequences]).
	Part int `json:"part"`
	// InputIDs are the prompt, completion and environment tokens, flattened.
	InputIDs []int32 `json:"input_ids"`
	// LossMask is 1 on model-generated tokens, 0 on prompt and environment
	// tokens.
	LossMask []uint8 `json:"loss_mask"`
	// OldLogprobs are the log-probs the model sampled the tokens with,
	// aligned with InputIDs; 0 where LossMask is 0.
	OldLogprobs []float32 `json:"old_logprobs"`
	// Advantages are per token; 0 where LossMask is 0.
	Advantages []float32 `json:"advantages"`
	// Reward is the trajectory's total reward (0 when it was not scored).
	Reward float64 `json:"reward"`
	// PolicyVersion is the policy that generated the first model turn of
	// this sequence (the oldest, so the one that decides staleness).
	PolicyVersion string `json:"policy_version,omitempty"`
	// LogprobsMode says what OldLogprobs are ("raw" or "processed"), as
	// recorded on the first model turn of this sequence.
	LogprobsMode string `json:"logprobs_mode,omitempty"`
	// Sampling is the sampling settings of the first model turn of this
	// sequence.
	Sampling *retrain.TurnSampling `json:"sampling,omitempty"`

	// FirstTurn is the index, in the trajectory's Turns, of this sequence's
	// first model turn; its turns are FirstTurn, FirstTurn+1, ...
	FirstTurn int `json:"first_turn"`
	// TurnStarts and TurnEnds bound each model turn's completion in
	// InputIDs: turn FirstTurn+k generated InputIDs[TurnStarts[k]:TurnEnds[k]]
	// (empty for an empty completion).
	TurnStarts []int32 `json:"turn_starts"`
	TurnEnds   []int32 `json:"turn_ends"`
	// FinishReasons are the turns' finish reasons, as the server reported
	// them ("stop", "length", ...), one per turn.
	FinishReasons []string `json:"finish_reasons"`
	// StopReason says why the episode ended (see retrain.StopReason).
	StopReason string `json:"stop_reason"`
	// Failed is true for a failed episode, which only [Options.KeepFailed]
	// lets through.
	Failed bool `json:"failed,omitempty"`
}

// MarshalJSON encodes s with its JSON field names, LossMask as an array of
// numbers (encoding/json would write a []uint8 as a base64 string). It
// comes last; decoding needs nothing special.
func (s Sequence) MarshalJSON() ([]byte, error) {
	type plain Sequence // without this method
	return json.Marshal(struct {
		plain
		LossMask maskJSON `json:"loss_mask"`
	}{plain(s), maskJSON(s.LossMask)})
}

// maskJSON is a loss mask written as an array of numbers.
type maskJSON []uint8

func (m maskJSON) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 2*len(m)+2)
	b = append(b, '[')
	for i, v := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return append(b, ']'), nil
}

// Tokens is the number of tokens of s.
func (s *Sequence) Tokens() int { return len(s.InputIDs) }

// ModelTokens is the number of model-generated tokens of s (where LossMask is 1).
func (s *Sequence) ModelTokens() int {
	n := 0
	for _, m := range s.LossMask {
		n += int(m)
	}
	return n
}

// AdvantageSource says where a sequence's advantages come from.
type AdvantageSource string

// Advantage sources.
const (
	// AdvantageTrajectory broadcasts the trajectory's group advantage
	// (Rewards.Advantage) over every model token: GRPO. The default.
	AdvantageTrajectory AdvantageSource = "trajectory"
	// AdvantageTurn gives each turn's model tokens that turn's advantage
	// (Rewards.Turns[i].Advantage).
	AdvantageTurn AdvantageSource = "turn"
)

// Options configure [Sequences]. The zero value (or nil) broadcasts the
// trajectory's advantage, skips failed episodes and requires an advantage.
type Options struct {
	// Advantage says where the advantages come from; empty means
	// [AdvantageTrajectory].
	Advantage AdvantageSource
	// KeepFailed keeps failed episodes (Error set; their turns so far)
	// instead of refusing them with [ErrFailed]. Their sequences have
	// Failed set; they need an advantage like any other unless
	// NoAdvantage is set.
	KeepFailed bool
	// NoAdvantage lets a trajectory without an advantage through, with
	// advantages 0 (for a trainer that computes its own, or supervised
	// fine-tuning on the masked tokens), instead of refusing it with
	// [ErrNoAdvantage].
	NoAdvantage bool
}

// Reasons a trajectory gives no sequences, wrapped by the errors of
// [Sequences]: match them with errors.Is.
var (
	// ErrFailed: the episode failed (Error set); see Options.KeepFailed.
	ErrFailed = errors.New("the episode failed")
	// ErrNoTurns: the episode has no model turns.
	ErrNoTurns = errors.New("no model turns")
	// ErrNoTokenIDs: a turn lacks its prompt or completion token ids.
	ErrNoTokenIDs = errors.New("no token ids")
	// ErrNoLogprobs: a turn's completion lacks log-probs.
	ErrNoLogprobs = errors.New("no log-probs")
	// ErrNoAdvantage: the trajectory (or a turn) has no advantage; see
	// Options.NoAdvantage.
	ErrNoAdvantage = errors.New("no advantage")
	// ErrBadOptions: the options are invalid.
	ErrBadOptions = errors.New("bad options")
)

// tokenHint says how to get token ids from a model server.
const tokenHint = "the model server did not report them: with an OpenAI-compatible server (vLLM, SGLang) run `retrain rollout --token-ids` " +
	"(vLLM's return_token_ids), or serve with `retrain serve-model`; the built-in model always reports them"

// Sequences returns the training sequences of one trajectory, or an error
// saying why it cannot be used: it failed, it has no model turns, a turn
// has no token ids or log-probs, or it has no advantage. The errors wrap
// [ErrFailed], [ErrNoTurns], [ErrNoTokenIDs], [ErrNoLogprobs],
// [ErrNoAdvantage] or [ErrBadOptions].
//
// Turn k's prompt ids are taken beyond the ids so far (the previous turns'
// prompts and completions): those extra tokens are environment and template
// tokens (mask 0); its completion follows (mask 1, with its log-probs and
// advantage). While each prompt extends the ids so far token for token, the
// whole episode is one sequence. Where one does not (the chat template
// re-rendered the history differently: template drift), a new sequence
// (Part+1) starts with that turn's full prompt. Whether a prompt extends is
// checked from the ids themselves: they decide when the turn's
// PrefixMatch flag disagrees (a file edited by hand, or made by another
// program), since the sequence must hold what the model was given.
//
// The returned slices are new: they share no memory with t.
func Sequences(t *retrain.Trajectory, o *Options) ([]Sequence, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	switch opts.Advantage {
	case "":
		opts.Advantage = AdvantageTrajectory
	case AdvantageTrajectory, AdvantageTurn:
	default:
		return nil, fmt.Errorf("trainview: %w: unknown advantage source %q; use %q or %q", ErrBadOptions, opts.Advantage, AdvantageTrajectory, AdvantageTurn)
	}
	if t == nil {
		return nil, fmt.Errorf("trainview: %w: nil trajectory", ErrNoTurns)
	}
	if t.Failed() && !opts.KeepFailed {
		return nil, fmt.Errorf("trainview: episode %s: %w (%s): it is not trained on", t.ID, ErrFailed, firstLine(t.Error))
	}
	if len(t.Turns) == 0 {
		return nil, fmt.Errorf("trainview: episode %s: %w", t.ID, ErrNoTurns)
	}
	adv, err := advantages(t, &opts)
	if err != nil {
		return nil, err
	}
	// Check every turn before building anything.
	for i := range t.Turns {
		if err := checkTurn(t, i); err != nil {
			return nil, err
		}
	}
	reward := 0.0
	if t.Rewards != nil {
		reward = t.Rewards.Total
	}
	var seqs []Sequence
	var cur *Sequence
	for i := range t.Turns {
		tu := &t.Turns[i]
		prompt := tu.PromptTokenIDs
		if cur != nil && !extends(prompt, cur.InputIDs) {
			cur = nil
		}
		if cur == nil {
			seqs = append(seqs, Sequence{
				EpisodeID: t.ID, GroupID: t.Task.ID, TaskID: t.Task.ID, Sample: t.Sample, Part: len(seqs),
				Reward: reward, PolicyVersion: tu.PolicyVersion, LogprobsMode: tu.LogprobsMode,
				Sampling: copySampling(tu.Sampling), FirstTurn: i, StopReason: string(t.StopReason), Failed: t.Failed(),
			})
			cur = &seqs[len(seqs)-1]
			cur.grow(capacity(t, i))
		}
		cur.appendEnv(prompt[len(cur.InputIDs):])
		cur.TurnStarts = append(cur.TurnStarts, int32(len(cur.InputIDs)))
		if tok := tu.Action.Tokens; tok != nil {
			cur.appendModel(tok.IDs, tok.Logprobs, adv[i])
		}
		cur.TurnEnds = append(cur.TurnEnds, int32(len(cur.InputIDs)))
		cur.FinishReasons = append(cur.FinishReasons, string(tu.FinishReason))
	}
	return seqs, nil
}

// capacity bounds the tokens of a sequence that starts at turn i: the last
// turn's prompt and completion, or the longest prompt and completion.
func capacity(t *retrain.Trajectory, i int) int {
	n := 0
	for j := i; j < len(t.Turns); j++ {
		n = max(n, len(t.Turns[j].PromptTokenIDs)+t.Turns[j].Action.Tokens.Len())
	}
	return n
}

// grow makes room for n tokens in s's per-token arrays.
func (s *Sequence) grow(n int) {
	s.InputIDs = make([]int32, 0, n)
	s.LossMask = make([]uint8, 0, n)
	s.OldLogprobs = make([]float32, 0, n)
	s.Advantages = make([]float32, 0, n)
}

// appendEnv appends prompt, template and environment tokens (mask 0) to s.
func (s *Sequence) appendEnv(ids []int32) {
	s.InputIDs = append(s.InputIDs, ids...)
	s.LossMask = append(s.LossMask, make([]uint8, len(ids))...)
	s.OldLogprobs = append(s.OldLogprobs, make([]float32, len(ids))...)
	s.Advantages = append(s.Advantages, make([]float32, len(ids))...)
}

// appendModel appends model-generated tokens (mask 1) to s, with their
// log-probs (lps, one per id) and the advantage a.
func (s *Sequence) appendModel(ids []int32, lps []float64, a float32) {
	s.InputIDs = append(s.InputIDs, ids...)
	for i := range ids {
		s.LossMask = append(s.LossMask, 1)
		s.OldLogprobs = append(s.OldLogprobs, float32(lps[i]))
		s.Advantages = append(s.Advantages, a)
	}
}

// extends reports whether prompt starts with prefix and is at least as long.
func extends(prompt, prefix []int32) bool {
	return len(prompt) >= len(prefix) && slices.Equal(prompt[:len(prefix)], prefix)
}

// checkTurn says what turn i of t lacks for training, if anything.
func checkTurn(t *retrain.Trajectory, i int) error {
	tu := &t.Turns[i]
	if len(tu.PromptTokenIDs) == 0 {
		return fmt.Errorf("trainview: episode %s turn %d: %w of its prompt: %s", t.ID, i, ErrNoTokenIDs, tokenHint)
	}
	tok := tu.Action.Tokens
	n := tok.Len()
	if n == 0 {
		if tu.Action.Raw != "" || len(tu.Action.ToolCalls) > 0 {
			return fmt.Errorf("trainview: episode %s turn %d: %w of its completion (%d bytes of text, no tokens): %s", t.ID, i, ErrNoTokenIDs, len(tu.Action.Raw), tokenHint)
		}
		return nil // an empty completion: no model tokens
	}
	if len(tok.IDs) != n {
		return fmt.Errorf("trainview: episode %s turn %d: %w of its completion (%d ids for %d tokens): %s", t.ID, i, ErrNoTokenIDs, len(tok.IDs), n, tokenHint)
	}
	if len(tok.Logprobs) != n {
		return fmt.Errorf("trainview: episode %s turn %d: %w for its completion (%d for %d tokens): the model server must report the sampled tokens' log-probs (OpenAI's logprobs: true, which retrain's client always asks for)", t.ID, i, ErrNoLogprobs, len(tok.Logprobs), n)
	}
	return nil
}

// advantages returns one advantage per turn of t, as o says.
func advantages(t *retrain.Trajectory, o *Options) ([]float32, error) {
	out := make([]float32, len(t.Turns))
	r := t.Rewards
	switch o.Advantage {
	case AdvantageTurn:
		if r == nil || len(r.Turns) != len(t.Turns) {
			if o.NoAdvantage {
				return out, nil
			}
			have := 0
			if r != nil {
				have = len(r.Turns)
			}
			return nil, fmt.Errorf("trainview: episode %s: %w per turn: %d turns but %d turn rewards; score it with a reward config that names an advantage estimator (advantage: grpo)", t.ID, ErrNoAdvantage, len(t.Turns), have)
		}
		for i, tr := range r.Turns {
			switch {
			case tr.Advantage != nil:
				out[i] = float32(*tr.Advantage)
			case !o.NoAdvantage:
				return nil, fmt.Errorf("trainview: episode %s turn %d: %w: score it with a reward config that names an advantage estimator (advantage: grpo)", t.ID, i, ErrNoAdvantage)
			}
		}
	default:
		switch {
		case r != nil && r.Advantage != nil:
			for i := range out {
				out[i] = float32(*r.Advantage)
			}
		case !o.NoAdvantage:
			why := "it has no rewards"
			if r != nil {
				why = "its rewards have none"
			}
			return nil, fmt.Errorf("trainview: episode %s: %w (%s): score it with a reward config that names an advantage estimator (advantage: grpo) over groups of n > 1 samples", t.ID, ErrNoAdvantage, why)
		}
	}
	return out, nil
}

func copySampling(s *retrain.TurnSampling) *retrain.TurnSampling {
	if s == nil {
		return nil
	}
	c := *s
	if s.Temperature != nil {
		c.Temperature = new(*s.Temperature)
	}
	if s.TopP != nil {
		c.TopP = new(*s.TopP)
	}
	if s.Seed != nil {
		c.Seed = new(*s.Seed)
	}
	return &c
}

// firstLine returns s up to its first newline (an error's stack is left out).
func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
