package openaitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// post sends body to the server's chat endpoint and returns the status and
// the decoded JSON answer.
func post(t *testing.T, s *Server, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, data)
	}
	return resp.StatusCode, out
}

func newServer(t *testing.T, o *Options) *Server {
	t.Helper()
	s := NewServer(o)
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		s.Close()
	})
	return s
}

// wireCompletion is the part of an answer the tests look at.
type wireCompletion struct {
	Choices []struct {
		Message struct {
			Content   *string    `json:"content"`
			Reasoning string     `json:"reasoning"`
			ToolCalls []ToolCall `json:"tool_calls"`
		} `json:"message"`
		Logprobs *struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				Bytes       []byte  `json:"-"`
				TopLogprobs []any   `json:"top_logprobs"`
			} `json:"content"`
		} `json:"logprobs"`
		FinishReason string  `json:"finish_reason"`
		TokenIDs     []int32 `json:"token_ids"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	PromptTokenIDs []int32 `json:"prompt_token_ids"`
}

func chat(t *testing.T, s *Server, req any) wireCompletion {
	t.Helper()
	b, _ := json.Marshal(req)
	resp, err := http.Post(s.URL+"/chat/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	var c wireCompletion
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return c
}

func TestCompletionWireFormat(t *testing.T) {
	s := newServer(t, &Options{Script: []Reply{{Content: "Hi there", Tokens: []string{"Hi", " there"}, Logprobs: []float64{-0.5, -1}}}, CycleScript: true})
	req := map[string]any{
		"model":    DefaultModel,
		"messages": []map[string]any{{"role": "user", "content": "ab"}},
		"logprobs": true, "top_logprobs": 2,
	}
	c := chat(t, s, req)
	ch := c.Choices[0]
	if *ch.Message.Content != "Hi there" || ch.FinishReason != "stop" {
		t.Errorf("message %q finish %q", *ch.Message.Content, ch.FinishReason)
	}
	var toks []string
	var lps []float64
	for _, e := range ch.Logprobs.Content {
		toks = append(toks, e.Token)
		lps = append(lps, e.Logprob)
		if len(e.TopLogprobs) != 2 {
			t.Errorf("token %q has %d top_logprobs, want 2", e.Token, len(e.TopLogprobs))
		}
	}
	if diff := cmp.Diff([]string{"Hi", " there"}, toks); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{-0.5, -1}, lps); diff != "" {
		t.Errorf("logprobs (-want +got):\n%s", diff)
	}
	if ch.TokenIDs != nil || c.PromptTokenIDs != nil {
		t.Errorf("token ids sent without return_token_ids: %v %v", ch.TokenIDs, c.PromptTokenIDs)
	}
	// <|im_start|> "user\n" "ab" <|im_end|> "\n" <|im_start|> "assistant\n"
	if want := 1 + 5 + 2 + 1 + 1 + 1 + 10; c.Usage.PromptTokens != want || c.Usage.CompletionTokens != 2 {
		t.Errorf("usage = %+v, want %d prompt tokens and 2 completion tokens", c.Usage, want)
	}

	req["return_token_ids"] = true
	req["return_tokens_as_token_ids"] = true
	c = chat(t, s, req)
	ch = c.Choices[0]
	if diff := cmp.Diff([]int32{TokenID("Hi"), TokenID(" there")}, ch.TokenIDs); diff != "" {
		t.Errorf("token_ids (-want +got):\n%s", diff)
	}
	if got := ch.Logprobs.Content[0].Token; got != "token_id:"+itoa(TokenID("Hi")) {
		t.Errorf("token = %q, want the token_id:N form", got)
	}
	want := []int32{IDImStart}
	for _, b := range []byte("user\nab") {
		want = append(want, int32(b))
	}
	want = append(want, IDImEnd, '\n', IDImStart)
	for _, b := range []byte("assistant\n") {
		want = append(want, int32(b))
	}
	if diff := cmp.Diff(want, c.PromptTokenIDs); diff != "" {
		t.Errorf("prompt_token_ids (-want +got):\n%s", diff)
	}
}

func itoa(i int32) string { b, _ := json.Marshal(i); return string(b) }

// TestPromptPrefixStable checks that the prompt of a follow-up turn starts
// with the previous prompt and the previous reply's token ids.
func TestPromptPrefixStable(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		maxTokens int
	}{
		{name: "pieces", opts: Options{}},
		{name: "fixed count", opts: Options{LogprobTokens: 9}},
		{name: "truncated", opts: Options{LogprobTokens: 9}, maxTokens: 4},
		{name: "explicit split", opts: Options{Script: []Reply{{Content: "abc", Tokens: []string{"a", "bc"}}}, CycleScript: true}},
		{name: "tool call", opts: Options{Script: []Reply{{Content: "let me", ToolCalls: []ToolCall{{Function: FunctionCall{Name: "f", Arguments: `{"x":1}`}}}}}, CycleScript: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, &tt.opts)
			msgs := []map[string]any{{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello, world"}}
			req := map[string]any{"model": DefaultModel, "messages": msgs, "logprobs": true, "return_token_ids": true}
			if tt.maxTokens > 0 {
				req["max_tokens"] = tt.maxTokens
			}
			c1 := chat(t, s, req)
			ch := c1.Choices[0]
			if tt.maxTokens > 0 && (len(ch.TokenIDs) != tt.maxTokens || ch.FinishReason != "length") {
				t.Fatalf("truncated reply has %d tokens, finish %q", len(ch.TokenIDs), ch.FinishReason)
			}
			asst := map[string]any{"role": "assistant", "content": ch.Message.Content}
			if len(ch.Message.ToolCalls) > 0 {
				asst["tool_calls"] = ch.Message.ToolCalls
			}
			req["messages"] = append(msgs, asst, map[string]any{"role": "user", "content": "more"})
			c2 := chat(t, s, req)
			prefix := append(slices.Clone(c1.PromptTokenIDs), ch.TokenIDs...)
			if !slices.Equal(c2.PromptTokenIDs[:min(len(prefix), len(c2.PromptTokenIDs))], prefix) {
				t.Errorf("second prompt %v does not start with first prompt + reply %v", c2.PromptTokenIDs, prefix)
			}
		})
	}
}

func TestEchoFillsLogprobTokens(t *testing.T) {
	s := newServer(t, &Options{LogprobTokens: 50})
	c := chat(t, s, map[string]any{"model": DefaultModel, "messages": []map[string]any{{"role": "user", "content": "hi"}}, "logprobs": true})
	content := c.Choices[0].Logprobs.Content
	if len(content) != 50 {
		t.Fatalf("%d logprob tokens, want 50", len(content))
	}
	var joined string
	for _, e := range content {
		if e.Token == "" {
			t.Errorf("empty token in a padded echo reply")
		}
		if e.Logprob > 0 || e.Logprob <= -5 {
			t.Errorf("logprob %v out of (-5, 0]", e.Logprob)
		}
		joined += e.Token
	}
	if got := *c.Choices[0].Message.Content; got != joined || !strings.HasPrefix(got, "You said: hi") {
		t.Errorf("content %q, tokens join to %q", got, joined)
	}
}

func TestErrors(t *testing.T) {
	s := newServer(t, &Options{Models: []string{"m"}, MaxContext: 20, APIKey: ""})
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"unknown model", `{"model":"x","messages":[{"role":"user","content":"a"}]}`, 404, "model_not_found"},
		{"context", `{"model":"m","messages":[{"role":"user","content":"aaaaaaaaaaaaaaaaaaaaaaaa"}]}`, 400, "maximum context length is 20"},
		{"max_tokens past context", `{"model":"m","messages":[{"role":"user","content":"a"}],"max_tokens":10}`, 400, "maximum context length is 20"},
		{"bad json", `{"model":`, 400, "invalid request body"},
		{"no messages", `{"model":"m","messages":[]}`, 400, "messages must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := post(t, s, tt.body)
			b, _ := json.Marshal(out)
			if status != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("status %d body %s; want %d with %q", status, b, tt.status, tt.want)
			}
		})
	}
	resp, err := http.Get(strings.TrimSuffix(s.URL, "/v1") + "/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("wrong path: status %d, want 404", resp.StatusCode)
	}
}

func TestAPIKey(t *testing.T) {
	s := newServer(t, &Options{APIKey: "k"})
	status, out := post(t, s, `{"model":"fake-model","messages":[{"role":"user","content":"a"}]}`)
	if status != 401 || out["error"] != "Unauthorized" {
		t.Errorf("status %d body %v, want 401 Unauthorized", status, out)
	}
}

func TestModels(t *testing.T) {
	s := newServer(t, &Options{Models: []string{"a", "b"}})
	resp, err := http.Get(s.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 2 || list.Data[0].ID != "a" || list.Data[1].ID != "b" {
		t.Errorf("models = %+v", list.Data)
	}
}

func TestFailureSchedule(t *testing.T) {
	s := newServer(t, &Options{Failures: FailurePlan{
		Schedule:   []Failure{Fail500, Fail429, Fail503, FailMalformed, FailNone},
		RetryAfter: 1500 * time.Millisecond,
	}})
	body := `{"model":"fake-model","messages":[{"role":"user","content":"a"}]}`
	want := []struct {
		status     int
		retryAfter string
	}{{500, ""}, {429, "1.5"}, {503, "1.5"}, {200, ""}, {200, ""}}
	for i, w := range want {
		resp, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != w.status || resp.Header.Get("Retry-After") != w.retryAfter {
			t.Errorf("request %d: status %d Retry-After %q, want %d %q", i, resp.StatusCode, resp.Header.Get("Retry-After"), w.status, w.retryAfter)
		}
		if valid := json.Valid(data); valid == (i == 3) {
			t.Errorf("request %d: body valid JSON = %v: %s", i, valid, data)
		}
	}
	if s.Requests() != len(want) {
		t.Errorf("Requests() = %d, want %d", s.Requests(), len(want))
	}
}

func TestFailureDropAndTimeout(t *testing.T) {
	s := newServer(t, &Options{Failures: FailurePlan{Schedule: []Failure{FailDrop, FailTimeout}}})
	body := `{"model":"fake-model","messages":[{"role":"user","content":"a"}]}`
	client := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 2 {
		resp, err := client.Post(s.URL+"/chat/completions", "application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
			t.Errorf("request %d: got status %d, want a failed request", i, resp.StatusCode)
		}
	}
}

func TestFailureRatesDeterministic(t *testing.T) {
	plan := FailurePlan{Rates: map[Failure]float64{Fail500: 0.3, Fail503: 0.2}, Seed: 7}
	a, b := newFailures(plan), newFailures(plan)
	counts := map[Failure]int{}
	for i := range int64(2000) {
		fa, fb := a.forRequest(i, nil), b.forRequest(i, nil)
		if fa != fb {
			t.Fatalf("request %d: %q and %q from the same seed", i, fa, fb)
		}
		counts[fa]++
	}
	if counts[Fail500] < 500 || counts[Fail500] > 700 || counts[Fail503] < 300 || counts[Fail503] > 500 {
		t.Errorf("counts %v far from rates 0.3 and 0.2 of 2000", counts)
	}
}

func TestInvalidPlanPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("rates summing past 1 did not panic")
		}
	}()
	newFailures(FailurePlan{Rates: map[Failure]float64{Fail500: 0.8, Fail503: 0.8}})
}

func TestScriptExhausted(t *testing.T) {
	s := newServer(t, &Options{Script: []Reply{{Content: "one"}}})
	body := `{"model":"fake-model","messages":[{"role":"user","content":"a"}]}`
	if status, _ := post(t, s, body); status != 200 {
		t.Fatalf("first status %d", status)
	}
	if status, out := post(t, s, body); status != 500 || !strings.Contains(itoaAny(out), "exhausted") {
		t.Errorf("second: status %d %v, want 500 script exhausted", status, out)
	}
}

func itoaAny(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestContentParts(t *testing.T) {
	s := newServer(t, &Options{Record: true})
	chat(t, s, map[string]any{"model": DefaultModel, "messages": []map[string]any{
		{"role": "user", "content": []map[string]any{{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}}},
	}, "stop": "x", "top_k": 5})
	rec := s.Recorded()
	if len(rec) != 1 || rec[0].Messages[0].Content != "ab" || !slices.Equal(rec[0].Stop, []string{"x"}) {
		t.Fatalf("recorded %+v", rec)
	}
	extra, err := rec[0].Extra()
	if err != nil || string(extra["top_k"]) != "5" || len(extra) != 1 {
		t.Errorf("Extra() = %v, %v; want only top_k", extra, err)
	}
}

// FuzzSplitReply checks that a split has the asked number of tokens and
// joins back to the text.
func FuzzSplitReply(f *testing.F) {
	f.Add("Hello, world! 12 ab", 0)
	f.Add("é漢🙂", 7)
	f.Add("  two  spaces ", 3)
	f.Fuzz(func(t *testing.T, text string, n int) {
		n %= 300
		if n < 0 {
			n = -n
		}
		toks := splitReply(text, n)
		if n > 0 && len(toks) != n {
			t.Fatalf("splitReply(%q, %d) has %d tokens", text, n, len(toks))
		}
		if got := strings.Join(toks, ""); got != text {
			t.Fatalf("tokens join to %q, want %q", got, text)
		}
		if utf8.ValidString(text) {
			for _, tok := range toks {
				if !utf8.ValidString(tok) {
					t.Fatalf("token %q splits a rune", tok)
				}
			}
		}
		if n == 0 {
			for _, tok := range toks {
				if tok == "" {
					t.Fatalf("empty word piece in %q", toks)
				}
			}
		}
	})
}
