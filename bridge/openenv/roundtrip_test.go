package openenv_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/bridge/openenv"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/env/single"
	_ "github.com/retrain-rl/retrain/env/toolenv"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/server"
)

// serve starts retrain serve (the server package) on loopback with
// single_turn (reward 1 for the task's answer) and calculator.
func serve(t *testing.T, opts *server.Options) (*server.Server, string) {
	t.Helper()
	reg := env.NewRegistry()
	reg.MustRegister("single_turn", "one answer", func(json.RawMessage) (env.Factory, error) {
		return env.FactoryFunc(func() (retrain.Environment, error) {
			return single.New(&single.Options{Reward: func(task retrain.Task, a retrain.Action) float64 {
				if strings.TrimSpace(a.Text) == task.Answer {
					return 1
				}
				return 0
			}}), nil
		}), nil
	})
	reg.MustRegister("calculator", "calculator", func(raw json.RawMessage) (env.Factory, error) { return env.New("calculator", raw) })
	var o server.Options
	if opts != nil {
		o = *opts
	}
	o.Registry = reg
	srv, err := server.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.Close() })
	return srv, ts.URL
}

func bridgedFactory(t *testing.T, config string) env.Factory {
	t.Helper()
	f, err := env.New(openenv.Name, json.RawMessage(config))
	if err != nil {
		t.Fatalf("env.New: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A retrain environment served by retrain serve and driven through the
// bridge passes the conformance suite, over WebSocket and over HTTP.
func TestRoundTripConformance(t *testing.T) {
	_, url := serve(t, nil)
	for _, tc := range []struct{ name, config string }{
		{"SingleWebSocket", `{"url": "` + url + `/envs/single_turn"}`},
		{"SingleHTTP", `{"url": "` + url + `/envs/single_turn", "transport": "http"}`},
		{"CalculatorWebSocket", `{"url": "` + url + `/envs/calculator"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := bridgedFactory(t, tc.config)
			envtest.RunFactory(t, f, &envtest.Options{
				Task: retrain.Task{ID: "t", Prompt: "What is 2 + 2?", Answer: "4"},
				Actions: func(obs retrain.Observation) retrain.Action {
					return text("<answer>4</answer>")
				},
			})
		})
	}
}

// An episode through the bridge equals the episode run directly.
func TestRoundTripRollout(t *testing.T) {
	model := openaitest.NewServer(&openaitest.Options{Responder: openaitest.ArithmeticResponder})
	t.Cleanup(model.Close)
	m, err := openai.New(&openai.Options{BaseURL: model.URL, Model: openaitest.DefaultModel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.CloseIdleConnections)
	_, url := serve(t, nil)
	task := retrain.Task{ID: "q", Prompt: "What is 37 * 12 + 5?", Answer: "449"}

	run := func(f env.Factory) *retrain.Trajectory {
		e, err := f.NewEnv()
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if err := e.Setup(t.Context()); err != nil {
			t.Fatal(err)
		}
		o := &rollout.Options{Task: task, Seed: retrain.Seed(1)}
		o.Sampling.Seed = retrain.Seed(2) // else each run draws its own, recorded in the turns
		tr, err := rollout.Run(t.Context(), e, m, o)
		if err != nil {
			t.Fatalf("rollout: %v", err)
		}
		return tr
	}
	direct, err := env.New("calculator", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	want := run(direct)
	got := run(bridgedFactory(t, `{"url": "`+url+`/envs/calculator"}`))

	if got.StopReason != "terminated" || len(got.Turns) != 2 || !strings.Contains(got.Messages[len(got.Messages)-1].Content, "449") {
		t.Fatalf("bridged episode: stop %s, %d turns, last message %+v", got.StopReason, len(got.Turns), got.Messages[len(got.Messages)-1])
	}
	if diff := cmp.Diff(want.Messages, got.Messages); diff != "" {
		t.Errorf("conversation differs from the direct episode (-direct +bridged):\n%s", diff)
	}
	ignore := cmpopts.IgnoreFields(retrain.Turn{}, "Info", "ModelSeconds", "EnvSeconds")
	if diff := cmp.Diff(want.Turns, got.Turns, ignore, cmpopts.IgnoreFields(retrain.Action{}, "Kind", "ToolCalls", "Text")); diff != "" {
		t.Errorf("turns differ (-direct +bridged):\n%s", diff)
	}
	if got.Turns[0].Info["tool_seconds"] == nil {
		t.Errorf("the served step's info was not kept: %v", got.Turns[0].Info)
	}
}

// proxy is a TCP proxy whose connections can be cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: strings.TrimPrefix(target, "http://")}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(s, c); s.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, s); c.Close() }()
	}
}

// cut closes every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A dropped connection to retrain serve is reconnected and the session
// resumed: the episode goes on where it was.
func TestRoundTripResume(t *testing.T) {
	srv, url := serve(t, nil)
	p := newProxy(t, url)
	f := bridgedFactory(t, `{"url": "`+p.url()+`/envs/calculator"}`)
	e, _ := f.NewEnv()
	defer e.Close()
	if err := e.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "What is 6 * 7?", Answer: "42"}}); err != nil {
		t.Fatal(err)
	}
	p.cut()
	st, err := e.Step(t.Context(), text(`<tool>{"name": "calculator", "args": {"expression": "6*7"}}</tool>`))
	if err != nil {
		t.Fatalf("Step after the connection was cut: %v", err)
	}
	if len(st.Observation.ToolResults) != 1 || st.Observation.ToolResults[0].Output != "42" {
		t.Fatalf("tool result %+v, want 42 (the session's episode went on)", st.Observation.ToolResults)
	}
	p.cut()
	st, err = e.Step(t.Context(), text(`<answer>42</answer>`))
	if err != nil || !st.Terminated {
		t.Fatalf("final step: %+v %v", st, err)
	}
	_, _, body := getMetrics(t, url)
	if !strings.Contains(body, "retrain_serve_sessions_resumed_total 2\n") {
		t.Errorf("metrics do not show two resumptions:\n%s", body)
	}
	if srv.SessionsOpen() != 1 {
		t.Errorf("%d sessions open, want 1", srv.SessionsOpen())
	}
}

func getMetrics(t *testing.T, url string) (int, http.Header, string) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRoundTripTokenAndCapacity(t *testing.T) {
	_, url := serve(t, &server.Options{Token: "tok", MaxSessions: 1})
	f := bridgedFactory(t, `{"url": "`+url+`"}`)
	e, _ := f.NewEnv()
	defer e.Close()
	if err := e.Setup(t.Context()); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("Setup without the token: %v, want an error about the token", err)
	}
	f = bridgedFactory(t, `{"url": "`+url+`", "token": "tok"}`)
	e1, _ := f.NewEnv()
	defer e1.Close()
	if err := e1.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e1.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "x"}}); err != nil {
		t.Fatal(err)
	}
	e2, _ := f.NewEnv()
	defer e2.Close()
	e2.Setup(t.Context())
	_, _, err := e2.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "x"}})
	if !errors.Is(err, openenv.ErrCapacity) || !strings.Contains(err.Error(), "--max-sessions") {
		t.Errorf("second session: %v, want ErrCapacity", err)
	}
}
