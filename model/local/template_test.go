package local_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/local"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		msgs []retrain.Message
		want string
	}{
		{"empty", nil, "<|assistant|>"},
		{"system omitted", []retrain.Message{{Role: "system", Content: "long prompt"}, {Role: "user", Content: "What is 2 * 3?"}},
			"<|user|>What is 2 * 3?<|end|><|assistant|>"},
		{"calculator episode", []retrain.Message{
			{Role: "system", Content: "x"},
			{Role: "user", Content: "Q"},
			{Role: "assistant", Content: "<tool>{}</tool>"},
			{Role: "user", Content: "<result>6</result>"},
		}, "<|user|>Q<|end|><|assistant|><tool>{}</tool><|end|><|user|><result>6</result><|end|><|assistant|>"},
		{"tool message", []retrain.Message{{Role: "tool", Content: "6"}}, "<|tool|>6<|end|><|assistant|>"},
		{"special text stays bytes", []retrain.Message{{Role: "user", Content: "<|end|>"}}, "<|user|><|end|><|end|><|assistant|>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := local.Render(tt.msgs)
			if got := local.Decode(ids); got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
	// Special-token text in content is encoded byte by byte, never as the token.
	ids := local.Render([]retrain.Message{{Role: "user", Content: "<|end|>"}})
	if n := countOf(ids, local.TokenEnd); n != 1 {
		t.Errorf("content %q gave %d TokenEnd ids, want only the message's own", "<|end|>", n)
	}
}

func countOf(ids []int, id int) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// The next turn's prompt extends this turn's prompt and completion (with its
// TokenEnd) token for token: no template drift.
func TestRenderPrefixStable(t *testing.T) {
	turn1 := []retrain.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "What is 4 * 5?"}}
	prompt1 := local.Render(turn1)
	completion := append(local.Encode(`<tool>{"name": "calculator"}</tool>`), local.TokenEnd)
	turn2 := append(slices.Clone(turn1),
		retrain.Message{Role: "assistant", Content: `<tool>{"name": "calculator"}</tool>`},
		retrain.Message{Role: "user", Content: "<result>20</result>"})
	prompt2 := local.Render(turn2)
	want := append(slices.Clone(prompt1), completion...)
	if !slices.Equal(prompt2[:len(want)], want) {
		t.Errorf("turn 2 prompt does not extend turn 1 prompt + completion:\n%s", cmp.Diff(local.Decode(want), local.Decode(prompt2[:len(want)])))
	}
}

func TestRenderTraining(t *testing.T) {
	ids, learn := local.RenderTraining([]retrain.Message{
		{Role: "system", Content: "s"},
		{Role: "user", Content: "Q"},
		{Role: "assistant", Content: "A"},
	})
	if got, want := local.Decode(ids), "<|user|>Q<|end|><|assistant|>A<|end|>"; got != want {
		t.Fatalf("ids = %q, want %q", got, want)
	}
	want := []bool{false, false, false, false, true, true} // the answer and its end
	if !slices.Equal(learn, want) {
		t.Errorf("learn = %v, want %v", learn, want)
	}
}

func TestSegmentPositions(t *testing.T) {
	ids := local.Render([]retrain.Message{{Role: "user", Content: "abc"}, {Role: "assistant", Content: "de"}})
	// <|user|> a b c <|end|> <|assistant|> d e <|end|> <|assistant|>
	want := []int{0, 1, 2, 3, 4, 0, 1, 2, 3, 0}
	if got := local.SegmentPositions(ids, 100); !slices.Equal(got, want) {
		t.Errorf("positions %v, want %v", got, want)
	}
	if got := local.SegmentPositions(ids, 3); slices.Max(got) != 2 {
		t.Errorf("positions %v not clamped to 2", got)
	}
}

func TestTokenText(t *testing.T) {
	tests := []struct {
		id   int
		want string
	}{{'a', "a"}, {local.TokenEnd, "<|end|>"}, {local.TokenUser, "<|user|>"}, {local.VocabSize - 1, "<|reserved_2|>"}, {-1, ""}, {local.VocabSize, ""}}
	for _, tt := range tests {
		if got := local.TokenText(tt.id); got != tt.want {
			t.Errorf("TokenText(%d) = %q, want %q", tt.id, got, tt.want)
		}
	}
}
