package openai

import (
	"bytes"
	"errors"
	"math"
)

// idList is a JSON array of integers (token ids). It decodes into an int32
// slice of exactly its length, without reflection: prompts have thousands of
// ids, and encoding/json grows the slice as it goes (leaving up to a quarter
// of it unused, kept for as long as the trajectory) and stores each element
// through reflection.
type idList []int32

// errNotIDs is the error for an array that is not of integers that fit in
// an int32.
var errNotIDs = errors.New("openai: token ids must be an array of integers that fit in an int32")

// UnmarshalJSON decodes null or an array of integers that fit in an int32;
// anything else (floats, exponents, strings, nesting, values outside int32's
// range) is errNotIDs, as encoding/json would refuse them for a []int32.
// Unlike encoding/json, it also refuses null elements: no id is better than
// a made-up 0.
func (l *idList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*l = nil
		return nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return errNotIDs
	}
	inner := b[1 : len(b)-1]
	if len(bytes.TrimSpace(inner)) == 0 {
		*l = idList{}
		return nil
	}
	out := make(idList, 0, bytes.Count(inner, []byte{','})+1)
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
				return errNotIDs
			}
		}
		if i == start || (!neg && v > math.MaxInt32) {
			return errNotIDs
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
			return errNotIDs
		}
		i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
