package proxy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// strip removes from a reply (or a chunk, when chunk is set) the fields the
// proxy asked for and the agent did not: log-probabilities, token ids, a
// chunk's usage. The reference for [stripFast]: it decodes and encodes.
func strip(body []byte, a asked, chunk bool) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	if !a.tokenIDs {
		delete(top, "prompt_token_ids")
	}
	if chunk && !a.includeUsage {
		delete(top, "usage")
	}
	if raw, ok := top["choices"]; ok && (!a.logprobs || !a.tokenIDs) {
		var choices []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &choices); err != nil {
			return nil, err
		}
		for _, c := range choices {
			if !a.logprobs {
				if _, ok := c["logprobs"]; ok {
					c["logprobs"] = json.RawMessage("null")
				}
			}
			if !a.tokenIDs {
				delete(c, "token_ids")
				delete(c, "prompt_token_ids")
			}
		}
		b, err := json.Marshal(choices)
		if err != nil {
			return nil, err
		}
		top["choices"] = b
	}
	return json.Marshal(top)
}

var stripSeeds = []string{
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":{"content":[{"token":"Hel","logprob":-0.5}]},"finish_reason":null,"token_ids":[9]}],"usage":null,"prompt_token_ids":[1,2]}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"system_fingerprint":"x"}`,
	`{ "id" : "c" , "choices" : [ { "index" : 0 , "message" : {"role":"assistant","content":"a \"}\" b"} , "logprobs" : null , "token_ids" : [ 1 , 2 ] } , 5 ] , "prompt_token_ids" : [] }`,
	`{}`, `{"choices":[{}]}`, `{"choices":"x"}`,
}

func TestStripFast(t *testing.T) {
	for _, seed := range stripSeeds {
		for _, a := range allAsked() {
			checkStrip(t, []byte(seed), a, true)
		}
	}
	got, ok := stripFast(nil, []byte(stripSeeds[0]), asked{}, true)
	if !ok || strings.Contains(string(got), "token_ids") || strings.Contains(string(got), `"logprob"`) || strings.Contains(string(got), "usage") ||
		!strings.Contains(string(got), `"logprobs":null`) || !strings.Contains(string(got), `"content":"Hel"`) {
		t.Errorf("stripped %s", got)
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1`, `{"a":"x}`, `{"a":1}x`, `{"choices":[{"a":1},]}`} {
		if _, ok := stripFast(nil, []byte(bad), asked{}, true); ok {
			t.Errorf("stripFast accepted %q", bad)
		}
	}
}

func allAsked() []asked {
	var out []asked
	for i := range 8 {
		out = append(out, asked{logprobs: i&1 != 0, tokenIDs: i&2 != 0, includeUsage: i&4 != 0})
	}
	return out
}

// checkStrip checks that stripFast and strip agree on valid JSON objects.
func checkStrip(t *testing.T, body []byte, a asked, chunk bool) {
	t.Helper()
	want, err := strip(body, a, chunk)
	fast, ok := stripFast(nil, body, a, chunk)
	if err != nil {
		return // not an object strip reads; stripFast may relay it unchanged
	}
	if !ok {
		t.Fatalf("stripFast refused %s, which strip took", body)
	}
	var x, y any
	if err := json.Unmarshal(want, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(fast, &y); err != nil {
		t.Fatalf("stripFast wrote %s: %v", fast, err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("%+v %s:\n strip     %s\n stripFast %s", a, body, want, fast)
	}
}

func FuzzStripFast(f *testing.F) {
	for _, s := range stripSeeds {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, body string, mask uint8) {
		if strings.Contains(body, "\\") || !json.Valid([]byte(body)) {
			// Escaped keys are copied, never matched; invalid JSON is
			// decoded whole for the record before stripping.
			stripFast(nil, []byte(body), asked{}, true)
			return
		}
		checkStrip(t, []byte(body), asked{logprobs: mask&1 != 0, tokenIDs: mask&2 != 0, includeUsage: mask&4 != 0}, mask&8 != 0)
	})
}
