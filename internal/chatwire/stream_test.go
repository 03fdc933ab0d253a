package chatwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplyChunksRoundTrip(t *testing.T) {
	text := "Hello world"
	calls := []ToolCall{{ID: "call_0", Type: "function", Function: FunctionCall{Name: "add", Arguments: `{"a":1,"b":2}`}}}
	lp := &Logprobs{Content: []TokenLogprob{{Token: "Hello", Logprob: -0.5}, {Token: " world", Logprob: -0.25}}}
	usage := &Usage{PromptTokens: 7, CompletionTokens: 2, TotalTokens: 9}
	for _, tt := range []struct {
		name         string
		reply        Reply
		pieces       []string
		includeUsage bool
		wantChunks   int
	}{
		{"per token", Reply{ID: "c1", Model: "m", Created: 5, Usage: usage, PromptTokenIDs: TokenIDs{1, 2, 3},
			Choices: []Choice{{Message: ReplyMessage{Role: "assistant", Content: &text}, Logprobs: lp, FinishReason: "stop", TokenIDs: TokenIDs{10, 11}}}},
			[]string{"Hello", " world"}, true, 5},
		{"pieces that do not join to the content", Reply{ID: "c2", Model: "m", Usage: usage,
			Choices: []Choice{{Message: ReplyMessage{Role: "assistant", Content: &text}, Logprobs: lp, FinishReason: "stop", TokenIDs: TokenIDs{10, 11}}}},
			[]string{"Hel", "lo"}, false, 3},
		{"tool calls only", Reply{ID: "c3", Model: "m", Usage: usage,
			Choices: []Choice{{Message: ReplyMessage{Role: "assistant", ToolCalls: calls}, Logprobs: lp, FinishReason: "tool_calls", TokenIDs: TokenIDs{10, 11}, StopReason: json.RawMessage(`null`)}}},
			nil, true, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			chunks := ReplyChunks(&tt.reply, tt.pieces, tt.includeUsage)
			if len(chunks) != tt.wantChunks {
				t.Errorf("%d chunks, want %d", len(chunks), tt.wantChunks)
			}
			var stream []byte
			for i := range chunks {
				if chunks[i].Object != "chat.completion.chunk" {
					t.Errorf("chunk %d object %q", i, chunks[i].Object)
				}
				var err error
				if stream, err = AppendEvent(stream, &chunks[i]); err != nil {
					t.Fatal(err)
				}
			}
			stream = append(stream, DoneEvent...)
			var m Merger
			for _, ev := range splitEvents(stream) {
				c, err := DecodeEvent(ev)
				if errors.Is(err, ErrDone) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				m.Add(c)
			}
			want := tt.reply
			want.Object = "chat.completion"
			if !tt.includeUsage {
				want.Usage = nil
			}
			if diff := cmp.Diff(&want, m.Reply()); diff != "" {
				t.Errorf("merged reply (-want +got):\n%s", diff)
			}
			if tt.includeUsage {
				last := chunks[len(chunks)-1]
				if last.Usage == nil || len(last.Choices) != 0 || last.Choices == nil {
					t.Errorf("last chunk %+v: want empty choices and the usage", last)
				}
			}
		})
	}
}

func TestMergerJoinsToolCallPieces(t *testing.T) {
	var m Merger
	for _, ev := range []string{
		`{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"calc","arguments":""}}]}}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"e\":"}}]}}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"1+1\"}"}}]}}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":1000000000,"function":{"arguments":"x"}}]}}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	} {
		c, err := DecodeEvent([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		m.Add(c)
	}
	r := m.Reply()
	ch := r.Choices[0]
	if ch.Message.Content != nil || len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Arguments != `{"e":"1+1"}` ||
		ch.Message.ToolCalls[0].ID != "call_a" || ch.FinishReason != "tool_calls" {
		t.Errorf("merged %+v", ch)
	}
}

func TestAppendEventNoHTMLEscaping(t *testing.T) {
	text := "<tool_call>&</tool_call>"
	b, err := AppendEvent(nil, &Chunk{ID: "c", Choices: []ChunkChoice{{Delta: Delta{Content: &text}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"content":"<tool_call>&</tool_call>"`; !bytes.Contains(b, []byte(want)) || !bytes.HasSuffix(b, []byte("}\n\n")) {
		t.Errorf("event %q: want %s, unescaped, and one blank line", b, want)
	}
}
