package chatwire

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
)

// TokenBytes is a logprob entry's "bytes": the UTF-8 bytes of the token, a
// JSON array of numbers from 0 to 255, or null (OpenAI's wire format). It
// keeps them only when they are not valid UTF-8 on their own: that is the
// one case where they say more than the entry's token, a JSON string, which
// holds U+FFFD in their place (a token that ends or starts inside a
// multi-byte character). Valid bytes decode to nil without allocating: they
// are the token's text. It encodes as the array of numbers, null for nil.
type TokenBytes []byte

// ErrTokenBytes is the error of decoding [TokenBytes] from anything but
// null or an array of integers from 0 to 255.
var ErrTokenBytes = errors.New("openai: a logprob's bytes must be null or an array of integers from 0 to 255")

// UnmarshalJSON decodes null or an array of integers from 0 to 255, keeping
// the bytes only when they are not valid UTF-8 (see [TokenBytes]).
func (tb *TokenBytes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*tb = nil
		return nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return ErrTokenBytes
	}
	inner := b[1 : len(b)-1]
	var stack [32]byte
	out := stack[:0]
	for i := 0; ; {
		for i < len(inner) && isSpace(inner[i]) {
			i++
		}
		if i == len(inner) && len(out) == 0 {
			break // []
		}
		start, v := i, 0
		for ; i < len(inner) && inner[i] >= '0' && inner[i] <= '9'; i++ {
			if v = v*10 + int(inner[i]-'0'); v > 255 {
				return ErrTokenBytes
			}
		}
		if i == start || inner[start] == '0' && i-start > 1 { // no digits, or a leading zero JSON refuses
			return ErrTokenBytes
		}
		out = append(out, byte(v))
		for i < len(inner) && isSpace(inner[i]) {
			i++
		}
		if i == len(inner) {
			break
		}
		if inner[i] != ',' {
			return ErrTokenBytes
		}
		i++
	}
	if utf8.Valid(out) {
		*tb = nil
		return nil
	}
	*tb = bytes.Clone(out)
	return nil
}

// MarshalJSON encodes the bytes as an array of numbers; nil is null.
func (tb TokenBytes) MarshalJSON() ([]byte, error) {
	if tb == nil {
		return []byte("null"), nil
	}
	return appendByteList(make([]byte, 0, 2+4*len(tb)), tb), nil
}

// appendByteList appends p as a JSON array of numbers.
func appendByteList[S ~string | ~[]byte](b []byte, p S) []byte {
	b = append(b, '[')
	for j := 0; j < len(p); j++ {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p[j]), 10)
	}
	return append(b, ']')
}
