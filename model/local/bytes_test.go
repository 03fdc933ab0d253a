package local_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
)

// The model is byte-level: at a high temperature a completion may end, or
// have tokens that end, inside a multi-byte character. Tokens.Bytes then
// records every token's exact bytes, which survive JSON (base64) while the
// text does not (U+FFFD), and the ids decode to exactly those bytes. A
// completion of ASCII tokens has no Bytes.
func TestTokenBytesExact(t *testing.T) {
	m := randomModel(t, 5)
	var split, ascii bool
	for seed := range int64(64) {
		c, err := m.Generate(t.Context(), model.Request{Messages: userMessages("What is 7 * 8?"),
			Sampling: model.Sampling{Temperature: ptr(1.5), MaxTokens: 12, Seed: &seed}})
		if err != nil {
			t.Fatal(err)
		}
		tok := c.Tokens
		high := slices.ContainsFunc(tok.IDs, func(id int32) bool { return id >= utf8.RuneSelf && id < 256 })
		if !high {
			if tok.Bytes != nil {
				t.Fatalf("seed %d: ASCII tokens %v have Bytes %q; want none", seed, tok.IDs, tok.Bytes)
			}
			ascii = true
			continue
		}
		if len(tok.Bytes) != len(tok.IDs) {
			t.Fatalf("seed %d: %d byte entries for %d tokens", seed, len(tok.Bytes), len(tok.IDs))
		}
		ids := make([]int, len(tok.IDs))
		for i, id := range tok.IDs {
			ids[i] = int(id)
			if want := []byte(local.TokenText(int(id))); !bytes.Equal(tok.Bytes[i], want) {
				t.Errorf("seed %d token %d (id %d): bytes %q, want %q", seed, i, id, tok.Bytes[i], want)
			}
		}
		joined, ok := tok.JoinedBytes()
		if !ok || string(joined) != local.Decode(ids) || !bytes.HasPrefix(joined, []byte(c.Text)) {
			t.Errorf("seed %d: joined bytes %q, ids decode to %q, text %q", seed, joined, local.Decode(ids), c.Text)
		}
		var back retrain.Tokens
		b, err := json.Marshal(tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tok.Bytes, back.Bytes); diff != "" {
			t.Errorf("seed %d: bytes changed through JSON (-before +after):\n%s", seed, diff)
		}
		if !utf8.ValidString(c.Text) {
			split = true
			if !slices.ContainsFunc(back.Text, func(s string) bool { return strings.ContainsRune(s, utf8.RuneError) }) {
				t.Errorf("seed %d: the token text kept invalid bytes through JSON; the test's premise is wrong", seed)
			}
		}
	}
	if !split || !ascii {
		t.Fatalf("64 seeds gave a completion with invalid UTF-8: %v, one of ASCII only: %v; both are needed", split, ascii)
	}
}
