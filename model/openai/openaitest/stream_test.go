package openaitest

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retrain-rl/retrain/internal/chatwire"
)

// A streamed answer, merged, equals the plain answer to the same request:
// text, tool calls, log-probabilities and token ids; the usage chunk comes
// last when asked for.
func TestStream(t *testing.T) {
	replies := []Reply{
		{Content: "The answer is 4."},
		{Content: "Let me add.", ToolCalls: []ToolCall{{Function: FunctionCall{Name: "add", Arguments: `{"a":2,"b":2}`}}}},
	}
	for _, r := range replies {
		s := newServer(t, &Options{Responder: func(*ChatRequest) Reply { return r }})
		const body = `{"model":"fake-model","messages":[{"role":"user","content":"2+2?"}],"logprobs":true,"return_token_ids":true%s}`
		resp, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader(strings.Replace(body, "%s", "", 1)))
		if err != nil {
			t.Fatal(err)
		}
		var plain chatwire.Reply
		if err := json.NewDecoder(resp.Body).Decode(&plain); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()

		resp, err = http.Post(s.URL+"/chat/completions", "application/json",
			strings.NewReader(strings.Replace(body, "%s", `,"stream":true,"stream_options":{"include_usage":true}`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("content type %q", ct)
		}
		var m chatwire.Merger
		var last *chatwire.Chunk
		n, done := 0, false
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			c, err := chatwire.DecodeEvent(sc.Bytes())
			if errors.Is(err, chatwire.ErrDone) {
				done = true
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			m.Add(c)
			last = c
			n++
		}
		resp.Body.Close()
		if !done || last == nil || last.Usage == nil || len(last.Choices) != 0 {
			t.Fatalf("stream ended with done=%v last=%+v; want a usage chunk then [DONE]", done, last)
		}
		if len(r.ToolCalls) == 0 && n != len(plain.Choices[0].TokenIDs)+3 {
			t.Errorf("%d chunks for %d tokens: want one a token", n, len(plain.Choices[0].TokenIDs))
		}
		plain.Choices[0].StopReason = nil
		plain.Usage.PromptTokensDetails = nil
		got := m.Reply()
		got.Usage.PromptTokensDetails = nil
		if diff := cmp.Diff(&plain, got, cmpopts.IgnoreFields(chatwire.Reply{}, "ID", "Created"), cmpopts.IgnoreFields(chatwire.ToolCall{}, "ID")); diff != "" {
			t.Errorf("streamed differs from plain (-plain +streamed):\n%s", diff)
		}
	}
}
