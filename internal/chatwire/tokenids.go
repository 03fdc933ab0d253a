package chatwire

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
)

// TokenIDs is a JSON array of token ids (vLLM's prompt_token_ids and
// token_ids). It decodes into an int32 slice of exactly its length, without
// reflection: prompts have thousands of ids, and encoding/json grows the
// slice as it goes (leaving up to a quarter of it unused, kept for as long as
// the trajectory) and stores each element through reflection. It encodes as
// a []int32 does.
type TokenIDs []int32

// ErrTokenIDs is the error of decoding [TokenIDs] from anything but null or
// an array of integers that fit in an int32.
var ErrTokenIDs = errors.New("openai: token ids must be an array of integers that fit in an int32")

// tokenIDPrefix starts vLLM's token placeholders (return_tokens_as_token_ids).
const tokenIDPrefix = "token_id:"

// ParseTokenID parses vLLM's "token_id:N", the logprob token written for id N
// with return_tokens_as_token_ids; N must fit in an int32 and not be
// negative.
func ParseTokenID(tok string) (int32, bool) {
	rest, ok := strings.CutPrefix(tok, tokenIDPrefix)
	if !ok || rest == "" {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || id < 0 {
		return 0, false
	}
	return int32(id), true
}

// FormatTokenID returns "token_id:N", vLLM's logprob token for id N (see
// [ParseTokenID]).
func FormatTokenID(id int32) string { return tokenIDPrefix + strconv.Itoa(int(id)) }

// AppendTokenID appends "token_id:N" to b, unquoted.
func AppendTokenID(b []byte, id int32) []byte {
	return strconv.AppendInt(append(b, tokenIDPrefix...), int64(id), 10)
}

// UnmarshalJSON decodes null or an array of integers that fit in an int32;
// anything else (floats, exponents, strings, nesting, values outside int32's
// range) is ErrTokenIDs, as encoding/json would refuse them for a []int32.
// Unlike encoding/json, it also refuses null elements: no id is better than
// a made-up 0.
func (l *TokenIDs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*l = nil
		return nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return ErrTokenIDs
	}
	inner := b[1 : len(b)-1]
	if len(bytes.TrimSpace(inner)) == 0 {
		*l = TokenIDs{}
		return nil
	}
	out := make(TokenIDs, 0, bytes.Count(inner, []byte{','})+1)
	i := 0
	for {
		for i < len(inner) && isSpace(inner[i]) {
			i++
		}
		neg := i < len(inner) && inner[i] == '-'
		if neg {
			i++
		}
		start := i
		// v stays below 2^32: any more digits and the id is out of range.
		var v uint64
		for ; i < len(inner) && inner[i] >= '0' && inner[i] <= '9'; i++ {
			v = v*10 + uint64(inner[i]-'0')
			if v > -math.MinInt32 {
				return ErrTokenIDs
			}
		}
		if i == start || (!neg && v > math.MaxInt32) {
			return ErrTokenIDs
		}
		n := int64(v)
		if neg {
			n = -n
		}
		out = append(out, int32(n))
		for i < len(inner) && isSpace(inner[i]) {
			i++
		}
		if i == len(inner) {
			*l = out
			return nil
		}
		if inner[i] != ',' {
			return ErrTokenIDs
		}
		i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
