package gym

import (
	"bytes"
	"encoding/json"
	"strings"
)

// plainANSI turns a text render with ANSI escape sequences into plain
// text. Text that the environment highlights with colours (as FrozenLake
// marks the agent's cell, Taxi the taxi) is wrapped in square brackets, so
// that the model still sees where it is; other escape sequences are
// dropped.
func plainANSI(s string) string {
	if !strings.Contains(s, "\x1b") {
		return s
	}
	var b strings.Builder
	styled := false
	for i := 0; i < len(s); {
		if s[i] != '\x1b' {
			b.WriteByte(s[i])
			i++
			continue
		}
		// ESC [ params final-byte (CSI), or ESC and one more byte.
		if i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j >= len(s) {
				break
			}
			if s[j] == 'm' {
				params := s[i+2 : j]
				reset := params == "" || params == "0" || params == "00"
				switch {
				case reset && styled:
					b.WriteByte(']')
					styled = false
				case !reset && !styled:
					b.WriteByte('[')
					styled = true
				}
			}
			i = j + 1
			continue
		}
		i += 2
	}
	if styled {
		b.WriteByte(']')
	}
	return b.String()
}

// readable writes an observation for the model: a number or a string as
// is, anything else as compact JSON.
func readable(obs json.RawMessage) string {
	obs = bytes.TrimSpace(obs)
	if len(obs) == 0 {
		return "null"
	}
	if obs[0] == '"' {
		var s string
		if json.Unmarshal(obs, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, obs) != nil {
		return string(obs)
	}
	return b.String()
}
