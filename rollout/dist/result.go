package dist

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/retrain-rl/retrain"
)

// The result message's formats, named by its [ResultFormatHeader]. A message
// without the header is a trajectory's JSON (what workers before the binary
// format sent; decodeResult reads it).
const (
	// ResultFormatHeader is the header of a result message that names its
	// format; absent, the message is the trajectory's JSON.
	ResultFormatHeader = "Retrain-Result-Format"
	// ResultFormatBinary is the compact format workers send: the
	// trajectory's JSON without its token ids and log-probabilities, then
	// those arrays in binary (see docs/distributed.md, "Messages").
	ResultFormatBinary = "json+tokens/1"

	// EpisodeAckHeader is the header of a result message that holds the
	// ack subject of the worker's delivery of the episode: the coordinator
	// acks the episode there once the trajectory is in its output.
	EpisodeAckHeader = "Retrain-Episode-Ack"
	// ResultStatusHeader is the header of the coordinator's reply to a
	// result message: "taken" (the coordinator holds the episode now) or
	// "refused" (the reply's body says why; the episode was handed back).
	ResultStatusHeader = "Retrain-Result-Status"
)

// The values of [ResultStatusHeader].
const (
	resultTaken   = "taken"
	resultRefused = "refused"
)

// encodeResult encodes t as a result message in [ResultFormatBinary]:
//
//	uvarint(len(J)) J  then, for each turn of J in order:
//	  prompt token ids: uvarint(n+1) (0 for nil), then, unless nil,
//	    uvarint(p) and the n-p ids after the p the previous turn's prompt
//	    ids begin with (a turn's prompt usually extends the previous one's)
//	  when the turn's action has tokens:
//	    ids: uvarint(n+1) (0 for nil) and n ids
//	    log-probs: uvarint(n+1) (0 for nil) and n float64 bits, little-endian
//
// J is t's JSON without those arrays; an id is a varint (zig-zag). Only the
// token arrays change format: everything else is the JSON the coordinator
// has always read, so a new field of a trajectory travels as before. A
// log-probability that JSON cannot hold (NaN, ±Inf) is an error, as with
// json.Marshal.
func encodeResult(t *retrain.Trajectory) ([]byte, error) {
	bare := *t
	size := 0
	if t.Turns != nil {
		bare.Turns = make([]retrain.Turn, len(t.Turns))
		for i, turn := range t.Turns {
			turn.PromptTokenIDs = nil
			size += 2 + 4*len(t.Turns[i].PromptTokenIDs)
			if tok := turn.Action.Tokens; tok != nil {
				for _, f := range tok.Logprobs {
					if math.IsNaN(f) || math.IsInf(f, 0) {
						return nil, fmt.Errorf("dist: trajectory %s: log-probability %v cannot be encoded", t.ID, f)
					}
				}
				size += 4 + 4*len(tok.IDs) + 8*len(tok.Logprobs)
				bt := *tok
				bt.IDs, bt.Logprobs = nil, nil
				turn.Action.Tokens = &bt
			}
			bare.Turns[i] = turn
		}
	}
	j, err := json.Marshal(&bare)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, binary.MaxVarintLen64+len(j)+size+4*len(t.Turns))
	b = binary.AppendUvarint(b, uint64(len(j)))
	b = append(b, j...)
	var prev []int32
	for _, turn := range t.Turns {
		ids := turn.PromptTokenIDs
		if ids == nil {
			b = append(b, 0)
		} else {
			p := 0
			for p < len(ids) && p < len(prev) && ids[p] == prev[p] {
				p++
			}
			b = binary.AppendUvarint(b, uint64(len(ids))+1)
			b = appendInt32s(binary.AppendUvarint(b, uint64(p)), ids[p:])
			prev = ids
		}
		if tok := turn.Action.Tokens; tok != nil {
			if tok.IDs == nil {
				b = append(b, 0)
			} else {
				b = appendInt32s(binary.AppendUvarint(b, uint64(len(tok.IDs))+1), tok.IDs)
			}
			b = appendFloat64s(b, tok.Logprobs)
		}
	}
	return b, nil
}

func appendInt32s(b []byte, s []int32) []byte {
	for _, v := range s {
		b = binary.AppendVarint(b, int64(v))
	}
	return b
}

func appendFloat64s(b []byte, s []float64) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(s))+1)
	for _, v := range s {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

var errBinaryResult = errors.New("dist: result message in " + ResultFormatBinary + " is malformed")

// maxResultIDs bounds the prompt token ids of a result's turns together
// (64 MiB of them): a turn's prompt ids are sent as what they add to the
// previous turn's, so a small message could otherwise claim many copies of
// a long prompt. A trajectory of 100 turns of 100,000-token prompts fits.
const maxResultIDs = 1 << 24

// decodeBinaryResult decodes a message of [encodeResult]. It gives back
// exactly what was encoded (FuzzBinaryResult), and refuses anything else
// with an error, never a panic.
func decodeBinaryResult(data []byte) (*retrain.Trajectory, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, errBinaryResult
	}
	t := &retrain.Trajectory{}
	if err := json.Unmarshal(data[k:k+int(n)], t); err != nil {
		return nil, fmt.Errorf("%w: %v", errBinaryResult, err)
	}
	r := data[k+int(n):]
	var ok bool
	var prev []int32
	total := 0
	for i := range t.Turns {
		turn := &t.Turns[i]
		if turn.PromptTokenIDs != nil {
			return nil, errBinaryResult // the arrays travel only in binary
		}
		if turn.PromptTokenIDs, r, ok = readPromptIDs(r, prev); !ok {
			return nil, errBinaryResult
		}
		if turn.PromptTokenIDs != nil {
			prev = turn.PromptTokenIDs
			if total += len(prev); total > maxResultIDs {
				return nil, fmt.Errorf("%w: more than %d prompt token ids", errBinaryResult, maxResultIDs)
			}
		}
		if tok := turn.Action.Tokens; tok != nil {
			if tok.IDs != nil || tok.Logprobs != nil {
				return nil, errBinaryResult
			}
			if tok.IDs, r, ok = readInt32s(r); !ok {
				return nil, errBinaryResult
			}
			if tok.Logprobs, r, ok = readFloat64s(r); !ok {
				return nil, errBinaryResult
			}
		}
	}
	if len(r) != 0 {
		return nil, errBinaryResult
	}
	return t, nil
}

// arrayLen reads an array's length, uvarint(n+1) or 0 for nil, from b; an
// array needs at least min bytes an element, which the rest of b must hold
// (one of prompt ids may be mostly its prefix: min 0, checked later).
func arrayLen(b []byte, min int) (n int, isNil bool, rest []byte, ok bool) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, false, nil, false
	}
	b = b[k:]
	if v == 0 {
		return 0, true, b, true
	}
	if v-1 > maxResultIDs || (min > 0 && v-1 > uint64(len(b)/min)) {
		return 0, false, nil, false
	}
	return int(v - 1), false, b, true
}

// readPromptIDs reads a turn's prompt token ids, which begin with a prefix
// of prev, the previous turn's.
func readPromptIDs(b []byte, prev []int32) ([]int32, []byte, bool) {
	n, isNil, b, ok := arrayLen(b, 0)
	if !ok || isNil {
		return nil, b, ok
	}
	p, k := binary.Uvarint(b)
	if k <= 0 || p > uint64(n) || p > uint64(len(prev)) {
		return nil, nil, false
	}
	return readIDs(b[k:], prev[:p], n)
}

// readInt32s reads an array of ids: its length, then the ids.
func readInt32s(b []byte) ([]int32, []byte, bool) {
	n, isNil, b, ok := arrayLen(b, 1)
	if !ok || isNil {
		return nil, b, ok
	}
	return readIDs(b, nil, n)
}

// readIDs reads the ids after prefix, n in all, each a varint.
func readIDs(b []byte, prefix []int32, n int) ([]int32, []byte, bool) {
	if n-len(prefix) > len(b) { // at least a byte an id
		return nil, nil, false
	}
	s := make([]int32, n)
	copy(s, prefix)
	for i := len(prefix); i < n; i++ {
		v, k := binary.Varint(b)
		if k <= 0 || v != int64(int32(v)) {
			return nil, nil, false
		}
		s[i] = int32(v)
		b = b[k:]
	}
	return s, b, true
}

func readFloat64s(b []byte) ([]float64, []byte, bool) {
	n, isNil, b, ok := arrayLen(b, 8)
	if !ok || isNil {
		return nil, b, ok
	}
	s := make([]float64, n)
	for i := range s {
		s[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return s, b[8*n:], true
}
