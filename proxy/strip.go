package proxy

// The fields the proxy asked the upstream for and the agent did not are cut
// out of each reply and chunk by walking the JSON bytes: the members kept
// are copied as they came (their order, spacing and unknown fields
// included), and nothing is decoded. A streamed reply has one chunk per
// token, so this is the proxy's hot path.

// action is what becomes of an object member.
type action int

const (
	keep action = iota
	drop
	null    // its value becomes null
	choices // an array of choice objects, each stripped by the choice rules
)

// stripFast appends to dst body without the fields the agent did not ask
// for (see strip); false when body is not a JSON object as expected, the
// caller then relays body unchanged.
func stripFast(dst, body []byte, a asked, chunk bool) ([]byte, bool) {
	top := func(key []byte) action {
		switch string(key) {
		case "prompt_token_ids":
			if !a.tokenIDs {
				return drop
			}
		case "usage":
			if chunk && !a.includeUsage {
				return drop
			}
		case "choices":
			if !a.logprobs || !a.tokenIDs {
				return choices
			}
		}
		return keep
	}
	choice := func(key []byte) action {
		switch string(key) {
		case "logprobs":
			if !a.logprobs {
				return null
			}
		case "token_ids", "prompt_token_ids":
			if !a.tokenIDs {
				return drop
			}
		}
		return keep
	}
	dst, i, ok := stripObject(dst, body, skipSpace(body, 0), top, choice)
	if !ok || skipSpace(body, i) != len(body) {
		return nil, false
	}
	return dst, true
}

// stripObject copies the object at b[i] to dst, applying rule to each
// member; it returns the index after the object.
func stripObject(dst, b []byte, i int, rule, inner func([]byte) action) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '{' {
		return dst, i, false
	}
	dst = append(dst, '{')
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return append(dst, '}'), i + 1, true
	}
	first := true
	for {
		ks := i
		ke, ok := skipString(b, i)
		if !ok {
			return dst, i, false
		}
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return dst, i, false
		}
		vs := skipSpace(b, i+1)
		ve, ok := skipValue(b, vs)
		if !ok {
			return dst, i, false
		}
		act := rule(b[ks+1 : ke-1])
		if act != drop {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, b[ks:ke]...)
			dst = append(dst, ':')
			switch {
			case act == null:
				dst = append(dst, "null"...)
			case act == choices && b[vs] == '[':
				if dst, ok = stripArray(dst, b[vs:ve], inner); !ok {
					return dst, i, false
				}
			default:
				dst = append(dst, b[vs:ve]...)
			}
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return dst, i, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return append(dst, '}'), i + 1, true
		default:
			return dst, i, false
		}
	}
}

// stripArray copies the array b, each object element stripped by rule.
func stripArray(dst, b []byte, rule func([]byte) action) ([]byte, bool) {
	dst = append(dst, '[')
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return append(dst, ']'), true
	}
	for {
		var ok bool
		if i < len(b) && b[i] == '{' {
			if dst, i, ok = stripObject(dst, b, i, rule, nil); !ok {
				return dst, false
			}
		} else {
			e, ok := skipValue(b, i)
			if !ok {
				return dst, false
			}
			dst = append(dst, b[i:e]...)
			i = e
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return dst, false
		}
		switch b[i] {
		case ',':
			dst = append(dst, ',')
			i = skipSpace(b, i+1)
		case ']':
			return append(dst, ']'), true
		default:
			return dst, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string at b[i].
func skipString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return i, false
}

// skipValue returns the index after the value at b[i]. It checks brackets
// and strings, not the values' grammar: the upstream's JSON was decoded
// whole for the record before this runs.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				e, ok := skipString(b, i)
				if !ok {
					return e, false
				}
				i = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
		}
		return i, false
	}
	s := i
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t' {
		i++
	}
	return i, i > s
}
