package serve

import (
	"testing"
)

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"x","max_tokens":3,"top_k":5}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}],"stop":["a","b"]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b, 1<<20)
		if err != nil {
			if r != nil {
				t.Fatal("a request and an error")
			}
			return
		}
		if r.Model == "" || len(r.Messages) == 0 {
			t.Fatalf("accepted a request without model or messages: %s", b)
		}
		req := r.modelRequest()
		if len(req.Messages) != len(r.Messages) {
			t.Fatalf("%d messages became %d", len(r.Messages), len(req.Messages))
		}
		if s := req.Sampling; (s.Temperature != nil && *s.Temperature < 0) || s.MaxTokens < 0 {
			t.Fatalf("accepted sampling %+v", s)
		}
	})
}

func TestDecodeRequestExtra(t *testing.T) {
	r, err := decodeRequest([]byte(`{"model":"m","messages":[{"role":"developer","content":"d"}],"top_k":5,"max_completion_tokens":7,"max_tokens":3}`), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	req := r.modelRequest()
	if req.Sampling.Extra["top_k"] != 5.0 || req.Sampling.MaxTokens != 7 || req.Messages[0].Role != "system" {
		t.Errorf("request %+v", req)
	}
}
