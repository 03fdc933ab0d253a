package openai

import (
	"bytes"
	"errors"
	"math"
)

// idList is a JSON array of integers (token ids). It decodes into a slice
// of exactly its length, without reflection: prompts have thousands of ids,
// and encoding/json grows the slice as it goes (leaving up to a quarter of
// it unused, kept for as long as the trajectory) and stores each element
// through reflection.
type idList []int

// errNotIDs is the error for an array that is not of integers.
var errNotIDs = errors.New("openai: token ids must be an array of integers")

// UnmarshalJSON decodes null or an array of integers that fit in an int;
// anything else (floats, exponents, strings, nesting) is errNotIDs, as
// encoding/json would refuse them for a []int. Unlike encoding/json, it also
// refuses null elements: no id is better than a made-up 0.
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
		var v uint64
		for ; i < len(inner) && inner[i] >= '0' && inner[i] <= '9'; i++ {
			d := uint64(inner[i] - '0')
			if v > (math.MaxUint64-d)/10 {
				return errNotIDs
			}
			v = v*10 + d
		}
		if i == start || (neg && v > -math.MinInt) || (!neg && v > math.MaxInt) {
			return errNotIDs
		}
		n := int(v)
		if neg {
			n = -n
		}
		out = append(out, n)
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
