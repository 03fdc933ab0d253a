package chatwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sampleReply has every field set.
func sampleReply() Reply {
	return Reply{
		ID: "chatcmpl-1", Object: "chat.completion", Created: 1700000000, Model: "m",
		Choices: []Choice{{
			Index: 0,
			Message: ReplyMessage{Role: "assistant", Content: ptr("<a> & \"b\"\n"), Reasoning: ptr("think"), ReasoningContent: ptr("old"),
				ToolCalls: []ToolCall{{ID: "call_0", Type: "function", Function: FunctionCall{Name: "calc", Arguments: `{"e":"2+2"}`}}, {Function: FunctionCall{Name: "f", Arguments: "not json"}}}},
			Logprobs: &Logprobs{
				Content: []TokenLogprob{{Token: "é", Logprob: -0.5}, {Token: "token_id:7", Logprob: -1e-5}, {Token: "", Logprob: 0}},
				Top:     [][]TokenLogprob{{{Token: "é", Logprob: -0.5}, {Token: "x", Logprob: -1.5}}, {}},
			},
			FinishReason:   "tool_calls",
			StopReason:     json.RawMessage(`151645`),
			TokenIDs:       TokenIDs{1, 7, 2},
			PromptTokenIDs: TokenIDs{},
		}},
		Usage:          &Usage{PromptTokens: 3, TotalTokens: 6, CompletionTokens: 3, PromptTokensDetails: json.RawMessage(`null`)},
		PromptTokenIDs: TokenIDs{4, 5, 6},
		Error:          json.RawMessage(`{"message":"x"}`),
	}
}

func TestReplyWireFormat(t *testing.T) {
	r := sampleReply()
	b, err := AppendReply(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"<a> & \"b\"\n","reasoning":"think","reasoning_content":"old","tool_calls":[{"id":"call_0","type":"function","function":{"name":"calc","arguments":"{\"e\":\"2+2\"}"}},{"function":{"name":"f","arguments":"not json"}}]},"logprobs":{"content":[{"token":"é","logprob":-0.5,"bytes":[195,169],"top_logprobs":[{"token":"é","logprob":-0.5,"bytes":[195,169]},{"token":"x","logprob":-1.5,"bytes":[120]}]},{"token":"token_id:7","logprob":-0.00001,"bytes":[116,111,107,101,110,95,105,100,58,55],"top_logprobs":[]},{"token":"","logprob":0,"bytes":[],"top_logprobs":[]}]},"finish_reason":"tool_calls","stop_reason":151645,"token_ids":[1,7,2],"prompt_token_ids":[]}],"usage":{"prompt_tokens":3,"total_tokens":6,"completion_tokens":3,"prompt_tokens_details":null},"prompt_token_ids":[4,5,6],"error":{"message":"x"}}`
	if string(b) != want {
		t.Errorf("AppendReply:\n got %s\nwant %s", b, want)
	}
	m, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	json.HTMLEscape(&compact, b)
	if string(m) != compact.String() {
		t.Errorf("json.Marshal differs from AppendReply (HTML-escaped):\n%s\n%s", m, compact.String())
	}

	// The nil forms: null or left out.
	empty := Reply{Choices: []Choice{{}}}
	b, _ = AppendReply(nil, &empty)
	want = `{"id":"","object":"","created":0,"model":"","choices":[{"index":0,"message":{"role":"","content":null},"logprobs":null,"finish_reason":"","stop_reason":null}],"usage":null}`
	if string(b) != want {
		t.Errorf("AppendReply of the zero reply:\n got %s\nwant %s", b, want)
	}

	bad := Reply{Choices: []Choice{{Logprobs: &Logprobs{Content: []TokenLogprob{{Logprob: math.NaN()}}}}}}
	if _, err := json.Marshal(bad); err == nil {
		t.Error("a NaN log-probability was written")
	}
}

func TestReplyRoundTrip(t *testing.T) {
	r := sampleReply()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Reply
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r.Choices[0].Logprobs.Top = nil // decoding skips the alternatives
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-sent +decoded):\n%s", diff)
	}
}

func TestDecodeReplyLenient(t *testing.T) {
	var r Reply
	body := `{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"f","arguments":{"x": 1}}},{"function":{"name":"g","arguments":null}}]},"stop_reason":"</s>","finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	calls := r.Choices[0].Message.ToolCalls
	if calls[0].Function.Arguments != `{"x": 1}` || calls[1].Function.Arguments != "" || r.Choices[0].Message.Content != nil || string(r.Choices[0].StopReason) != `"</s>"` {
		t.Errorf("decoded %+v", r)
	}
	if err := json.Unmarshal([]byte(`{"prompt_token_ids":[1.5]}`), &r); !errors.Is(err, ErrTokenIDs) {
		t.Errorf("fractional ids: error %v, want ErrTokenIDs", err)
	}
}

func TestAppendError(t *testing.T) {
	if got := string(AppendError(nil, `no "x"`, "BadRequestError", "", 400)); got != `{"error":{"message":"no \"x\"","type":"BadRequestError","param":null,"code":400}}` {
		t.Errorf("AppendError = %s", got)
	}
	if got := string(AppendError(nil, "m", "NotFoundError", "model_not_found", 404)); got != `{"error":{"message":"m","type":"NotFoundError","param":null,"code":"model_not_found"}}` {
		t.Errorf("AppendError = %s", got)
	}
}

// FuzzDecodeReply checks that any body decodes without panicking and that
// what decodes encodes again to JSON that decodes to the same reply.
func FuzzDecodeReply(f *testing.F) {
	r := sampleReply()
	b, _ := json.Marshal(r)
	f.Add(string(b))
	f.Add(`{"choices":[{"message":{"tool_calls":[{"function":{"arguments":{"a":[1]}}}]},"token_ids":[1,-2]}]}`)
	f.Add(`{"choices":[{"logprobs":{"content":[{"token":"token_id:3","logprob":-1e400}]}}]}`)
	f.Add(`{"error":{"message":"x"},"choices":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		var r Reply
		if json.Unmarshal([]byte(body), &r) != nil {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			return // e.g. raw fields that are not JSON values encoding/json refuses to re-emit
		}
		var back Reply
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", b, err)
		}
	})
}
