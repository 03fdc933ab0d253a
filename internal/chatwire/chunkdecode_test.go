package chatwire

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fastChunkSeeds are chunks as servers write them, and the edges of what
// decodeChunkFast takes and gives up.
var fastChunkSeeds = []string{
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":[1,2]}`,
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":{"content":[{"token":"Hel","logprob":-0.25,"bytes":[72,101,108],"top_logprobs":[{"token":"He","logprob":-2.5,"bytes":[72,101]}]}]},"finish_reason":null,"token_ids":[9]}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_0","type":"function","function":{"name":"calc","arguments":"{\"e\":"}}]}}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":151645}],"usage":{"prompt_tokens":2,"total_tokens":3,"completion_tokens":1,"prompt_tokens_details":null}}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`,
	`{"id":"c","system_fingerprint":"fp","choices":[{"index":0,"delta":{"reasoning":"r","reasoning_content":null,"x":{"y":[1,2,{"z":null}]}},"logprobs":{"content":[{"token":"\u00e9\n","logprob":-1e-3,"bytes":[195,169,10]}],"refusal":null}}]}`,
	` { "id" : "c" , "choices" : [ { "delta" : { "content" : "a b" } } ] } `,
	`{"id":"caf` + "\xc3\xa9" + `","choices":null,"usage":null,"prompt_token_ids":null}`,
	// Given up: encoding/json decides.
	`{"ID":"c"}`,
	`{"id":"a","id":"b"}`,
	`{"id":"` + "\xff" + `"}`,
	`{"choices":[null]}`,
	`{"created":1.5}`,
	`{"created":99999999999999999999}`,
	`{"choices":[{"index":0,"logprobs":{"content":[{"logprob":1e999}]}}]}`,
	`{"choices":[{"token_ids":[1.5]}]}`,
	`{"id":"c"} x`,
	`{"id":"c",}`,
	`{"id":01}`,
	`{"x":"\q"}`,
	`{"x":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`,
	`{"délta":1}`,
	`{"choices":[{"delta":{"content":"a\u0000b\ud800"}}]}`,
	`null`,
	`[]`,
}

func TestDecodeChunkFast(t *testing.T) {
	taken := 0
	for _, s := range fastChunkSeeds {
		if checkFastChunk(t, s) {
			taken++
		}
	}
	// The server-written ones at the top must take the fast path.
	if taken < 8 {
		t.Errorf("the fast path took %d of the seeds, want at least the 8 usual chunks", taken)
	}
	var c Chunk
	if !decodeChunkFast([]byte(fastChunkSeeds[1]), &c) || c.Choices[0].Logprobs.Content[0].Logprob != -0.25 || *c.Choices[0].Delta.Content != "Hel" {
		t.Errorf("fast decode of a token chunk = %+v", c)
	}
}

// checkFastChunk checks that when decodeChunkFast takes s, encoding/json
// decodes it too, to the same chunk; it reports whether it was taken.
func checkFastChunk(t *testing.T, s string) bool {
	t.Helper()
	var fast Chunk
	if !decodeChunkFast([]byte(s), &fast) {
		return false
	}
	var want Chunk
	if err := json.Unmarshal([]byte(s), &want); err != nil {
		t.Fatalf("fast decode took %q, which encoding/json refuses: %v", s, err)
	}
	if diff := cmp.Diff(want, fast); diff != "" {
		t.Fatalf("fast decode of %q differs from encoding/json's (-json +fast):\n%s", s, diff)
	}
	return true
}

// FuzzDecodeChunkFast checks that the hand decoder of chunks agrees with
// encoding/json on everything it does not give up on.
func FuzzDecodeChunkFast(f *testing.F) {
	for _, s := range fastChunkSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFastChunk(t, s) })
}

func BenchmarkDecodeEvent(b *testing.B) {
	data := []byte("data: " + fastChunkSeeds[1])
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeEvent(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var c Chunk
			if err := json.Unmarshal(data[6:], &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
