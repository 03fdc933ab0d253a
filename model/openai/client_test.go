package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// promptIDs is the fake server's tokenization of one user message.
func promptIDs(user string) []int32 {
	ids := []int32{openaitest.IDImStart}
	for _, b := range []byte("user\n" + user) {
		ids = append(ids, int32(b))
	}
	ids = append(ids, openaitest.IDImEnd, '\n', openaitest.IDImStart)
	for _, b := range []byte("assistant\n") {
		ids = append(ids, int32(b))
	}
	return ids
}

func TestGenerateTokens(t *testing.T) {
	reply := openaitest.Reply{Content: "Hello world", Tokens: []string{"Hel", "lo", " world"}, Logprobs: []float64{-0.25, -0.5, -1}}
	ids := []int32{openaitest.TokenID("Hel"), openaitest.TokenID("lo"), openaitest.TokenID(" world")}
	lps := []float64{-0.25, -0.5, -1}
	texts := []string{"Hel", "lo", " world"}
	tests := []struct {
		name       string
		server     openaitest.Options
		ids        bool
		wantTokens *retrain.Tokens
		wantPrompt []int32
	}{
		{name: "logprobs only", wantTokens: &retrain.Tokens{Text: texts, Logprobs: lps}},
		{name: "token ids", ids: true, wantTokens: &retrain.Tokens{IDs: ids, Logprobs: lps}, wantPrompt: promptIDs("hi")},
		{name: "server ignores token ids", server: openaitest.Options{IgnoreTokenIDs: true}, ids: true, wantTokens: &retrain.Tokens{Text: texts, Logprobs: lps}},
		{name: "server ignores logprobs", server: openaitest.Options{IgnoreLogprobs: true}, wantTokens: nil},
		{name: "ids without logprobs", server: openaitest.Options{IgnoreLogprobs: true}, ids: true, wantTokens: &retrain.Tokens{IDs: ids}, wantPrompt: promptIDs("hi")},
		{name: "ignores both", server: openaitest.Options{IgnoreLogprobs: true, IgnoreTokenIDs: true}, ids: true, wantTokens: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so := tt.server
			so.Script = []openaitest.Reply{reply}
			s := newServer(t, &so)
			c := newClient(t, s, &Options{ReturnTokenIDs: tt.ids})
			got, err := c.Generate(context.Background(), userRequest("hi"))
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != "Hello world" || got.FinishReason != "stop" || got.Latency <= 0 {
				t.Errorf("Text %q FinishReason %q Latency %v", got.Text, got.FinishReason, got.Latency)
			}
			if diff := cmp.Diff(tt.wantTokens, got.Tokens); diff != "" {
				t.Errorf("Tokens (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPrompt, got.PromptTokenIDs); diff != "" {
				t.Errorf("PromptTokenIDs (-want +got):\n%s", diff)
			}
			if want := (model.Usage{PromptTokens: len(promptIDs("hi")), CompletionTokens: 3}); got.Usage != want {
				t.Errorf("Usage = %+v, want %+v", got.Usage, want)
			}
		})
	}
}

// TestPrefixAcrossTurns follows a two-turn conversation and checks the
// second prompt's ids extend the first prompt and completion, as a rollout
// checks for chat template drift.
func TestPrefixAcrossTurns(t *testing.T) {
	s := newServer(t, &openaitest.Options{LogprobTokens: 20})
	c := newClient(t, s, &Options{ReturnTokenIDs: true})
	req := userRequest("first")
	c1, err := c.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Tokens.Len() != 20 || len(c1.Tokens.IDs) != 20 || len(c1.Tokens.Logprobs) != 20 {
		t.Fatalf("tokens = %+v, want 20 ids and logprobs", c1.Tokens)
	}
	req.Messages = append(req.Messages,
		retrain.Message{Role: retrain.RoleAssistant, Content: c1.Text},
		retrain.Message{Role: retrain.RoleUser, Content: "second"})
	c2, err := c.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]int32{}, c1.PromptTokenIDs...), c1.Tokens.IDs...)
	if len(c2.PromptTokenIDs) < len(want) {
		t.Fatalf("second prompt has %d ids, fewer than %d", len(c2.PromptTokenIDs), len(want))
	}
	if diff := cmp.Diff(want, c2.PromptTokenIDs[:len(want)]); diff != "" {
		t.Errorf("second prompt prefix (-want +got):\n%s", diff)
	}
}

func TestToolCallsRoundTrip(t *testing.T) {
	s := newServer(t, &openaitest.Options{Record: true, CycleScript: true, Script: []openaitest.Reply{{
		ToolCalls: []openaitest.ToolCall{
			{ID: "call_a", Function: openaitest.FunctionCall{Name: "add", Arguments: `{"a": 2, "b": 3}`}},
			{Function: openaitest.FunctionCall{Name: "echo", Arguments: `not json`}},
			{ID: "call_c", Function: openaitest.FunctionCall{Name: "now", Arguments: ``}},
		},
	}}})
	c := newClient(t, s, nil)
	params := json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}}}`)
	req := model.Request{
		Messages: []retrain.Message{
			{Role: retrain.RoleSystem, Content: "sys"},
			{Role: retrain.RoleUser, Content: "add 1 and 2"},
			{Role: retrain.RoleAssistant, ToolCalls: []retrain.ToolCall{{ID: "call_1", Name: "add", Arguments: json.RawMessage(`{"a":1,"b":2}`)}}},
			{Role: retrain.RoleTool, Content: "3", ToolCallID: "call_1", Name: "add"},
		},
		Tools: []retrain.ToolSpec{{Name: "add", Description: "Adds.", Parameters: params}, {Name: "now", Description: "Time."}},
	}
	got, err := c.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}

	rec := s.Recorded()[0]
	wantTools := []openaitest.Tool{
		{Type: "function", Function: openaitest.Function{Name: "add", Description: "Adds.", Parameters: params}},
		{Type: "function", Function: openaitest.Function{Name: "now", Description: "Time.", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}},
	}
	if diff := cmp.Diff(wantTools, rec.Tools); diff != "" {
		t.Errorf("tools sent (-want +got):\n%s", diff)
	}
	wantMsgs := []openaitest.Message{
		{Role: "system", Content: "sys"},
		{Role: "user", Content: "add 1 and 2"},
		{Role: "assistant", ToolCalls: []openaitest.ToolCall{{ID: "call_1", Type: "function", Function: openaitest.FunctionCall{Name: "add", Arguments: `{"a":1,"b":2}`}}}},
		{Role: "tool", Content: "3", ToolCallID: "call_1", Name: "add"},
	}
	if diff := cmp.Diff(wantMsgs, rec.Messages); diff != "" {
		t.Errorf("messages sent (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(rec.Raw), `{"role":"assistant","content":null,"tool_calls":`) {
		t.Errorf("an assistant message with only tool calls should have null content: %s", rec.Raw)
	}

	wantCalls := []retrain.ToolCall{
		{ID: "call_a", Name: "add", Arguments: json.RawMessage(`{"a": 2, "b": 3}`)},
		{ID: "call_0_1", Name: "echo", Arguments: json.RawMessage(`"not json"`)},
		{ID: "call_c", Name: "now", Arguments: json.RawMessage(`{}`)},
	}
	if diff := cmp.Diff(wantCalls, got.ToolCalls); diff != "" {
		t.Errorf("tool calls (-want +got):\n%s", diff)
	}
	if got.Text != "" || got.FinishReason != "tool_calls" {
		t.Errorf("Text %q FinishReason %q, want empty and tool_calls", got.Text, got.FinishReason)
	}

	// Sending the calls back reproduces the model's arguments exactly.
	req.Messages = append(req.Messages, retrain.Message{Role: retrain.RoleAssistant, ToolCalls: got.ToolCalls})
	if _, err := c.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	back := s.Recorded()[1].Messages[4].ToolCalls
	for i, want := range []string{`{"a": 2, "b": 3}`, `not json`, `{}`} {
		if back[i].Function.Arguments != want {
			t.Errorf("call %d sent back with arguments %q, want %q", i, back[i].Function.Arguments, want)
		}
	}
}

func TestSamplingAndExtra(t *testing.T) {
	s := newServer(t, &openaitest.Options{Record: true})
	c := newClient(t, s, &Options{ReturnTokenIDs: true, TopLogprobs: 3})
	req := userRequest("hi")
	req.Sampling = model.Sampling{
		Temperature: ptr(0.7), TopP: ptr(0.9), MaxTokens: 64, Stop: []string{"</answer>", "\n\n"}, Seed: ptr(int64(42)),
		Extra: map[string]any{"top_k": 20, "max_tokens": 32, "chat_template_kwargs": map[string]any{"enable_thinking": false}},
	}
	if _, err := c.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	rec := s.Recorded()[0]
	got := openaitest.ChatRequest{
		Model: rec.Model, Temperature: rec.Temperature, TopP: rec.TopP, MaxTokens: rec.MaxTokens, Stop: rec.Stop, Seed: rec.Seed,
		Logprobs: rec.Logprobs, TopLogprobs: rec.TopLogprobs, ReturnTokenIDs: rec.ReturnTokenIDs, ReturnTokensAsTokenIDs: rec.ReturnTokensAsTokenIDs,
	}
	want := openaitest.ChatRequest{
		Model: openaitest.DefaultModel, Temperature: ptr(0.7), TopP: ptr(0.9), MaxTokens: 32, Stop: openaitest.Stop{"</answer>", "\n\n"}, Seed: ptr(int64(42)),
		Logprobs: true, TopLogprobs: 3, ReturnTokenIDs: true, ReturnTokensAsTokenIDs: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if n := strings.Count(string(rec.Raw), `"max_tokens"`); n != 1 {
		t.Errorf("max_tokens appears %d times in %s; Extra should replace it", n, rec.Raw)
	}
	extra, err := rec.Extra()
	if err != nil {
		t.Fatal(err)
	}
	if string(extra["top_k"]) != "20" || string(extra["chat_template_kwargs"]) != `{"enable_thinking":false}` {
		t.Errorf("extra fields = %v", extra)
	}
}

func TestReasoning(t *testing.T) {
	s := newServer(t, &openaitest.Options{Script: []openaitest.Reply{{Content: "4", Reasoning: "2+2 is 4"}}})
	got, err := newClient(t, s, nil).Generate(context.Background(), userRequest("2+2?"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "4" || got.Reasoning != "2+2 is 4" {
		t.Errorf("Text %q Reasoning %q", got.Text, got.Reasoning)
	}
}

func TestMaxTokensTruncates(t *testing.T) {
	s := newServer(t, &openaitest.Options{LogprobTokens: 10})
	req := userRequest("hi")
	req.Sampling.MaxTokens = 4
	got, err := newClient(t, s, nil).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.FinishReason != "length" || got.Tokens.Len() != 4 || got.Usage.CompletionTokens != 4 {
		t.Errorf("FinishReason %q, %d tokens, usage %+v; want length and 4", got.FinishReason, got.Tokens.Len(), got.Usage)
	}
	if strings.Join(got.Tokens.Text, "") != got.Text {
		t.Errorf("tokens %q do not join to text %q", got.Tokens.Text, got.Text)
	}
}

func TestModelsAndDefaultModel(t *testing.T) {
	one := newServer(t, &openaitest.Options{Models: []string{"only"}})
	c := newClient(t, one, &Options{Model: "-"})
	c.model = "" // as if Options.Model were empty
	ids, err := c.Models(context.Background())
	if err != nil || len(ids) != 1 || ids[0] != "only" {
		t.Fatalf("Models() = %v, %v", ids, err)
	}
	if _, err := c.Generate(context.Background(), userRequest("hi")); err != nil {
		t.Errorf("Generate with the only served model: %v", err)
	}

	two := newServer(t, &openaitest.Options{Models: []string{"a", "b"}})
	c = newClient(t, two, &Options{Model: "-"})
	c.model = ""
	_, err = c.Generate(context.Background(), userRequest("hi"))
	if err == nil || !strings.Contains(err.Error(), "serves 2 models (a, b); set Options.Model") {
		t.Errorf("Generate with two served models and no Options.Model: %v", err)
	}
}

func TestServedModel(t *testing.T) {
	one := newServer(t, &openaitest.Options{Models: []string{"only"}})
	c := newClient(t, one, &Options{Model: "-"})
	c.model = ""
	if name, err := c.ServedModel(context.Background()); name != "only" || err != nil {
		t.Errorf("ServedModel() = %q, %v; want only", name, err)
	}
	c = newClient(t, one, &Options{Model: "named"})
	if name, err := c.ServedModel(context.Background()); name != "named" || err != nil {
		t.Errorf("ServedModel() with Options.Model = %q, %v; want named", name, err)
	}
	two := newServer(t, &openaitest.Options{Models: []string{"a", "b"}})
	c = newClient(t, two, &Options{Model: "-"})
	c.model = ""
	_, err := c.ServedModel(context.Background())
	var sm *ServedModelsError
	if !errors.As(err, &sm) || !slices.Equal(sm.Models, []string{"a", "b"}) || sm.URL != two.URL+"/models" {
		t.Errorf("serving a and b: ServedModel error %v, want a *ServedModelsError listing them", err)
	}
	none := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"list","data":[]}`))
	}))
	defer none.Close()
	c, err = New(&Options{BaseURL: none.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	_, err = c.ServedModel(context.Background())
	if !errors.As(err, &sm) || len(sm.Models) != 0 || !strings.Contains(err.Error(), "lists no models") {
		t.Errorf("serving none: ServedModel error %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{{BaseURL: "localhost:8000/v1"}, {BaseURL: "ftp://x/v1"}, {TopLogprobs: -1}} {
		if _, err := New(&o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	t.Setenv("OPENAI_API_KEY", "from-env")
	t.Setenv("OPENAI_BASE_URL", "")
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.auth != "Bearer from-env" || c.chatURL != DefaultBaseURL+"/chat/completions" || c.opts.MaxRetries != DefaultMaxRetries || cap(c.sem) != DefaultMaxInFlight {
		t.Errorf("defaults: auth %q chat %q retries %d inflight %d", c.auth, c.chatURL, c.opts.MaxRetries, cap(c.sem))
	}
	if _, err := c.Generate(context.Background(), model.Request{}); err == nil || !strings.Contains(err.Error(), "no messages") {
		t.Errorf("Generate with no messages: %v", err)
	}
}
