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

// fastReplySeeds are replies as servers write them, and edges.
var fastReplySeeds = []string{
	`{"id":"r","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"a\"b","reasoning":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"calc","arguments":"{\"e\":1}"}},{"function":{"name":"f","arguments":{"a":[1]}}}]},"logprobs":{"content":[{"token":"a","logprob":-0.5,"bytes":[97],"top_logprobs":[]}]},"finish_reason":"tool_calls","stop_reason":null,"token_ids":[1],"prompt_token_ids":[]}],"usage":{"prompt_tokens":3,"total_tokens":4,"completion_tokens":1},"prompt_token_ids":[4,5,6],"system_fingerprint":null}`,
	`{"id":"r","choices":[{"message":null,"logprobs":null,"finish_reason":null}],"usage":null,"error":{"message":"x"}}`,
	`{"choices":[]}`,
	`{"choices":[{"message":{"tool_calls":[{"function":null}]}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"function":{"name":1}}]}}]}`,
	`{"choices":[{"Message":{}}]}`,
	`{"choices":[{"finish_reason":"stop","finish_reason":"length"}]}`,
	`{"choices":[{"index":-1}],"created":-9223372036854775808}`,
	`{"error":}`,
}

func TestDecodeReply(t *testing.T) {
	r := sampleReply()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	seeds := append([]string{string(b)}, fastReplySeeds...)
	taken := 0
	for _, s := range seeds {
		if checkFastReply(t, s) {
			taken++
		}
	}
	if taken < 4 {
		t.Errorf("the fast path took %d of the replies, want at least the 4 usual ones", taken)
	}
	got, err := DecodeReply(b)
	if err != nil || got.Choices[0].Logprobs.Content[1].Token != "token_id:7" || got.Choices[0].Message.ToolCalls[0].Function.Arguments != `{"e":"2+2"}` {
		t.Errorf("DecodeReply(sample) = %+v, %v", got, err)
	}
	if _, err := DecodeReply([]byte(`{"choices":[{"index":"0"}]}`)); err == nil {
		t.Error("DecodeReply took a string index")
	}
}

// checkFastReply checks that DecodeReply agrees with encoding/json on s,
// and reports whether the hand decoder took it.
func checkFastReply(t *testing.T, s string) bool {
	t.Helper()
	var want Reply
	werr := json.Unmarshal([]byte(s), &want)
	got, err := DecodeReply([]byte(s))
	if (err == nil) != (werr == nil) {
		t.Fatalf("DecodeReply(%q): error %v, encoding/json's %v", s, err, werr)
	}
	if err != nil {
		return false
	}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Fatalf("DecodeReply(%q) differs from encoding/json's (-json +DecodeReply):\n%s", s, diff)
	}
	d := &fastDec{b: []byte(s)}
	d.ws()
	var r Reply
	return d.reply(&r)
}

// FuzzDecodeReplyFast checks that DecodeReply agrees with encoding/json.
func FuzzDecodeReplyFast(f *testing.F) {
	for _, s := range fastReplySeeds {
		f.Add(s)
	}
	r := sampleReply()
	b, _ := json.Marshal(r)
	f.Add(string(b))
	f.Fuzz(func(t *testing.T, s string) { checkFastReply(t, s) })
}

func BenchmarkDecodeReply(b *testing.B) {
	r := sampleReply()
	for range 6 { // 64 log-probability entries, as a 64-token reply
		r.Choices[0].Logprobs.Content = append(r.Choices[0].Logprobs.Content, r.Choices[0].Logprobs.Content...)
	}
	r.Choices[0].Logprobs.Content = r.Choices[0].Logprobs.Content[:64]
	r.Choices[0].Logprobs.Top = nil
	body, err := json.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeReply(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var r Reply
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
