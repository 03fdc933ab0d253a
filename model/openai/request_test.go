package openai

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
	"github.com/retrain-rl/retrain/model"
)

func TestAppendRequest(t *testing.T) {
	c := &Client{}
	req := model.Request{
		Messages: []retrain.Message{{Role: "user", Content: "hi \"there\"\n"}, {Role: "assistant", Content: "ok", Reasoning: "not sent"}},
		Sampling: model.Sampling{MaxTokens: 5, Extra: map[string]any{"logprobs": false, "top_k": 3}},
	}
	b, err := c.appendRequest(nil, "m", &req)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := map[string]any{
		"model": "m",
		"messages": []any{
			map[string]any{"role": "user", "content": "hi \"there\"\n"},
			map[string]any{"role": "assistant", "content": "ok"},
		},
		"max_tokens": 5.0,
		"logprobs":   false,
		"top_k":      3.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestAppendRequestErrors(t *testing.T) {
	c := &Client{}
	tests := []struct {
		name string
		req  model.Request
		want string
	}{
		{"no role", model.Request{Messages: []retrain.Message{{Content: "x"}}}, "message 0 has no role"},
		{"bad schema", model.Request{Messages: []retrain.Message{{Role: "user"}}, Tools: []retrain.ToolSpec{{Name: "t", Parameters: json.RawMessage(`{`)}}}, `tool "t": Parameters is not valid JSON`},
		{"NaN temperature", model.Request{Messages: []retrain.Message{{Role: "user"}}, Sampling: model.Sampling{Temperature: ptr(math.NaN())}}, "Sampling.Temperature"},
		{"bad extra", model.Request{Messages: []retrain.Message{{Role: "user"}}, Sampling: model.Sampling{Extra: map[string]any{"f": func() {}}}}, `Sampling.Extra["f"]`},
	}
	for _, tt := range tests {
		if _, err := c.appendRequest(nil, "m", &tt.req); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzAppendRequest checks that any message text and tool call arguments
// make a valid JSON body that carries them.
func FuzzAppendRequest(f *testing.F) {
	f.Add("hello", "user", `{"a":1}`)
	f.Add("\x00\xff\u2028", "tool", `not json`)
	f.Add("", "assistant", ``)
	f.Fuzz(func(t *testing.T, content, role, args string) {
		if role == "" {
			role = "user"
		}
		req := model.Request{Messages: []retrain.Message{
			{Role: retrain.Role(role), Content: content},
			{Role: "assistant", ToolCalls: []retrain.ToolCall{{ID: "c", Name: "f", Arguments: json.RawMessage(args)}}},
		}}
		b, err := (&Client{}).appendRequest(nil, "m", &req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Messages []struct {
				Role      string  `json:"role"`
				Content   *string `json:"content"`
				ToolCalls []struct {
					Function struct{ Arguments string } `json:"function"`
				} `json:"tool_calls"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("invalid body %s: %v", b, err)
		}
		if got.Messages[0].Role != strings.ToValidUTF8(role, "\uFFFD") && !strings.ContainsRune(role, 0xFFFD) && utfValid(role) {
			t.Fatalf("role %q came back as %q", role, got.Messages[0].Role)
		}
		if utfValid(content) && (got.Messages[0].Content == nil || *got.Messages[0].Content != content) {
			t.Fatalf("content %q came back as %v", content, got.Messages[0].Content)
		}
		if a := got.Messages[1].ToolCalls[0].Function.Arguments; utfValid(args) && a != chatwire.ArgumentsText(json.RawMessage(args)) {
			t.Fatalf("arguments %q sent as %q", args, a)
		}
	})
}

func utfValid(s string) bool { return strings.ToValidUTF8(s, "") == s }
