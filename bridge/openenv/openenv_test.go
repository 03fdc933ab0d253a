package openenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/bridge/openenv"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bridged makes a set-up environment of the registered bridge with config.
func bridged(t *testing.T, config string) retrain.Environment {
	t.Helper()
	f, err := env.New(openenv.Name, json.RawMessage(config))
	if err != nil {
		t.Fatalf("env.New: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	e, err := f.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.Setup(t.Context()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return e
}

func text(s string) retrain.Action { return retrain.Action{Kind: retrain.ActionText, Text: s, Raw: s} }

func TestEchoEpisode(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	e := bridged(t, `{"url": "`+url+`", "observation_field": "echoed_message"}`)

	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(3), Task: retrain.Task{ID: "t1", Prompt: "say hi"}})
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if obs.Kind != retrain.ObsInitial || !obs.RequiresAction || len(obs.Messages) != 1 || obs.Messages[0].Role != retrain.RoleUser {
		t.Errorf("initial observation = %+v, want one user message requiring action (no system prompt: the model writes text)", obs)
	}

	for i, out := range []string{"I will say <answer>hello</answer>", "plain", "<answer>bye</answer>"} {
		st, err := e.Step(t.Context(), text(out))
		if err != nil {
			t.Fatalf("Step %d: %v", i+1, err)
		}
		want := map[int]string{0: "hello", 1: "plain", 2: "bye"}[i]
		if st.Observation.Content != want {
			t.Errorf("step %d: observation %q, want the echo %q", i+1, st.Observation.Content, want)
		}
		if st.Reward != float64(len(want))*0.1 {
			t.Errorf("step %d: reward %v", i+1, st.Reward)
		}
		if st.Info["step"] != float64(i+1) {
			t.Errorf("step %d: info %v, want the metadata's step", i+1, st.Info)
		}
		if string(st.Info["action"].(json.RawMessage)) != `{"message":"`+want+`"}` {
			t.Errorf("step %d: sent %s", i+1, st.Info["action"])
		}
		if st.Terminated != (i == 2) || st.Observation.RequiresAction == (i == 2) {
			t.Errorf("step %d: terminated %v requires_action %v", i+1, st.Terminated, st.Observation.RequiresAction)
		}
		if n := len(st.Observation.Messages); n != 1+2*(i+1) {
			t.Errorf("step %d: %d messages, want %d", i+1, n, 1+2*(i+1))
		}
	}
	if _, err := e.Step(t.Context(), text("more")); !errors.Is(err, retrain.ErrEpisodeDone) {
		t.Errorf("Step after done: %v", err)
	}
}

func TestObservationRendering(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	e := bridged(t, `{"url": "`+url+`"}`)
	obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	// No text field: the whole observation as indented JSON.
	if !strings.Contains(obs.Content, "\"echoed_message\": \"\"") || !strings.Contains(obs.Content, "\"prompt\": \"p\"") {
		t.Errorf("observation rendered as %q, want indented JSON with the task", obs.Content)
	}
}

func TestInvalidActions(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)

	t.Run("TextField", func(t *testing.T) {
		e := bridged(t, `{"url": "`+url+`", "invalid_action_penalty": -0.5}`)
		if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
			t.Fatal(err)
		}
		before := fake.stepsN.Load()
		// An empty answer violates the schema (minLength 1): caught before sending.
		st, err := e.Step(t.Context(), text("<answer>  </answer>"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Reward != -0.5 || st.Done() || !st.Observation.RequiresAction || !strings.Contains(st.Observation.Content, "at /message") {
			t.Errorf("invalid step = reward %v done %v obs %q", st.Reward, st.Done(), st.Observation.Content)
		}
		if fake.stepsN.Load() != before {
			t.Error("an invalid action reached the server")
		}
		// The server's own rejection is the model's mistake too.
		st, err = e.Step(t.Context(), text("reject"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Reward != -0.5 || !strings.Contains(st.Observation.Content, "reject is not allowed") {
			t.Errorf("rejected step = reward %v obs %q", st.Reward, st.Observation.Content)
		}
		// The episode goes on.
		if st, err = e.Step(t.Context(), text("ok")); err != nil || st.Reward != 0.2 {
			t.Errorf("valid step after invalid ones: %v %v", st.Reward, err)
		}
	})

	t.Run("JSONObject", func(t *testing.T) {
		e := bridged(t, `{"url": "`+url+`", "action_field": "none"}`)
		obs, _, err := e.Reset(t.Context(), retrain.ResetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if obs.Messages[0].Role != retrain.RoleSystem || !strings.Contains(obs.Messages[0].Content, `"EchoAction"`) {
			t.Errorf("the default system prompt should show the action schema: %+v", obs.Messages[0])
		}
		for _, tc := range []struct{ out, want string }{
			{`{"message": "hi"} without tags`, "no action found"},
			{`<answer>not json</answer>`, "not a JSON object"},
			{`<answer>{"msg": "hi"}</answer>`, "unknown property (allowed: message, metadata)"},
			{`<answer>{"message": 5}</answer>`, "expected string, got number"},
		} {
			st, err := e.Step(t.Context(), text(tc.out))
			if err != nil {
				t.Fatal(err)
			}
			if st.Reward != openenv.DefaultInvalidActionPenalty || !strings.Contains(st.Observation.Content, tc.want) {
				t.Errorf("%s: reward %v feedback %q, want %q", tc.out, st.Reward, st.Observation.Content, tc.want)
			}
		}
		st, err := e.Step(t.Context(), text("<answer>\n```json\n{\"message\": \"hey\"}\n```\n</answer>"))
		if err != nil || st.Reward != 0.30000000000000004 {
			t.Errorf("a fenced JSON answer: reward %v err %v", st.Reward, err)
		}
	})
}

func TestCapacityError(t *testing.T) {
	fake := &fakeOpenEnv{maxSessions: 1}
	url := startFake(t, fake)
	e1 := bridged(t, `{"url": "`+url+`"}`)
	if _, _, err := e1.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	e2 := bridged(t, `{"url": "`+url+`"}`)
	_, _, err := e2.Reset(t.Context(), retrain.ResetOptions{})
	if !errors.Is(err, openenv.ErrCapacity) {
		t.Fatalf("Reset on a full server: %v, want ErrCapacity", err)
	}
	for _, want := range []string{"1 of 1 sessions", "max_concurrent_envs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// Once a session closes, the next Reset gets one.
	e1.Close()
	fake.waitSessions(t, 0)
	if _, _, err := e2.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Errorf("Reset after a session freed: %v", err)
	}
}

func TestDropWithoutResume(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	e := bridged(t, `{"url": "`+url+`"}`)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Step(t.Context(), text("drop"))
	if !errors.Is(err, openenv.ErrConnectionLost) || !strings.Contains(err.Error(), "cannot be resumed") {
		t.Fatalf("Step on a dropped connection: %v, want ErrConnectionLost saying it cannot be resumed", err)
	}
	if _, err := e.Step(t.Context(), text("x")); err == nil || !strings.Contains(err.Error(), "Reset") {
		t.Errorf("Step after a lost step: %v, want an error asking for Reset", err)
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Errorf("Reset after a lost connection: %v", err)
	}
	if _, err := e.Step(t.Context(), text("fine")); err != nil {
		t.Errorf("Step in the new session: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	e := bridged(t, `{"url": "`+url+`", "timeout": 0.1}`)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err := e.Step(t.Context(), text("hang"))
	if err == nil || !strings.Contains(err.Error(), "no reply within 100ms") {
		t.Errorf("Step with no reply: %v", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("the timeout took %v", d)
	}
}

func TestCanceledMidStep(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	e := bridged(t, `{"url": "`+url+`"}`)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.Step(ctx, text("hang")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Step canceled mid-flight: %v, want DeadlineExceeded", err)
	}
	if _, err := e.Step(t.Context(), text("x")); err == nil || !strings.Contains(err.Error(), "Reset to start a new episode") {
		t.Errorf("Step after an interrupted one: %v", err)
	}
	// The session could not be resumed (OpenEnv): Reset opens a new one.
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatalf("Reset after an interrupted step: %v", err)
	}
	if _, err := e.Step(t.Context(), text("x")); err != nil {
		t.Errorf("Step in the new session: %v", err)
	}
}

func TestConformanceFake(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	f, err := env.New(openenv.Name, json.RawMessage(`{"url": "`+url+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	envtest.RunFactory(t, f, &envtest.Options{
		Task:    retrain.Task{ID: "t", Prompt: "echo"},
		Actions: func(retrain.Observation) retrain.Action { return text("<answer>hi</answer>") },
	})
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`{}`, `"url" is required`},
		{`{"url": "ftp://x"}`, "not http, https, ws or wss"},
		{`{"url": "http://x", "transport": "pigeon"}`, "transport"},
		{`{"url": "http://x", "timeout": "soon"}`, "invalid duration"},
		{`{"uri": "http://x"}`, `unknown config key "uri"`},
	} {
		if _, err := env.New(openenv.Name, json.RawMessage(tc.config)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %s: %v, want %q", tc.config, err, tc.want)
		}
	}
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	_, e := envtest.Registered(t, openenv.Name, json.RawMessage(`{"url": "`+url+`", "action_field": "msg"}`))
	if err := e.Setup(t.Context()); err == nil || !strings.Contains(err.Error(), "properties: message, metadata") {
		t.Errorf("Setup with a wrong action_field: %v", err)
	}
}

func TestClient(t *testing.T) {
	fake := &fakeOpenEnv{}
	url := startFake(t, fake)
	c, err := openenv.NewClient(url+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	if err := c.Health(t.Context()); err != nil {
		t.Errorf("Health: %v", err)
	}
	md, err := c.Metadata(t.Context())
	if err != nil || md.Name != "EchoEnvironment" {
		t.Errorf("Metadata: %+v %v", md, err)
	}
	s, err := c.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ID() != "" {
		t.Errorf("OpenEnv gives no session id; got %q", s.ID())
	}
	if _, err := s.Reset(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.Step(t.Context(), json.RawMessage(`{"message": "abcd"}`))
	if err != nil || string(res.Observation) != `{"echoed_message":"abcd","message_length":4}` || *res.Reward != 0.4 {
		t.Errorf("Step: %s %v", res.Observation, err)
	}
	st, err := s.State(t.Context())
	if err != nil || st["step_count"] != 1.0 {
		t.Errorf("State: %v %v", st, err)
	}
}
