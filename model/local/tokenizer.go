package local

import "strings"

// The vocabulary: one token per byte (ids 0-255), then the special tokens of
// the chat template. Special tokens are never produced by encoding text: a
// message that contains the string "<|end|>" is encoded byte by byte.
const (
	// TokenEnd ends a message; generating it ends the completion (the EOS
	// token).
	TokenEnd = 256 + iota
	// TokenSystem starts a system message (the template omits them; see
	// [Render]).
	TokenSystem
	// TokenUser starts a user message.
	TokenUser
	// TokenAssistant starts an assistant message; the prompt ends with it.
	TokenAssistant
	// TokenTool starts a tool message (native tool results).
	TokenTool
	// tokenReserved is the first of the reserved ids, unused so far.
	tokenReserved
)

// VocabSize is the number of token ids: 256 bytes, the special tokens and
// three reserved ids.
const VocabSize = 264

var specialText = [...]string{
	TokenEnd - 256:       "<|end|>",
	TokenSystem - 256:    "<|system|>",
	TokenUser - 256:      "<|user|>",
	TokenAssistant - 256: "<|assistant|>",
	TokenTool - 256:      "<|tool|>",
}

// Encode returns the token ids of text: its bytes.
func Encode(text string) []int {
	ids := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int(text[i])
	}
	return ids
}

// TokenText returns the text of token id: the byte itself for ids below 256
// (a lone byte of a multi-byte UTF-8 character is not valid UTF-8 by
// itself), the special token's name (e.g. "<|end|>") above.
func TokenText(id int) string {
	switch {
	case id >= 0 && id < 256:
		return string([]byte{byte(id)})
	case id >= 256 && id-256 < len(specialText) && specialText[id-256] != "":
		return specialText[id-256]
	case id >= 0 && id < VocabSize:
		return "<|reserved_" + itoa(id-int(tokenReserved)) + "|>"
	}
	return ""
}

// Decode returns the text of ids; special tokens are written by name.
func Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(TokenText(id))
	}
	return b.String()
}

// isRole reports whether id starts a message.
func isRole(id int) bool {
	return id == TokenSystem || id == TokenUser || id == TokenAssistant || id == TokenTool
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
