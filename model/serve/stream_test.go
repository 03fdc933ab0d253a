package serve_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retrain-rl/retrain/internal/chatwire"
)

// A streamed answer, put back together, is the answer to the same request
// without streaming: the same text, token ids, log-probabilities, prompt
// ids and finish reason, one token a chunk, and the usage last when asked.
func TestStream(t *testing.T) {
	base := startServer(t, testModel(t))
	const body = `{"model":"tiny","messages":[{"role":"user","content":"What is 2+3?"}],"max_tokens":12,"seed":4,"temperature":0.9,"logprobs":true,"return_token_ids":true%s}`
	plain := postReply(t, base, strings.Replace(body, "%s", "", 1))
	for _, usage := range []bool{false, true} {
		extra := `,"stream":true`
		if usage {
			extra += `,"stream_options":{"include_usage":true}`
		}
		resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(strings.Replace(body, "%s", extra, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
			t.Fatalf("status %d content type %q", resp.StatusCode, ct)
		}
		var m chatwire.Merger
		var chunks []*chatwire.Chunk
		done := false
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 {
				continue
			}
			if !bytes.HasPrefix(line, []byte("data: ")) {
				t.Fatalf("line %q is not an event", line)
			}
			c, err := chatwire.DecodeEvent(line)
			if errors.Is(err, chatwire.ErrDone) {
				done = true
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Object != "chat.completion.chunk" {
				t.Errorf("object %q", c.Object)
			}
			chunks = append(chunks, c)
			m.Add(c)
		}
		resp.Body.Close()
		if !done {
			t.Fatal("no [DONE] event")
		}
		got := m.Reply()
		n := len(plain.Choices[0].TokenIDs)
		// role, one chunk a token, finish, usage
		if want := 2 + n + btoi(usage); len(chunks) != want {
			t.Errorf("%d chunks for %d tokens, want %d", len(chunks), n, want)
		}
		want := *plain
		want.Choices = append([]chatwire.Choice(nil), plain.Choices...)
		if string(want.Choices[0].StopReason) == "null" { // a null stop_reason is left out of chunks
			want.Choices[0].StopReason = nil
		}
		if !usage {
			want.Usage = nil
		} else if last := chunks[len(chunks)-1]; len(last.Choices) != 0 || last.Usage == nil {
			t.Errorf("last chunk %+v: want the usage and no choices", last)
		}
		if diff := cmp.Diff(&want, got, cmpopts.IgnoreFields(chatwire.Reply{}, "ID", "Created")); diff != "" {
			t.Errorf("streamed (usage %v) differs from plain (-plain +streamed):\n%s", usage, diff)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func postReply(t *testing.T, base, body string) *chatwire.Reply {
	t.Helper()
	resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r chatwire.Reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return &r
}
