package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/proxy"
)

const hi = `{"model":"fake-model","messages":[{"role":"user","content":"hi"}]}`

// calls collects the calls the proxy recorded, on a channel.
type calls chan proxy.Call

func (c calls) on(_ string, x proxy.Call) { c <- x }

func (c calls) next(t *testing.T) proxy.Call {
	t.Helper()
	select {
	case x := <-c:
		return x
	case <-time.After(10 * time.Second):
		t.Fatal("no call was recorded")
		return proxy.Call{}
	}
}

// Each fault gives the agent an OpenAI-style error, a recorded failure with
// its cause, a failed trajectory, and the proxy keeps serving.
func TestFaults(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := "http://" + ln.Addr().String() + "/v1"
		ln.Close()
		return u
	}()
	for _, tt := range []struct {
		name      string
		fake      *openaitest.Options // nil: the upstream is down
		opts      proxy.Options
		body      string
		status    int
		cause     retrain.ErrorCause
		inMessage string
	}{
		{name: "upstream down", status: http.StatusBadGateway, cause: retrain.CauseModel, inMessage: "did not answer"},
		{name: "upstream slow", fake: &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.FailTimeout}}},
			opts: proxy.Options{CallTimeout: 200 * time.Millisecond}, status: http.StatusGatewayTimeout, cause: retrain.CauseTimeout, inMessage: "did not answer within"},
		{name: "upstream error", fake: &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.Fail503}}},
			status: http.StatusServiceUnavailable, cause: retrain.CauseModel, inMessage: "injected overload"},
		{name: "malformed reply", fake: &openaitest.Options{Failures: openaitest.FailurePlan{Schedule: []openaitest.Failure{openaitest.FailMalformed}}},
			status: http.StatusBadGateway, cause: retrain.CauseModel, inMessage: "not a chat completion"},
		{name: "huge prompt", fake: &openaitest.Options{MaxContext: 200},
			body:   `{"model":"fake-model","messages":[{"role":"user","content":"` + strings.Repeat("all work and no play ", 5000) + `"}]}`,
			status: http.StatusBadRequest, cause: retrain.CauseModel, inMessage: "maximum context length"},
		{name: "agent's bad request", fake: &openaitest.Options{}, body: `{"model":"fake-model","messages":"hi"}`,
			status: http.StatusBadRequest, cause: retrain.CauseEnvironment, inMessage: "invalid request body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up := closed
			if tt.fake != nil {
				f := openaitest.NewServer(tt.fake)
				defer f.Close()
				up = f.URL
			}
			sink, got := make(chanSink, 8), make(calls, 8)
			o := tt.opts
			o.Upstream, o.Sink, o.OnCall = up, sink, got.on
			_, base := start(t, o)
			body := tt.body
			if body == "" {
				body = hi
			}
			code, b := post(t, base+"/sessions/f/v1/chat/completions", body)
			var e struct {
				Error struct{ Message string } `json:"error"`
			}
			if code != tt.status || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error.Message, tt.inMessage) {
				t.Errorf("status %d body %.300s; want %d, an OpenAI error mentioning %q", code, b, tt.status, tt.inMessage)
			}
			c := got.next(t)
			if c.Failure == nil || c.Failure.Cause != tt.cause || c.Failure.Status != tt.status {
				t.Errorf("recorded %+v, want a failure of cause %s, status %d", c.Failure, tt.cause, tt.status)
			}
			// The proxy stays up: a second call goes through when the upstream is back.
			if tt.fake != nil && tt.name != "huge prompt" {
				if code, b := post(t, base+"/sessions/f/v1/chat/completions", hi); code != 200 {
					t.Errorf("the call after the fault: %d %s", code, b)
				}
				got.next(t)
			}
			if code, b := post(t, base+"/sessions/f/end", ``); code != 200 {
				t.Fatalf("end: %d %s", code, b)
			}
			tr := sink.next(t)
			if !tr.Failed() || tr.ErrorCause != tt.cause || !strings.Contains(tr.Error, tt.inMessage) {
				t.Errorf("trajectory error %q cause %q; want the failure recorded", tr.Error, tr.ErrorCause)
			}
		})
	}
}

// An agent that goes away mid-stream: the upstream call is canceled and
// the failure recorded.
func TestAgentDisconnectsMidStream(t *testing.T) {
	upstreamDone := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(upstreamDone)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"logprobs":null,"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a slow model: the rest never comes
	}))
	defer up.Close()
	sink, got := make(chanSink, 8), make(calls, 8)
	_, base := start(t, proxy.Options{Upstream: up.URL + "/v1", Sink: sink, OnCall: got.on})

	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sessions/d/v1/chat/completions",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"Hel"`) {
		t.Fatalf("first event %q, %v: the first chunk must arrive before the stream ends", line, err)
	}
	cancel()
	resp.Body.Close()
	c := got.next(t)
	if c.Failure == nil || c.Failure.Cause != retrain.CauseCanceled {
		t.Errorf("recorded %+v, want a canceled failure", c.Failure)
	}
	<-upstreamDone // the upstream call was canceled too
	if code, _ := post(t, base+"/sessions/d/end", ``); code != 200 {
		t.Errorf("end: %d", code)
	}
	if tr := sink.next(t); tr.ErrorCause != retrain.CauseCanceled {
		t.Errorf("trajectory cause %q", tr.ErrorCause)
	}
}

// A session never ended is written as truncated after the idle timeout;
// one still open at Close is written too.
func TestSessionNeverEnded(t *testing.T) {
	up := openaitest.NewServer(nil)
	defer up.Close()
	sink := make(chanSink, 8)
	p, base := start(t, proxy.Options{Upstream: up.URL, Sink: sink, IdleTimeout: 50 * time.Millisecond})
	if code, b := post(t, base+"/sessions/idle/v1/chat/completions", hi); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	tr := sink.next(t)
	if tr.ID != "idle" || tr.StopReason != retrain.StopTruncated || len(tr.Turns) != 1 || !tr.Turns[0].Truncated || tr.ResetInfo["truncated"] == nil {
		t.Errorf("idle session written as %s stop %q turns %d info %v", tr.ID, tr.StopReason, len(tr.Turns), tr.ResetInfo)
	}
	if p.Sessions() != 0 {
		t.Errorf("%d sessions open after the idle timeout", p.Sessions())
	}
}

func TestLimits(t *testing.T) {
	up := openaitest.NewServer(nil)
	defer up.Close()
	sink := make(chanSink, 8)
	p, base := start(t, proxy.Options{Upstream: up.URL, Sink: sink, MaxSessions: 1, MaxCalls: 1})
	if code, _ := post(t, base+"/sessions/a/v1/chat/completions", hi); code != 200 {
		t.Fatal(code)
	}
	if code, b := post(t, base+"/sessions/b/v1/chat/completions", hi); code != http.StatusServiceUnavailable || !strings.Contains(string(b), "sessions are open") {
		t.Errorf("a session past --max-sessions: %d %s", code, b)
	}
	if code, b := post(t, base+"/sessions/a/v1/chat/completions", hi); code != http.StatusTooManyRequests || !strings.Contains(string(b), "max-calls") {
		t.Errorf("a call past --max-calls: %d %s", code, b)
	}
	if _, err := proxy.New(&proxy.Options{Upstream: "file:///etc/passwd"}); err == nil {
		t.Error("a file: upstream was accepted")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if tr := sink.next(t); tr.StopReason != retrain.StopTruncated || tr.ResetInfo["truncated"] != "open when the proxy closed" {
		t.Errorf("session at close: %q %v", tr.StopReason, tr.ResetInfo)
	}
	if code, _ := post(t, base+"/sessions/c/v1/chat/completions", hi); code != http.StatusServiceUnavailable {
		t.Errorf("a call after Close: %d", code)
	}
}
