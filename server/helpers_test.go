package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/single"
	_ "github.com/retrain-rl/retrain/env/toolenv"
	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testRegistry serves single_turn (reward 1 for the task's answer),
// counter (three steps, info kept) and calculator.
func testRegistry() *env.Registry {
	reg := env.NewRegistry()
	reg.MustRegister("single_turn", "one answer", func(raw json.RawMessage) (env.Factory, error) {
		var c single.Config
		if err := env.DecodeConfig(raw, &c); err != nil {
			return nil, err
		}
		return env.FactoryFunc(func() (retrain.Environment, error) {
			return single.New(&single.Options{SystemPrompt: c.SystemPrompt, Reward: func(t retrain.Task, a retrain.Action) float64 {
				if strings.TrimSpace(a.Text) == t.Answer {
					return 1
				}
				return 0
			}}), nil
		}), nil
	})
	reg.MustRegisterSpec(env.NewSpec("counter", "counts to three", func() counterConfig { return counterConfig{Steps: 3} },
		func(c counterConfig) (env.Factory, error) {
			if c.Steps == 0 {
				c.Steps = 3
			}
			return env.FactoryFunc(func() (retrain.Environment, error) { return &counter{limit: c.Steps}, nil }), nil
		}))
	reg.MustRegister("calculator", "calculator tool", func(raw json.RawMessage) (env.Factory, error) {
		return env.New("calculator", raw)
	})
	return reg
}

// counterConfig is the config of the "counter" environment.
type counterConfig struct {
	Steps int `json:"steps" doc:"the episode's length" access:"client"`
}

// counter is a multi-step environment: each step adds the action's text
// length to a count; the episode ends after limit steps. Its infos carry
// the count, and a step with text "slow" waits for its context.
type counter struct {
	limit, steps, count int
	reset, closed       bool
}

func (c *counter) Setup(context.Context) error { return nil }

func (c *counter) Reset(ctx context.Context, o retrain.ResetOptions) (retrain.Observation, retrain.Info, error) {
	if c.closed {
		return retrain.Observation{}, nil, retrain.ErrClosed
	}
	c.steps, c.count, c.reset = 0, 0, true
	return retrain.Observation{Kind: retrain.ObsInitial, Content: "count: " + o.Task.Prompt, RequiresAction: true}, retrain.Info{"seed": o.Seed}, nil
}

func (c *counter) Step(ctx context.Context, a retrain.Action) (retrain.Step, error) {
	switch {
	case c.closed:
		return retrain.Step{}, retrain.ErrClosed
	case !c.reset:
		return retrain.Step{}, retrain.ErrNotReset
	case c.steps >= c.limit:
		return retrain.Step{}, retrain.ErrEpisodeDone
	}
	if a.Text == "slow" {
		<-ctx.Done()
		return retrain.Step{}, ctx.Err()
	}
	c.steps++
	c.count += len(a.Text)
	done := c.steps >= c.limit
	return retrain.Step{
		Observation: retrain.Observation{Kind: retrain.ObsEnvironmentState, Content: fmt.Sprintf("count %d", c.count), RequiresAction: !done},
		Reward:      float64(len(a.Text)),
		Terminated:  done,
		Info:        retrain.Info{"count": c.count, "step": c.steps},
	}, nil
}

func (c *counter) Render() (string, error) { return fmt.Sprintf("count=%d", c.count), nil }

func (c *counter) Close() error { c.closed = true; return nil }

// start serves a Server made with opts (Registry defaulting to
// testRegistry) on loopback and returns it with its base URL.
func start(t testing.TB, opts *Options) (*Server, string) {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Registry == nil {
		o.Registry = testRegistry()
	}
	srv, err := New(&o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, ts.URL
}

// client is a raw WebSocket client for tests.
type client struct {
	t    testing.TB
	c    *websocket.Conn
	resp *http.Response
}

func dial(t testing.TB, url string, header http.Header) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(64 << 20)
	cl := &client{t: t, c: c, resp: resp}
	t.Cleanup(func() { c.CloseNow() })
	return cl
}

func (c *client) session() string { return c.resp.Header.Get(wire.HeaderSessionID) }

func (c *client) send(f wire.Frame) {
	c.t.Helper()
	b, _ := json.Marshal(f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) recv() wire.Frame {
	c.t.Helper()
	f, err := c.tryRecv()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *client) tryRecv() (wire.Frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.c.Read(ctx)
	if err != nil {
		return wire.Frame{}, err
	}
	var f wire.Frame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("reply is not a frame: %s", b)
	}
	return f, nil
}

// call sends a frame and returns the reply.
func (c *client) call(typ string, data any, requestID string) wire.Frame {
	c.t.Helper()
	f := wire.Frame{Type: typ, RequestID: requestID}
	if data != nil {
		b, _ := json.Marshal(data)
		f.Data = b
	}
	c.send(f)
	return c.recv()
}

func result(t testing.TB, f wire.Frame) wire.Result {
	t.Helper()
	if f.Type != wire.TypeObservation {
		t.Fatalf("reply type %q, want observation; data %s", f.Type, f.Data)
	}
	var r wire.Result
	if err := json.Unmarshal(f.Data, &r); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	return r
}

func errData(t testing.TB, f wire.Frame) wire.ErrorData {
	t.Helper()
	if f.Type != wire.TypeError {
		t.Fatalf("reply type %q, want error; data %s", f.Type, f.Data)
	}
	var e wire.ErrorData
	if err := json.Unmarshal(f.Data, &e); err != nil {
		t.Fatalf("decode error: %v", err)
	}
	return e
}

// httpDo sends a request and returns the status, headers and body.
func httpDo(t testing.TB, method, url string, body string, header http.Header) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json") // as OpenEnv's clients send it
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
