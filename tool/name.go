package tool

import (
	"errors"
	"fmt"
)

// MaxNameLen is the longest tool name accepted.
const MaxNameLen = 128

// ValidName reports whether name can name a tool: 1 to 128 characters, each
// an ASCII letter, digit, '_', '-' or '.' (the MCP rule). Names meant for
// OpenAI-style native tool calling should also avoid '.' and stay within 64
// characters.
func ValidName(name string) error {
	if name == "" {
		return errors.New("tool: the tool name is empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("tool: the tool name %.20q... is %d bytes long; the limit is %d", name, len(name), MaxNameLen)
	}
	for i, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			continue
		}
		return fmt.Errorf("tool: the tool name %q has %q at byte %d; use only letters, digits, '_', '-' and '.'", name, r, i)
	}
	return nil
}
