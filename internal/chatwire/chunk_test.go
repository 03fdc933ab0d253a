package chatwire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChunkEvents(t *testing.T) {
	stop := "stop"
	chunks := []Chunk{
		{ID: "c", Object: "chat.completion.chunk", Created: 1, Model: "m", PromptTokenIDs: TokenIDs{1, 2},
			Choices: []ChunkChoice{{Delta: Delta{Role: "assistant", Content: ptr("")}}}},
		{ID: "c", Object: "chat.completion.chunk", Created: 1, Model: "m",
			Choices: []ChunkChoice{{Delta: Delta{Content: ptr("Hel"), Reasoning: ptr("r")}, Logprobs: &Logprobs{Content: []TokenLogprob{{Token: "Hel", Logprob: -0.25}}}, TokenIDs: TokenIDs{9}}}},
		{ID: "c", Object: "chat.completion.chunk", Created: 1, Model: "m",
			Choices: []ChunkChoice{{Delta: Delta{ToolCalls: []ToolCallDelta{{Index: 0, ID: "call_0", Type: "function", Function: FunctionCallDelta{Name: "calc", Arguments: `{"e":`}}}}}}},
		{ID: "c", Object: "chat.completion.chunk", Created: 1, Model: "m",
			Choices: []ChunkChoice{{Delta: Delta{}, FinishReason: &stop, StopReason: json.RawMessage(`151645`)}}, Usage: &Usage{PromptTokens: 2, TotalTokens: 3, CompletionTokens: 1}},
	}
	var stream []byte
	for i := range chunks {
		var err error
		if stream, err = AppendEvent(stream, &chunks[i]); err != nil {
			t.Fatal(err)
		}
	}
	stream = append(stream, DoneEvent...)

	wantFirst := `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":[1,2]}` + "\n\n"
	if got := string(stream[:len(wantFirst)]); got != wantFirst {
		t.Errorf("first event:\n got %q\nwant %q", got, wantFirst)
	}

	var got []Chunk
	for _, ev := range splitEvents(stream) {
		c, err := DecodeEvent(ev)
		if errors.Is(err, ErrDone) {
			break
		}
		if err != nil {
			t.Fatalf("DecodeEvent(%s): %v", ev, err)
		}
		got = append(got, *c)
	}
	if diff := cmp.Diff(chunks, got); diff != "" {
		t.Errorf("stream round trip (-sent +decoded):\n%s", diff)
	}
}

// splitEvents splits a stream at blank lines.
func splitEvents(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i+1 < len(b) && !(b[i] == '\n' && b[i+1] == '\n') {
			i++
		}
		out = append(out, b[:i])
		if i+2 > len(b) {
			break
		}
		b = b[i+2:]
	}
	return out
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]},"finish_reason":null}]}`)
	f.Add(`data: [DONE]`)
	f.Add(`{"choices":[{"delta":{"content":null},"token_ids":[1]}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		c, err := DecodeEvent([]byte(data))
		if err != nil {
			return
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("decoded chunk does not encode: %v", err)
		}
		var m Merger
		m.Add(c)
		m.Add(c)
		if _, err := json.Marshal(m.Reply()); err != nil && !strings.Contains(err.Error(), "cannot be written") {
			t.Fatalf("merged reply does not encode: %v", err)
		}
	})
}
