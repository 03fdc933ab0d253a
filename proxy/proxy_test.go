package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/proxy"
)

var addTool = []map[string]any{{"type": "function", "function": map[string]any{
	"name": "add", "description": "Adds two integers.",
	"parameters": map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "integer"}, "b": map[string]any{"type": "integer"}}},
}}}

// agentCall makes one call as an agent would and returns the reply as the
// agent saw it, merged when streamed, and the raw events of a stream.
func agentCall(t *testing.T, url string, msgs []map[string]any, stream bool) (*chatwire.Reply, []string, []byte) {
	t.Helper()
	body := map[string]any{"model": "fake-model", "messages": msgs, "tools": addTool, "temperature": 0.7, "max_tokens": 64}
	if stream {
		body["stream"] = true
	}
	code, b := post(t, url+"/chat/completions", mustJSON(t, body))
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	if stream {
		evs := events(t, strings.NewReader(string(b)))
		return mergeStream(t, evs), evs, b
	}
	var r chatwire.Reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r, nil, b
}

// assistant is the message an agent appends for a reply.
func assistant(r *chatwire.Reply) map[string]any {
	m := r.Choices[0].Message
	out := map[string]any{"role": "assistant", "content": m.Content}
	if len(m.ToolCalls) > 0 {
		out["tool_calls"] = m.ToolCalls
	}
	return out
}

// A tool-calling agent loop through the proxy, streaming and not: the
// agent gets replies without what it did not ask for, and the trajectory
// has token ids and log-probs on every turn, prefix_match true where the
// agent kept its history, and a new branch where it rewrote it.
func TestSessionRecorded(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			up := openaitest.NewServer(&openaitest.Options{Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
				last := req.Messages[len(req.Messages)-1]
				if last.Role == "tool" {
					return openaitest.Reply{Content: "The sum is " + string(last.Content) + "."}
				}
				return openaitest.Reply{Content: "Let me add.", ToolCalls: []openaitest.ToolCall{{Function: openaitest.FunctionCall{Name: "add", Arguments: `{"a":2,"b":3}`}}}}
			}})
			defer up.Close()
			sink := make(chanSink, 64)
			var mu sync.Mutex
			var calls []proxy.Call
			_, base := start(t, proxy.Options{Upstream: up.URL, Sink: sink, OnCall: func(_ string, c proxy.Call) {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, c)
			}})
			url := base + "/sessions/run-1/v1"

			msgs := []map[string]any{{"role": "system", "content": "You add."}, {"role": "user", "content": "2+3?"}}
			r1, evs, raw := agentCall(t, url, msgs, stream)
			if tc := r1.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Name != "add" || tc[0].Function.Arguments != `{"a":2,"b":3}` {
				t.Fatalf("tool calls %+v: want the upstream's, unchanged", tc)
			}
			for _, field := range []string{"token_ids", "prompt_token_ids", `"logprob"`} {
				if strings.Contains(string(raw), field) {
					t.Errorf("the agent got %s, which it did not ask for:\n%s", field, raw)
				}
			}
			if stream {
				if strings.Contains(string(raw), `"usage"`) {
					t.Errorf("the agent got a usage chunk it did not ask for")
				}
				if len(evs) < 4 {
					t.Errorf("%d events: the stream was not passed chunk by chunk", len(evs))
				}
			}
			msgs = append(msgs, assistant(r1), map[string]any{"role": "tool", "tool_call_id": r1.Choices[0].Message.ToolCalls[0].ID, "content": "5"})
			r2, _, _ := agentCall(t, url, msgs, stream)
			if c := r2.Choices[0].Message.Content; c == nil || *c != "The sum is 5." {
				t.Fatalf("second reply %v", c)
			}
			// The agent rewrites its history (a compaction): a new branch.
			compact := []map[string]any{{"role": "system", "content": "You add."}, {"role": "user", "content": "Earlier: 2+3 was 5. Now 2+3 again?"}}
			agentCall(t, url, compact, stream)

			code, b := post(t, base+"/sessions/run-1/end", `{"reward": 1, "info": {"task": "add"}}`)
			if code != 200 {
				t.Fatalf("end: %d %s", code, b)
			}
			main, other := sink.next(t), sink.next(t)
			if main.ID != "run-1" || other.ID != "run-1/b1" {
				t.Fatalf("trajectory ids %q, %q", main.ID, other.ID)
			}
			if len(main.Turns) != 2 || len(other.Turns) != 1 {
				t.Fatalf("turns %d and %d, want 2 and 1", len(main.Turns), len(other.Turns))
			}
			for _, tr := range []*retrain.Trajectory{main, other} {
				if tr.Failed() || tr.StopReason != retrain.StopTerminated || tr.StepReward != 1 {
					t.Errorf("%s: error %q stop %q reward %v", tr.ID, tr.Error, tr.StopReason, tr.StepReward)
				}
				for i, tu := range tr.Turns {
					tok := tu.Action.Tokens
					if tok == nil || len(tok.IDs) == 0 || len(tok.IDs) != len(tok.Logprobs) || len(tu.PromptTokenIDs) == 0 {
						t.Errorf("%s turn %d: tokens %+v prompt ids %d: want ids and log-probs", tr.ID, i, tok, len(tu.PromptTokenIDs))
					}
					if tu.Sampling == nil || tu.Sampling.Temperature == nil || *tu.Sampling.Temperature != 0.7 || tu.Sampling.MaxTokens != 64 {
						t.Errorf("%s turn %d: sampling %+v", tr.ID, i, tu.Sampling)
					}
					if tu.Info["stream"] != stream {
						t.Errorf("turn info %v", tu.Info)
					}
				}
			}
			if pm := main.Turns[1].PrefixMatch; pm == nil || !*pm {
				t.Errorf("turn 2 prefix_match %v: the agent kept its history", pm)
			}
			if main.Turns[0].Action.Kind != retrain.ActionToolCall || main.Turns[0].Action.ToolCalls[0].Name != "add" {
				t.Errorf("turn 1 action %+v", main.Turns[0].Action)
			}
			if len(main.Messages) != 5 || main.Messages[4].Content != "The sum is 5." || main.Turns[1].PromptMessages != 4 {
				t.Errorf("messages %d (prompt of turn 2: %d)", len(main.Messages), main.Turns[1].PromptMessages)
			}
			if other.Turns[0].PrefixMatch != nil || other.ResetInfo["branch"] != 1 {
				t.Errorf("branch 1: prefix %v info %v", other.Turns[0].PrefixMatch, other.ResetInfo)
			}
			if info, _ := main.ResetInfo["info"].(map[string]any); info["task"] != "add" {
				t.Errorf("reset info %v", main.ResetInfo)
			}
			mu.Lock()
			if len(calls) != 3 || calls[2].Branch != 1 || calls[1].Turn != 2 {
				t.Errorf("OnCall got %+v", calls)
			}
			mu.Unlock()
			// The session is gone.
			if code, _ := post(t, base+"/sessions/run-1/end", ``); code != http.StatusNotFound {
				t.Errorf("second end: %d", code)
			}
		})
	}
}

// What the agent asks for itself it gets, exactly as the upstream sent it.
func TestAskedFieldsKept(t *testing.T) {
	up := openaitest.NewServer(nil)
	defer up.Close()
	sink := make(chanSink, 64)
	_, base := start(t, proxy.Options{Upstream: up.URL, Sink: sink})
	body := `{"model":"fake-model","messages":[{"role":"user","content":"hi"}],"logprobs":true,"return_token_ids":true}`
	code, b := post(t, base+"/v1/chat/completions", body, proxy.SessionHeader, "h-1")
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	_, direct := post(t, up.URL+"/chat/completions", body)
	var got, want map[string]any
	json.Unmarshal(b, &got)
	json.Unmarshal(direct, &want)
	delete(got, "created")
	delete(want, "created")
	delete(got, "id")
	delete(want, "id")
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("through the proxy:\n%s\ndirect:\n%s", mustJSON(t, got), mustJSON(t, want))
	}
	// stream with usage asked: the usage chunk arrives.
	code, b = post(t, base+"/v1/chat/completions", `{"model":"fake-model","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`, proxy.SessionHeader, "h-1")
	if evs := events(t, strings.NewReader(string(b))); code != 200 || mergeStream(t, evs).Usage == nil {
		t.Errorf("status %d, no usage in %s", code, b)
	}
	// No session named.
	code, b = post(t, base+"/v1/chat/completions", body)
	if code != 400 || !strings.Contains(string(b), proxy.SessionHeader) {
		t.Errorf("no session: %d %s", code, b)
	}
	code, b = post(t, base+"/sessions/bad%20id/v1/chat/completions", body)
	if code != 400 || !strings.Contains(string(b), "session id") {
		t.Errorf("bad id: %d %s", code, b)
	}
	resp, err := http.Get(base + "/sessions/h-1/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("models: %d", resp.StatusCode)
	}
	resp, err = http.Get(base + "/sessions/h-1")
	if err != nil {
		t.Fatal(err)
	}
	var st proxy.SessionState
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Calls != 2 || len(st.Turns) != 1 || st.Turns[0] != 1 {
		// the second call's prompt is the first's, not extended: a branch
		if len(st.Turns) != 2 {
			t.Errorf("state %+v", st)
		}
	}
}

// What goes upstream: the agent's fields as sent, plus log-probs, token
// ids and a stream's usage; the model replaced when Options.Model says so.
func TestUpstreamRequest(t *testing.T) {
	up := openaitest.NewServer(&openaitest.Options{Record: true, Models: []string{"served"}})
	defer up.Close()
	_, base := start(t, proxy.Options{Upstream: up.URL, Model: "served"})
	for _, body := range []string{
		`{"model":"gpt-x","messages":[{"role":"user","content":"hi"}],"top_k":5,"logprobs":false,"stream":true}`,
		`{"model":"gpt-x","messages":[{"role":"user","content":"hi"}],"top_k":5,"stream":true,"stream_options":{"include_usage":false,"continuous_usage_stats":true}}`,
		` { "top_k" : 5 , "messages" : [{"role":"user","content":"hi"}], "model" : "gpt-x" } `,
	} {
		if code, b := post(t, base+"/sessions/u/v1/chat/completions", body); code != 200 {
			t.Fatalf("%s: %d %s", body, code, b)
		}
	}
	for i, req := range up.Recorded() {
		extra, _ := req.Extra()
		if req.Model != "served" || !req.Logprobs || !req.ReturnTokenIDs || string(extra["top_k"]) != "5" || (req.Stream && !req.IncludeUsage()) {
			t.Errorf("request %d went upstream as %s", i, req.Raw)
		}
		if i == 1 && !strings.Contains(string(req.Raw), `"continuous_usage_stats":true`) {
			t.Errorf("the agent's other stream options were lost: %s", req.Raw)
		}
	}
}
