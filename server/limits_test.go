package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// chatEnv keeps the conversation, as chat environments do: every
// observation carries all the messages so far, so it grows with each
// step. closed counts the environments closed.
type chatEnv struct {
	msgs   []retrain.Message
	closed *atomic.Int32
}

func (c *chatEnv) Setup(context.Context) error { return nil }

func (c *chatEnv) Reset(_ context.Context, o retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	c.msgs = []retrain.Message{{Role: retrain.RoleUser, Content: o.Task.Prompt}}
	return retrain.Observation{Kind: retrain.ObsInitial, Messages: c.msgs, RequiresAction: true}, retrain.Info{}, nil
}

func (c *chatEnv) Step(_ context.Context, a retrain.Action) (retrain.Step, error) {
	c.msgs = append(c.msgs, retrain.Message{Role: retrain.RoleAssistant, Content: a.Text}, retrain.Message{Role: retrain.RoleUser, Content: "go on"})
	return retrain.Step{Observation: retrain.Observation{Kind: retrain.ObsEnvironmentState, Messages: c.msgs, RequiresAction: true}, Reward: 1, Info: retrain.Info{"turns": len(c.msgs) / 2}}, nil
}

func (c *chatEnv) Close() error { c.closed.Add(1); c.msgs = nil; return nil }

// closeCounter counts its Close calls.
type closeCounter struct {
	env.Factory
	closed *atomic.Int32
}

func (f closeCounter) Close() error { f.closed.Add(1); return f.Factory.Close() }

// chatRegistry is testRegistry with "chat" (a chatEnv) added; closed
// counts its closed environments, and the closed factories of its chat
// factories.
func chatRegistry(closed *atomic.Int32) *env.Registry {
	reg := testRegistry()
	reg.MustRegister("chat", "keeps the conversation", func(json.RawMessage) (env.Factory, error) {
		return closeCounter{env.FactoryFunc(func() (retrain.Environment, error) { return &chatEnv{closed: closed}, nil }), closed}, nil
	})
	return reg
}

func decodeResult(t *testing.T, body string) wire.Result {
	t.Helper()
	var r wire.Result
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("reply %.200s: %v", body, err)
	}
	return r
}

func TestSessionConversationLimit(t *testing.T) {
	var closed atomic.Int32
	const limit = 64 << 10
	_, url := start(t, &Options{Registry: chatRegistry(&closed), MaxSessionBytes: limit})
	status, h, body := httpDo(t, "POST", url+"/envs/chat/sessions", "{}", nil)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	base := url + "/envs/chat/sessions/" + h.Get(wire.HeaderSessionID)
	if status, _, body := httpDo(t, "POST", base+"/reset", `{"prompt":"talk"}`, nil); status != 200 {
		t.Fatalf("reset: %d %s", status, body)
	}
	step := fmt.Sprintf(`{"action":{"kind":"text","text":%q}}`, strings.Repeat("x", 10<<10))
	var last wire.Result
	for i := 0; ; i++ {
		if i > limit/(10<<10)+1 {
			t.Fatalf("%d steps of 10 KiB, and the episode is not truncated at the %d-byte limit", i, limit)
		}
		status, _, body := httpDo(t, "POST", base+"/step", step, nil)
		if status != 200 {
			t.Fatalf("step %d: %d %.300s (want 200: a truncated episode is not an error)", i, status, body)
		}
		if last = decodeResult(t, body); last.Done {
			if len(body) > 4<<10 {
				t.Errorf("the truncating reply is %d bytes; it should not carry the conversation", len(body))
			}
			break
		}
	}
	reason, _ := last.Metadata[InfoTruncatedReason].(string)
	if last.Truncated == nil || !*last.Truncated || !strings.Contains(reason, "--max-session-bytes") {
		t.Fatalf("truncated %v, reason %q; want truncated with a reason naming --max-session-bytes", last.Truncated, reason)
	}
	if !strings.Contains(string(last.Observation), "max-session-bytes") {
		t.Errorf("observation %s does not say why the episode ended", last.Observation)
	}
	if n := closed.Load(); n != 1 {
		t.Errorf("%d environments closed after the truncation, want 1 (its memory released)", n)
	}
	if status, _, body := httpDo(t, "POST", base+"/step", step, nil); status != http.StatusConflict || !strings.Contains(body, "reset") {
		t.Errorf("step after truncation: %d %s; want 409 asking for a reset", status, body)
	}
	// A reset opens a new environment; the session goes on.
	if status, _, body := httpDo(t, "POST", base+"/reset", `{"prompt":"again"}`, nil); status != 200 {
		t.Fatalf("reset after truncation: %d %s", status, body)
	}
	status, _, body = httpDo(t, "POST", base+"/step", `{"action":{"raw":"hi"}}`, nil)
	if r := decodeResult(t, body); status != 200 || r.Done {
		t.Errorf("step after a new reset: %d %s", status, body)
	}
}

func TestSessionLimitOnReset(t *testing.T) {
	var closed atomic.Int32
	_, url := start(t, &Options{Registry: chatRegistry(&closed), MaxSessionBytes: 1 << 10})
	status, _, body := httpDo(t, "POST", url+"/envs/chat/reset", fmt.Sprintf(`{"prompt":%q}`, strings.Repeat("p", 2<<10)), nil)
	r := decodeResult(t, body)
	if status != 200 || !r.Done || r.Truncated == nil || !*r.Truncated || r.Metadata[InfoTruncatedReason] == nil {
		t.Errorf("reset with a prompt over the limit: %d %.300s; want a truncated episode", status, body)
	}
}

func TestActionLimit(t *testing.T) {
	_, url := start(t, &Options{MaxActionBytes: 1 << 10, DefaultEnv: "counter"})
	httpDo(t, "POST", url+"/reset", `{}`, nil)
	big := fmt.Sprintf(`{"action":{"raw":%q}}`, strings.Repeat("a", 2<<10))
	status, _, body := httpDo(t, "POST", url+"/step", big, nil)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "--max-action-bytes") {
		t.Errorf("a 2 KiB action with a 1 KiB limit: %d %s; want 413 naming --max-action-bytes", status, body)
	}
	if status, _, body := httpDo(t, "POST", url+"/step", `{"action":{"raw":"ok"}}`, nil); status != 200 {
		t.Errorf("a small action after a refused one: %d %s", status, body)
	}
}

// TestTimeoutRange: timeout_s is checked the same way over HTTP and
// WebSocket: out of [1 ms, step timeout] is 400 with the allowed range.
func TestTimeoutRange(t *testing.T) {
	_, url := start(t, &Options{DefaultEnv: "counter"})
	for _, v := range []string{"1e300", "1e-300", "-1", "0.0000001", "301", "1e400"} {
		for _, route := range []struct{ path, body string }{
			{"/reset", `{"timeout_s": ` + v + `}`},
			{"/step", `{"action": {"raw": "x"}, "timeout_s": ` + v + `}`},
		} {
			status, _, body := httpDo(t, "POST", url+route.path, route.body, nil)
			if status != http.StatusBadRequest || !strings.Contains(body, "timeout_s is") || !strings.Contains(body, "allowed range is [0.001, 300]") {
				t.Errorf("%s with timeout_s %s: %d %s; want 400 with the allowed range", route.path, v, status, body)
			}
		}
	}
	if status, _, body := httpDo(t, "POST", url+"/reset", `{"timeout_s": 2.5}`, nil); status != 200 {
		t.Errorf("timeout_s 2.5: %d %s", status, body)
	}

	c := dial(t, url+"/ws", nil)
	c.call("reset", map[string]any{}, "r")
	c.send(wire.Frame{Type: "step", Data: json.RawMessage(`{"raw":"x"}`), RequestID: "s", TimeoutS: 1e300})
	if e := errData(t, c.recv()); e.Code != wire.CodeValidationError || !strings.Contains(e.Message, "allowed range") {
		t.Errorf("WebSocket step with timeout_s 1e300: %+v", e)
	}
	// 1e400 does not fit a float64: wire.Frame cannot carry it, so the frame is written raw.
	if err := c.c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"step","data":{"raw":"x"},"timeout_s":1e400}`)); err != nil {
		t.Fatal(err)
	}
	if e := errData(t, c.recv()); e.Code != wire.CodeValidationError || !strings.Contains(e.Message, "timeout_s is number 1e400; the allowed range") {
		t.Errorf("WebSocket step with timeout_s 1e400: %+v", e)
	}
}

// TestRolloutNumbers: the numbers of a /v1/rollouts job that drive work
// are bounded, tasks × n by --max-episodes-per-request, and refused with
// 400 naming the allowed range before any model is asked.
func TestRolloutNumbers(t *testing.T) {
	var asked atomic.Int32
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "not expected", http.StatusInternalServerError)
	}))
	t.Cleanup(model.Close)
	_, url := start(t, &Options{MaxEpisodesPerRequest: 1000})
	refused := &http.Client{Timeout: 10 * time.Second} // a job that runs fails the test, not hangs it
	t.Cleanup(refused.CloseIdleConnections)
	job := func(extra string) string {
		return `{"env": "single_turn", "model": {"base_url": "` + model.URL + `/v1", "model": "m"}` + extra + `}`
	}
	tasks := func(n int) string {
		ts := make([]string, n)
		for i := range ts {
			ts[i] = fmt.Sprintf(`{"prompt": "q%d"}`, i)
		}
		return `, "tasks": [` + strings.Join(ts, ",") + `]`
	}
	for _, c := range []struct{ name, body, want string }{
		{"huge n", job(tasks(1) + `, "n": 9000000000000000000`), "n is 9000000000000000000; the allowed range is [0, 1000]"},
		{"tasks × n", job(tasks(11) + `, "n": 100`), "tasks × n is 11 × 100; the allowed range is [1, 1000] episodes"},
		{"generate", job(`, "generate": 5000`), "generate is 5000; the allowed range is [0, 1000]"},
		{"generate × n", job(`, "generate": 500, "n": 3`), "tasks × n is 500 × 3"},
		{"temperature", job(tasks(1) + `, "sampling": {"temperature": 1e308}`), "sampling.temperature is 1e+308; the allowed range is [0, 2]"},
		{"top_p", job(tasks(1) + `, "sampling": {"top_p": 0}`), "sampling.top_p is 0; the allowed range is (0, 1]"},
		{"max_tokens", job(tasks(1) + `, "sampling": {"max_tokens": 100000000}`), "sampling.max_tokens is 100000000; the allowed range is [0, 1048576]"},
		{"max_turns", job(tasks(1) + `, "max_turns": 1000000000`), "max_turns is 1000000000; the allowed range is [0, 1024]"},
		{"concurrency", job(tasks(1) + `, "concurrency": 100000`), "concurrency is 100000; the allowed range is [0, 1024]"},
		{"retries", job(tasks(1) + `, "retries": 1000`), "retries is 1000; the allowed range is [0, 10]"},
		{"timeout", job(tasks(1) + `, "timeout": "1000h"`), "timeout is 3600000; the allowed range is [0, 86400]"},
		{"n overflows", job(tasks(1) + `, "n": 1e30`), "n is number 1e30; the allowed range is integers in [0, 1000]"},
		{"max_tokens overflows", job(tasks(1) + `, "sampling": {"max_tokens": 1e30}`), "sampling.max_tokens is number 1e30; the allowed range is integers in [0, 1048576]"},
	} {
		status, body := 0, ""
		resp, err := refused.Post(url+"/v1/rollouts", "application/json", strings.NewReader(c.body))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		} else {
			body = err.Error()
		}
		if status != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s; want 400 with %q", c.name, status, body, c.want)
		}
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the model was asked %d times for refused jobs", n)
	}
}

// TestRolloutCanceledOnDisconnect: a client that goes away cancels its
// rollout: the model's requests are canceled, no new one is sent, and the
// runner's goroutines end (goleak checks in TestMain).
func TestRolloutCanceledOnDisconnect(t *testing.T) {
	var requests, inFlight atomic.Int32
	arrived := make(chan struct{}, 64)
	stop := make(chan struct{})
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		io.Copy(io.Discard, r.Body) // then the server sees the client go away
		requests.Add(1)
		inFlight.Add(1)
		defer inFlight.Add(-1)
		arrived <- struct{}{}
		select { // a slow model: answers nothing until canceled
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(model.Close)
	t.Cleanup(func() { close(stop) }) // runs first: a failed test does not hang in model.Close
	var closed atomic.Int32           // environments and factories of "chat"
	srv, url := start(t, &Options{Registry: chatRegistry(&closed), ModelURLs: []string{model.URL + "/v1"}})

	const concurrency = 3
	body := `{"env": "chat", "generate": 50, "n": 4, "concurrency": 3, "model": {"base_url": "` + model.URL + `/v1", "model": "m"}}`
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/rollouts", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = resp.Body.Read(make([]byte, 1<<10))
			resp.Body.Close()
		}
		done <- err
	}()
	for range concurrency {
		select {
		case <-arrived:
		case err := <-done:
			t.Fatalf("the rollout ended before the model got %d requests: %v", concurrency, err)
		}
	}
	cancel()
	<-done
	waitFor(t, "the rollout to end after the client went away", func() bool { return srv.metrics.rolloutsActive.Load() == 0 })
	waitFor(t, "the model's requests to be canceled", func() bool { return inFlight.Load() == 0 })
	if n := requests.Load(); n != concurrency {
		t.Errorf("the model got %d requests, want %d: requests were sent after the client went away", n, concurrency)
	}
	if n := closed.Load(); n != concurrency+1 {
		t.Errorf("%d environments and factories closed, want %d (one environment per worker, and the job's factory)", n, concurrency+1)
	}
}
