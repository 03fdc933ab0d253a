package chatwire

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func ptr[T any](v T) *T { return &v }

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    *Request // Raw is not compared
		extra   []string // keys of Extra
		wantErr string   // a part of the error; "" for none
	}{
		{
			name: "string content, stop string, max_tokens",
			body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"x","max_tokens":3,"seed":7}`,
			want: &Request{Model: "m", Messages: []Message{{Role: "user", Content: "hi"}}, Stop: Stop{"x"}, MaxTokens: 3, Seed: ptr(int64(7))},
		},
		{
			name: "content parts: text parts joined, others dropped",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"b"}]}]}`,
			want: &Request{Model: "m", Messages: []Message{{Role: "user", Content: "ab"}}},
		},
		{
			name: "null content and tool calls",
			body: `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},{"role":"tool","tool_call_id":"c1","name":"f","content":"2"}]}`,
			want: &Request{Model: "m", Messages: []Message{
				{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Type: "function", Function: FunctionCall{Name: "f", Arguments: `{"x":1}`}}}},
				{Role: "tool", ToolCallID: "c1", Name: "f", Content: "2"},
			}},
		},
		{
			name: "max_completion_tokens wins over max_tokens",
			body: `{"model":"m","messages":[],"max_tokens":3,"max_completion_tokens":7}`,
			want: &Request{Model: "m", Messages: []Message{}, MaxTokens: 7, MaxCompletionTokens: 7},
		},
		{
			name: "max_completion_tokens zero leaves max_tokens",
			body: `{"model":"m","max_tokens":3,"max_completion_tokens":0}`,
			want: &Request{Model: "m", MaxTokens: 3},
		},
		{
			name: "stop list and null stop",
			body: `{"stop":["a","b"],"temperature":0.5,"top_p":1}`,
			want: &Request{Stop: Stop{"a", "b"}, Temperature: ptr(0.5), TopP: ptr(1.0)},
		},
		{
			name: "null stop",
			body: `{"stop":null}`,
			want: &Request{},
		},
		{
			name: "tools and flags",
			body: `{"tools":[{"type":"function","function":{"name":"add","description":"Adds.","parameters":{"type":"object"}}}],
				"logprobs":true,"top_logprobs":2,"return_token_ids":true,"return_tokens_as_token_ids":true,"stream":true}`,
			want: &Request{
				Tools:    []Tool{{Type: "function", Function: Function{Name: "add", Description: "Adds.", Parameters: json.RawMessage(`{"type":"object"}`)}}},
				Logprobs: true, TopLogprobs: 2, ReturnTokenIDs: true, ReturnTokensAsTokenIDs: true, Stream: true,
			},
		},
		{
			name:  "unknown fields are extra",
			body:  `{"model":"m","top_k":20,"n":1,"chat_template_kwargs":{"enable_thinking":false},"max_tokens":4}`,
			want:  &Request{Model: "m", MaxTokens: 4},
			extra: []string{"chat_template_kwargs", "n", "top_k"},
		},
		{name: "truncated body", body: `{"model":`, wantErr: "unexpected end of JSON input"},
		{name: "not an object", body: `[]`, wantErr: "cannot unmarshal array"},
		{name: "number content", body: `{"messages":[{"role":"user","content":5}]}`, wantErr: "content must be a string, null or an array of parts, got 5"},
		{name: "bad content part", body: `{"messages":[{"role":"user","content":[1]}]}`, wantErr: "cannot unmarshal number"},
		{name: "number stop", body: `{"stop":5}`, wantErr: "stop must be a string or an array of strings, got 5"},
		{name: "mixed stop list", body: `{"stop":["a",1]}`, wantErr: "stop must be a string or an array of strings"},
		{name: "string max_tokens", body: `{"max_tokens":"3"}`, wantErr: "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("Decode = %+v, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != tt.body {
				t.Errorf("Raw = %s, want the body", got.Raw)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Request{}, "Raw")); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			extra, err := got.Extra()
			if err != nil {
				t.Fatal(err)
			}
			if keys := slices.Sorted(maps.Keys(extra)); !slices.Equal(keys, tt.extra) {
				t.Errorf("Extra keys = %v, want %v", keys, tt.extra)
			}
		})
	}
}

func TestExtraKeepsRawValues(t *testing.T) {
	r, err := Decode([]byte(`{"model":"m","top_k":5,"chat_template_kwargs":{"a":[1, 2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	extra, err := r.Extra()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"top_k": "5", "chat_template_kwargs": `{"a":[1, 2]}`}
	got := map[string]string{}
	for k, v := range extra {
		got[k] = string(v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Extra (-want +got):\n%s", diff)
	}
	all, err := r.Fields()
	if err != nil || string(all["model"]) != `"m"` || len(all) != 3 {
		t.Errorf("Fields = %v, %v", all, err)
	}
}

// FuzzDecode checks that Decode does not panic, keeps the body, applies
// max_completion_tokens precedence, splits the fields into modeled and
// Extra, and that its output is a fixed point: encoding a decoded request
// and decoding it again gives the same encoding.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"x","max_tokens":3,"top_k":5}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}],"stop":["a","b"]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}],"max_completion_tokens":9}`))
	f.Add([]byte(`{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"temperature":0,"seed":-1}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			if r != nil {
				t.Fatal("a request and an error")
			}
			return
		}
		if string(r.Raw) != string(b) {
			t.Fatalf("Raw %q is not the body %q", r.Raw, b)
		}
		if r.MaxCompletionTokens > 0 && r.MaxTokens != r.MaxCompletionTokens {
			t.Fatalf("max_tokens %d, max_completion_tokens %d", r.MaxTokens, r.MaxCompletionTokens)
		}
		if all, err := r.Fields(); err == nil {
			extra, err := r.Extra()
			if err != nil {
				t.Fatal(err)
			}
			for k := range all {
				if _, in := extra[k]; in == Modeled(k) {
					t.Fatalf("field %q: modeled %v, in Extra %v", k, Modeled(k), in)
				}
			}
		}
		once, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("encoding %+v: %v", r, err)
		}
		again, err := Decode(once)
		if err != nil {
			t.Fatalf("decoding its own encoding %s: %v", once, err)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(once) != string(twice) {
			t.Fatalf("not a fixed point:\n%s\n%s", once, twice)
		}
	})
}
