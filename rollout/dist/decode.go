package dist

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
)

// decodeResult decodes a result message: a trajectory's JSON, as the worker
// marshalled it. It is json.Unmarshal into a retrain.Trajectory, except that
// the token arrays (each turn's prompt ids, the generated ids and their
// log-probabilities: thousands of numbers an episode, most of the message)
// are parsed without reflection, into slices of exactly their length. With
// encoding/json alone the coordinator spent about as much CPU decoding the
// results as the workers spent playing the episodes (see "retrain bench
// dist" in docs/distributed.md). Every trajectory decodes to what
// json.Unmarshal gives (FuzzDecodeResult); the token arrays only refuse
// null elements, which no worker writes.
func decodeResult(data []byte) (*retrain.Trajectory, error) {
	t := &retrain.Trajectory{}
	row := resultRow{Trajectory: t}
	if err := json.Unmarshal(data, &row); err != nil {
		return nil, err
	}
	if row.Turns != nil {
		t.Turns = make([]retrain.Turn, len(row.Turns))
		for i := range row.Turns {
			t.Turns[i] = row.Turns[i].turn()
		}
	}
	return t, nil
}

// resultRow is a trajectory whose turns shadow the embedded ones, so that
// their token arrays decode fast. Every other field decodes as usual, a new
// one included.
type resultRow struct {
	*retrain.Trajectory
	Turns []resultTurn `json:"turns"`
}

type resultTurn struct {
	retrain.Turn
	Action         resultAction      `json:"action"`
	PromptTokenIDs chatwire.TokenIDs `json:"prompt_token_ids,omitempty"`
}

type resultAction struct {
	retrain.Action
	Tokens *resultTokens `json:"tokens,omitempty"`
}

type resultTokens struct {
	retrain.Tokens
	IDs      chatwire.TokenIDs `json:"ids,omitempty"`
	Logprobs floats            `json:"logprobs,omitempty"`
}

// turn is r as a retrain.Turn.
func (r *resultTurn) turn() retrain.Turn {
	t := r.Turn
	t.PromptTokenIDs = r.PromptTokenIDs
	t.Action = r.Action.Action
	if tok := r.Action.Tokens; tok != nil {
		t.Action.Tokens = &tok.Tokens
		tok.Tokens.IDs, tok.Tokens.Logprobs = tok.IDs, tok.Logprobs
	}
	return t
}

// floats is a JSON array of numbers decoded into a float64 slice of exactly
// its length, each number with strconv.ParseFloat as encoding/json does.
type floats []float64

var errFloats = errors.New("dist: log-probabilities must be an array of numbers")

// UnmarshalJSON decodes null or an array of numbers. json.Unmarshal calls
// it with a valid JSON value only (it checks the whole input first), so the
// elements need no further syntax checks: one that is not a number is an
// error.
func (f *floats) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = nil
		return nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return errFloats
	}
	inner := bytes.TrimSpace(b[1 : len(b)-1])
	if len(inner) == 0 {
		*f = floats{}
		return nil
	}
	out := make(floats, 0, bytes.Count(inner, []byte{','})+1)
	for len(inner) > 0 {
		end := bytes.IndexByte(inner, ',')
		if end < 0 {
			end = len(inner)
		}
		num := bytes.TrimSpace(inner[:end])
		if len(num) == 0 || (num[0] != '-' && (num[0] < '0' || num[0] > '9')) {
			return errFloats // a string, an object, an array, null, true or false
		}
		v, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return errFloats
		}
		out = append(out, v)
		if end == len(inner) {
			break
		}
		inner = inner[end+1:]
	}
	*f = out
	return nil
}
