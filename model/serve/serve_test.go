package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/localtest"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/serve"
)

// testModel is a small local model with random weights: real generation,
// token ids and log-probabilities, in milliseconds.
func testModel(t testing.TB) *local.Model {
	t.Helper()
	w, err := localtest.RandomWeights(localtest.Tiny, 9)
	if err != nil {
		t.Fatal(err)
	}
	m, err := local.New(&local.Options{Weights: w, Name: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func startServer(t *testing.T, m *local.Model) string {
	t.Helper()
	srv := httptest.NewServer(serve.NewHandler(m, &serve.Options{
		Name:          m.Name(),
		ContextLength: m.Config().Context,
		BadRequest:    func(err error) bool { return errors.Is(err, local.ErrContextLength) },
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func newClient(t *testing.T, base string, ids bool) *openai.Client {
	t.Helper()
	c, err := openai.New(&openai.Options{BaseURL: base, ReturnTokenIDs: ids, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// The project's OpenAI client, talking to the served model over loopback,
// gets what the model generates in-process: text, token ids,
// log-probabilities, prompt ids, usage, finish reason.
func TestClientEndToEnd(t *testing.T) {
	m := testModel(t)
	base := startServer(t, m)
	ctx := context.Background()
	req := model.Request{
		Messages: []retrain.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "What is 6 * 7?"}},
		Sampling: model.Sampling{Temperature: f64(0.8), TopP: f64(0.95), MaxTokens: 40, Seed: i64(3), Stop: []string{"zz"}},
	}
	want, err := m.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// JSON carries text as UTF-8: a byte token that is not valid UTF-8 by
	// itself arrives as U+FFFD; its exact bytes are in the entry's "bytes",
	// which the client keeps in Tokens.Bytes, as the model in-process does.
	if want.Tokens.Bytes == nil {
		t.Fatalf("the completion %q has no byte outside ASCII: pick another seed, the test needs one", want.Text)
	}
	want.Text = viaJSON(want.Text)
	for i, s := range want.Tokens.Text {
		want.Tokens.Text[i] = viaJSON(s)
	}

	names, err := newClient(t, base, false).Models(ctx)
	if err != nil || !cmp.Equal(names, []string{"tiny"}) {
		t.Fatalf("Models = %v, %v", names, err)
	}

	withIDs, err := newClient(t, base, true).Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if withIDs.Text != want.Text || withIDs.FinishReason != want.FinishReason || withIDs.Usage != want.Usage {
		t.Errorf("over HTTP: text %q finish %q usage %+v; in-process: %q %q %+v",
			withIDs.Text, withIDs.FinishReason, withIDs.Usage, want.Text, want.FinishReason, want.Usage)
	}
	if !cmp.Equal(withIDs.PromptTokenIDs, want.PromptTokenIDs) {
		t.Errorf("prompt ids differ:\n%s", cmp.Diff(want.PromptTokenIDs, withIDs.PromptTokenIDs))
	}
	// return_tokens_as_token_ids: ids and log-probs, no token text.
	if diff := cmp.Diff(&retrain.Tokens{IDs: want.Tokens.IDs, Logprobs: want.Tokens.Logprobs}, withIDs.Tokens); diff != "" {
		t.Errorf("tokens with ids differ (-in-process +HTTP):\n%s", diff)
	}

	plain, err := newClient(t, base, false).Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&retrain.Tokens{Text: want.Tokens.Text, Logprobs: want.Tokens.Logprobs, Bytes: want.Tokens.Bytes}, plain.Tokens); diff != "" {
		t.Errorf("tokens without ids differ (-in-process +HTTP):\n%s", diff)
	}
	if plain.PromptTokenIDs != nil {
		t.Errorf("prompt ids sent without return_token_ids")
	}
}

func TestClientErrors(t *testing.T) {
	m := testModel(t)
	base := startServer(t, m)
	ctx := context.Background()
	other, err := openai.New(&openai.Options{BaseURL: base, Model: "gpt-9", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.CloseIdleConnections()
	_, err = other.Generate(ctx, model.Request{Messages: []retrain.Message{{Role: "user", Content: "hi"}}})
	if !errors.Is(err, openai.ErrModelNotFound) {
		t.Errorf("unknown model: err = %v, want ErrModelNotFound", err)
	}
	long := strings.Repeat("x", m.Config().Context)
	_, err = newClient(t, base, false).Generate(ctx, model.Request{Messages: []retrain.Message{{Role: "user", Content: long}}})
	if !errors.Is(err, openai.ErrContextLength) {
		t.Errorf("long prompt: err = %v, want ErrContextLength", err)
	}
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return resp.StatusCode, v
}

// The raw wire format, as vLLM writes it.
func TestWireFormat(t *testing.T) {
	base := startServer(t, testModel(t))
	url := base + "/chat/completions"
	code, v := post(t, url, `{"model":"tiny","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],
		"max_tokens":5,"temperature":0,"logprobs":true,"return_token_ids":true,"return_tokens_as_token_ids":true}`)
	if code != 200 {
		t.Fatalf("status %d: %v", code, v)
	}
	ch := v["choices"].([]any)[0].(map[string]any)
	ids := ch["token_ids"].([]any)
	content := ch["logprobs"].(map[string]any)["content"].([]any)
	if len(ids) != len(content) || len(ids) == 0 {
		t.Fatalf("%d token ids, %d logprob entries", len(ids), len(content))
	}
	first := content[0].(map[string]any)
	if want := "token_id:" + jsonNumber(ids[0]); first["token"] != want {
		t.Errorf("first token %v, want %q", first["token"], want)
	}
	if _, ok := v["prompt_token_ids"].([]any); !ok {
		t.Errorf("no top-level prompt_token_ids: %v", v)
	}
	u := v["usage"].(map[string]any)
	if u["completion_tokens"].(float64) != float64(len(ids)) || u["total_tokens"].(float64) != u["prompt_tokens"].(float64)+u["completion_tokens"].(float64) {
		t.Errorf("usage %v for %d tokens", u, len(ids))
	}
	if v["object"] != "chat.completion" || !strings.HasPrefix(v["id"].(string), "chatcmpl-") {
		t.Errorf("id %v object %v", v["id"], v["object"])
	}

	// Without logprobs the field is null.
	_, v = post(t, url, `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3}`)
	if lp := v["choices"].([]any)[0].(map[string]any)["logprobs"]; lp != nil {
		t.Errorf("logprobs %v without asking", lp)
	}

	bad := []struct{ body, want string }{
		{`{`, "invalid request body"},
		{`{"model":"tiny","messages":[]}`, "at least one message"},
		{`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"n":2}`, "n=2"},
		{`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"top_logprobs":2}`, "top_logprobs"},
		{`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"temperature":-1}`, "temperature"},
		{`{"model":"tiny","messages":[{"role":"robot","content":"hi"}]}`, "robot"},
		{`{"model":"tiny","messages":[{"role":"user","content":5}]}`, "content"},
	}
	for _, b := range bad {
		code, v := post(t, url, b.body)
		msg, _ := v["error"].(map[string]any)["message"].(string)
		if code != 400 || !strings.Contains(msg, b.want) {
			t.Errorf("%s: status %d message %q, want 400 mentioning %q", b.body, code, msg, b.want)
		}
	}
	resp, err := http.Get(base + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: status %d", resp.StatusCode)
	}
}

func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

func jsonNumber(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestServeShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.Serve(ctx, ln, serve.NewHandler(testModel(t), nil), time.Second) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("models: status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	http.DefaultClient.CloseIdleConnections()
}
