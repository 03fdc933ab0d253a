package chatwire

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestTokenBytes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want TokenBytes
		err  bool
	}{
		{`null`, nil, false},
		{`[]`, nil, false},
		{`[104, 105]`, nil, false},                   // "hi": valid, the token's text says it
		{`[239,191,189]`, nil, false},                // U+FFFD itself (vLLM's bytes of a replaced token): valid
		{`[226,128]`, TokenBytes{0xe2, 0x80}, false}, // the first two bytes of "…"
		{` [ 195 ] `, TokenBytes{0xc3}, false},
		{`[256]`, nil, true},
		{`[-1]`, nil, true},
		{`[1.5]`, nil, true},
		{`[1e2]`, nil, true},
		{`["a"]`, nil, true},
		{`[1,]`, nil, true},
		{`[,1]`, nil, true},
		{`[01]`, nil, true},
		{`"4oA="`, nil, true}, // base64 is encoding/json's []byte, not the wire format
		{`{}`, nil, true},
	} {
		var got TokenBytes
		err := got.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Errorf("%s: err %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !cmp.Equal(tt.want, got) {
			t.Errorf("%s: %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, tb := range []TokenBytes{nil, {0xe2, 0x80}} {
		b, err := json.Marshal(tb)
		var back TokenBytes
		if err != nil || json.Unmarshal(b, &back) != nil || !cmp.Equal(tb, back) {
			t.Errorf("%v: encoded %s, decoded back %v (%v)", tb, b, back, err)
		}
	}
}

// A reply entry's bytes survive AppendReply and decoding: the exact bytes
// of a token the JSON text cannot hold.
func TestReplyTokenBytesRoundTrip(t *testing.T) {
	r := Reply{Choices: []Choice{{Logprobs: &Logprobs{Content: []TokenLogprob{
		{Token: "a", Logprob: -1},
		{Token: "\xe2\x80", Logprob: -2},                        // invalid in the Go string: the bytes come from it
		{Token: "\ufffd", Logprob: -3, Bytes: TokenBytes{0xa6}}, // given explicitly
	}}}}}
	b, err := AppendReply(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	var back Reply
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	got := back.Choices[0].Logprobs.Content
	want := []TokenBytes{nil, {0xe2, 0x80}, {0xa6}}
	for i := range got {
		if !cmp.Equal(want[i], got[i].Bytes) {
			t.Errorf("entry %d: bytes %v, want %v (reply %s)", i, got[i].Bytes, want[i], b)
		}
	}
	if !utf8.ValidString(got[1].Token) || !strings.ContainsRune(got[1].Token, utf8.RuneError) {
		t.Errorf("entry 1: token %q, want U+FFFD in place of the bytes (JSON text is UTF-8)", got[1].Token)
	}
}

// FuzzTokenBytes checks TokenBytes against encoding/json's []int on valid
// JSON: what TokenBytes accepts encoding/json accepts with the same values,
// all from 0 to 255, kept exactly when they are not valid UTF-8.
func FuzzTokenBytes(f *testing.F) {
	for _, s := range []string{`[1,2,3]`, `[]`, `null`, `[226, 128]`, `[256]`, `[-0]`, `[1.0]`, `[00]`, `[255,255]`, `[1,null]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		var got TokenBytes
		if err := json.Unmarshal([]byte(s), &got); err != nil {
			return
		}
		var ints []int
		if err := json.Unmarshal([]byte(s), &ints); err != nil {
			t.Fatalf("%s: TokenBytes accepted what encoding/json refuses as []int (%v)", s, err)
		}
		raw := make([]byte, len(ints))
		for i, v := range ints {
			if v < 0 || v > 255 {
				t.Fatalf("%s: TokenBytes accepted %d", s, v)
			}
			raw[i] = byte(v)
		}
		switch valid := utf8.Valid(raw); {
		case valid && got != nil:
			t.Fatalf("%s: valid UTF-8 kept as %v", s, got)
		case !valid && !cmp.Equal(TokenBytes(raw), got):
			t.Fatalf("%s: decoded %v, want %v", s, got, raw)
		}
	})
}
