package openaitest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The fake tokenizer. Prompts are rendered with a ChatML-like template:
//
//	<|im_start|>ROLE\nCONTENT<|im_end|>\n ... <|im_start|>assistant\n
//
// where the markers are single special tokens and everything else is one
// token per byte, except assistant messages, which are tokenized the way the
// server splits its own replies. A prompt that extends an earlier prompt with
// that prompt's reply (and more messages) therefore starts with the earlier
// prompt's ids followed by the reply's ids, as with a real model whose chat
// template is prefix-stable.
const (
	// IDImStart and IDImEnd are the special tokens around each message.
	IDImStart = 256
	IDImEnd   = 257
	// replyIDBase is the first id of reply tokens; ids 0-255 are bytes.
	replyIDBase = 1000
	replyVocab  = 100_000
)

// TokenID returns the fake id of a reply token.
func TokenID(tok string) int32 {
	h := uint32(2166136261)
	for i := 0; i < len(tok); i++ {
		h ^= uint32(tok[i])
		h *= 16777619
	}
	return replyIDBase + int32(h%replyVocab)
}

// fakeLogprob returns the deterministic log-probability of token tok at
// position i: a value in (-5, 0].
func fakeLogprob(tok string, i int) float64 {
	h := uint32(TokenID(tok)) ^ uint32(i)*2654435761
	return -float64(h%5000) / 1000
}

// splitReply splits text into tokens: exactly n tokens when n > 0 (runes
// spread evenly, trailing tokens empty when text has fewer than n runes),
// else word pieces (see pieces).
func splitReply(text string, n int) []string {
	if n <= 0 {
		return pieces(text)
	}
	toks := make([]string, n)
	runes := utf8.RuneCountInString(text)
	per, extra := runes/n, runes%n
	pos := 0
	for i := range toks {
		k := per
		if i < extra {
			k++
		}
		start := pos
		for ; k > 0 && pos < len(text); k-- {
			_, size := utf8.DecodeRuneInString(text[pos:])
			pos += size
		}
		toks[i] = text[start:pos]
	}
	return toks
}

// pieces splits text into word-like pieces: an optional single leading
// space followed by a run of letters and digits, or by one other rune.
func pieces(text string) []string {
	var toks []string
	for i := 0; i < len(text); {
		start := i
		if text[i] == ' ' && i+1 < len(text) && text[i+1] != ' ' {
			i++
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if isWord(r) {
			for i < len(text) {
				r, size := utf8.DecodeRuneInString(text[i:])
				if !isWord(r) {
					break
				}
				i += size
			}
		}
		toks = append(toks, text[start:i])
	}
	return toks
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// generatedText is the text the fake model "generated" for a reply: its
// content followed by its tool calls, rendered as <tool_call> blocks.
func generatedText(content string, calls []ToolCall) string {
	if len(calls) == 0 {
		return content
	}
	var b strings.Builder
	b.WriteString(content)
	for _, c := range calls {
		b.WriteString("<tool_call>")
		b.WriteString(c.Function.Name)
		b.WriteByte(' ')
		b.WriteString(c.Function.Arguments)
		b.WriteString("</tool_call>")
	}
	return b.String()
}

// idSink collects token ids, or only counts them when keep is false.
type idSink struct {
	ids  []int32
	n    int
	keep bool
}

func (s *idSink) add(id int32) {
	s.n++
	if s.keep {
		s.ids = append(s.ids, id)
	}
}

func (s *idSink) text(t string) {
	if !s.keep {
		s.n += len(t)
		return
	}
	for i := 0; i < len(t); i++ {
		s.ids = append(s.ids, int32(t[i]))
	}
	s.n += len(t)
}

// renderPrompt tokenizes the prompt of req into sink. assistantIDs returns
// the ids of an assistant message's generated text.
func renderPrompt(req *ChatRequest, sink *idSink, assistantIDs func(text string, sink *idSink)) {
	if len(req.Tools) > 0 {
		sink.add(IDImStart)
		sink.text("tools\n")
		for _, t := range req.Tools {
			sink.text(t.Function.Name)
			sink.text(": ")
			sink.text(t.Function.Description)
			sink.text(" ")
			sink.text(string(t.Function.Parameters))
			sink.text("\n")
		}
		sink.add(IDImEnd)
		sink.text("\n")
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		sink.add(IDImStart)
		sink.text(m.Role)
		sink.text("\n")
		if m.Role == "assistant" {
			assistantIDs(generatedText(string(m.Content), m.ToolCalls), sink)
		} else {
			sink.text(string(m.Content))
		}
		sink.add(IDImEnd)
		sink.text("\n")
	}
	sink.add(IDImStart)
	sink.text("assistant\n")
}
