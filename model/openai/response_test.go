package openai

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
	"github.com/retrain-rl/retrain/model"
)

func TestParseCompletion(t *testing.T) {
	tests := []struct {
		name string
		body string
		want model.Completion
		err  error
	}{
		{
			name: "prompt ids on the choice",
			body: `{"choices":[{"message":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-1,"bytes":[97],"top_logprobs":[]}]},"finish_reason":"stop","token_ids":[7],"prompt_token_ids":[1,2]}]}`,
			want: model.Completion{Text: "a", FinishReason: "stop", PromptTokenIDs: []int32{1, 2},
				Tokens: &retrain.Tokens{IDs: []int32{7}, Text: []string{"a"}, Logprobs: []float64{-1}}},
		},
		{
			name: "top-level prompt ids win",
			body: `{"choices":[{"message":{"content":"a"},"prompt_token_ids":[9]}],"prompt_token_ids":[1,2]}`,
			want: model.Completion{Text: "a", PromptTokenIDs: []int32{1, 2}},
		},
		{
			name: "ids from token_id placeholders",
			body: `{"choices":[{"message":{"content":"ab"},"logprobs":{"content":[{"token":"token_id:5","logprob":-0.5},{"token":"token_id:6","logprob":-0.25}]}}]}`,
			want: model.Completion{Text: "ab", Tokens: &retrain.Tokens{IDs: []int32{5, 6}, Logprobs: []float64{-0.5, -0.25}}},
		},
		{
			name: "token_ids of the wrong length are dropped",
			body: `{"choices":[{"message":{"content":"ab"},"logprobs":{"content":[{"token":"a","logprob":-0.5},{"token":"b","logprob":-0.25}]},"token_ids":[1,2,3]}]}`,
			want: model.Completion{Text: "ab", Tokens: &retrain.Tokens{Text: []string{"a", "b"}, Logprobs: []float64{-0.5, -0.25}}},
		},
		{
			name: "partial placeholders give no ids",
			body: `{"choices":[{"message":{"content":"ab"},"logprobs":{"content":[{"token":"token_id:5","logprob":-0.5},{"token":"b","logprob":-0.25}]}}]}`,
			want: model.Completion{Text: "ab", Tokens: &retrain.Tokens{Text: []string{"", "b"}, Logprobs: []float64{-0.5, -0.25}}},
		},
		{
			name: "null content, reasoning_content, usage",
			body: `{"choices":[{"message":{"content":null,"reasoning_content":"think"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
			want: model.Completion{Reasoning: "think", Usage: model.Usage{PromptTokens: 3, CompletionTokens: 4}},
		},
		{
			name: "tool call arguments as an object, and no id",
			body: `{"choices":[{"message":{"tool_calls":[{"type":"function","function":{"name":"f","arguments":{"x":1}}}]},"finish_reason":"tool_calls"}]}`,
			want: model.Completion{FinishReason: "tool_calls", ToolCalls: []retrain.ToolCall{{ID: "call_0", Name: "f", Arguments: json.RawMessage(`{"x":1}`)}}},
		},
		{
			name: "placeholder ids outside int32 are text",
			body: `{"choices":[{"message":{"content":"ab"},"logprobs":{"content":[{"token":"token_id:2147483648","logprob":-0.5},{"token":"token_id:6","logprob":-0.25}]}}]}`,
			want: model.Completion{Text: "ab", Tokens: &retrain.Tokens{Text: []string{"token_id:2147483648", ""}, Logprobs: []float64{-0.5, -0.25}}},
		},
		{
			// OpenAI's byte-fallback tokens: the text of the first two bytes of
			// "…" is an escape, their bytes are exact; the completion's
			// tokens then all get their bytes.
			name: "bytes that are not valid UTF-8 are kept",
			body: `{"choices":[{"message":{"content":"a\u2026"},"logprobs":{"content":[{"token":"a","logprob":-1,"bytes":[97]},{"token":"\\xe2\\x80","logprob":-2,"bytes":[226,128]},{"token":"\\xa6","logprob":-3,"bytes":[166]}]},"token_ids":[1,2,3]}]}`,
			want: model.Completion{Text: "a…", Tokens: &retrain.Tokens{IDs: []int32{1, 2, 3}, Text: []string{"a", `\xe2\x80`, `\xa6`},
				Logprobs: []float64{-1, -2, -3}, Bytes: [][]byte{[]byte("a"), {0xe2, 0x80}, {0xa6}}}},
		},
		{
			// vLLM writes the bytes of the decoded text, U+FFFD included:
			// nothing more than the text, so no Bytes (the ids are exact).
			name: "bytes of replaced text are not kept",
			body: `{"choices":[{"message":{"content":"\ufffd"},"logprobs":{"content":[{"token":"\ufffd","logprob":-1,"bytes":[239,191,189]}]},"token_ids":[226]}]}`,
			want: model.Completion{Text: "\ufffd", Tokens: &retrain.Tokens{IDs: []int32{226}, Text: []string{"\ufffd"}, Logprobs: []float64{-1}}},
		},
		{
			name: "bytes of placeholders are not the tokens'",
			body: `{"choices":[{"message":{"content":"ab"},"logprobs":{"content":[{"token":"token_id:5","logprob":-0.5,"bytes":[200]},{"token":"token_id:6","logprob":-0.25}]}}]}`,
			want: model.Completion{Text: "ab", Tokens: &retrain.Tokens{IDs: []int32{5, 6}, Logprobs: []float64{-0.5, -0.25}}},
		},
		{name: "bytes out of range", body: `{"choices":[{"message":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-1,"bytes":[300]}]}}]}`, err: chatwire.ErrTokenBytes},
		{name: "completion ids outside int32", body: `{"choices":[{"message":{"content":"a"},"token_ids":[4294967303]}]}`, err: chatwire.ErrTokenIDs},
		{name: "prompt ids outside int32", body: `{"choices":[{"message":{"content":"a"}}],"prompt_token_ids":[1,-2147483649]}`, err: chatwire.ErrTokenIDs},
		{name: "no choices", body: `{"choices":[]}`, err: errWrongShape},
		{name: "not a completion", body: `{"object":"list","data":[]}`, err: errWrongShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCompletion([]byte(tt.body))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("completion (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := parseCompletion([]byte(`{"choices":[{"mess`)); err == nil {
		t.Error("a truncated body parsed")
	}
}

// FuzzParseCompletion checks that any body parses without panicking into a
// completion whose token arrays are parallel and whose tool call arguments
// are valid JSON.
func FuzzParseCompletion(f *testing.F) {
	f.Add(`{"choices":[{"message":{"content":"a","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"x\":1}"}}]},"logprobs":{"content":[{"token":"token_id:3","logprob":-1}]},"token_ids":[3]}],"prompt_token_ids":[1]}`)
	f.Add(`{"choices":[{"message":{"tool_calls":[{"function":{"name":"f","arguments":"oops"}}]}}]}`)
	f.Add(`{"choices":[{"logprobs":{"content":[{"token":"a","logprob":-1},{"token":"token_id:x","logprob":0}]},"token_ids":[1]}]}`)
	f.Add(`{"error":{"message":"x"}}`)
	f.Add(`{"choices":[{"logprobs":{"content":[{"token":"a","logprob":-1,"bytes":[97]},{"token":"b","logprob":-1,"bytes":[226,128]}]}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		c, err := parseCompletion([]byte(body))
		if err != nil {
			return
		}
		if tok := c.Tokens; tok != nil {
			n := tok.Len()
			for name, l := range map[string]int{"IDs": len(tok.IDs), "Text": len(tok.Text), "Logprobs": len(tok.Logprobs), "Bytes": len(tok.Bytes)} {
				if l != 0 && l != n {
					t.Fatalf("%s has %d entries for %d tokens", name, l, n)
				}
			}
		}
		for _, tc := range c.ToolCalls {
			if !json.Valid(tc.Arguments) {
				t.Fatalf("tool call arguments %q are not valid JSON", tc.Arguments)
			}
			if tc.ID == "" {
				t.Fatal("tool call without an id")
			}
		}
	})
}
