package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/config"
	wire "github.com/retrain-rl/retrain/internal/openenvwire"
	"github.com/retrain-rl/retrain/tool"
)

func TestWebSocketEpisode(t *testing.T) {
	_, url := start(t, nil)
	c := dial(t, url+"/ws", nil)
	if c.session() == "" {
		t.Fatalf("the upgrade reply has no %s header", wire.HeaderSessionID)
	}

	f := c.call(wire.TypeReset, map[string]any{"seed": 7, "episode_id": "ep-1", "task": retrain.Task{Prompt: "2+2?", Answer: "4"}}, "r1")
	if f.RequestID != "r1" || f.SessionID != c.session() {
		t.Errorf("reset reply ids = (%q, %q), want (r1, %q)", f.RequestID, f.SessionID, c.session())
	}
	res := result(t, f)
	if res.Done || res.Reward != nil {
		t.Errorf("reset: done %v reward %v, want false and null", res.Done, res.Reward)
	}
	var obs retrain.Observation
	if err := json.Unmarshal(res.Observation, &obs); err != nil {
		t.Fatal(err)
	}
	if obs.Content != "2+2?" || !obs.RequiresAction || obs.Kind != retrain.ObsInitial {
		t.Errorf("reset observation = %+v", obs)
	}
	if res.Metadata["episode_id"] != "ep-1" {
		t.Errorf("reset metadata = %v, want episode_id ep-1", res.Metadata)
	}

	res = result(t, c.call(wire.TypeStep, map[string]any{"raw": "4"}, "r2"))
	if res.Reward == nil || *res.Reward != 1 || !res.Done || res.Terminated == nil || !*res.Terminated {
		t.Errorf("step result = reward %v done %v terminated %v, want 1, true, true", res.Reward, res.Done, res.Terminated)
	}

	f = c.call(wire.TypeState, nil, "r3")
	if f.Type != wire.TypeState || f.RequestID != "r3" {
		t.Fatalf("state reply = %+v", f)
	}
	var st map[string]any
	json.Unmarshal(f.Data, &st)
	want := map[string]any{"episode_id": "ep-1", "step_count": 1.0, "done": true, "total_reward": 1.0, "env": "single_turn", "session_id": c.session()}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("state[%s] = %v, want %v", k, st[k], v)
		}
	}

	// A step after the end is an execution error, not a dropped connection.
	e := errData(t, c.call(wire.TypeStep, map[string]any{"raw": "5"}, "r4"))
	if e.Code != wire.CodeExecutionError || !strings.Contains(e.Message, "ended") {
		t.Errorf("step after end: %+v", e)
	}
	c.send(wire.Frame{Type: wire.TypeClose})
	if _, err := c.tryRecv(); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after close frame: read err = %v, want a normal closure", err)
	}
}

func TestRequestIDs(t *testing.T) {
	_, url := start(t, nil)
	c := dial(t, url+"/ws", nil)
	f := c.call(wire.TypeReset, nil, "")
	if !strings.HasPrefix(f.RequestID, "srv-") {
		t.Errorf("a reply to a request without an id has request_id %q, want a generated srv-N", f.RequestID)
	}
	f2 := c.call(wire.TypeState, nil, "")
	if f2.RequestID == "" || f2.RequestID == f.RequestID {
		t.Errorf("generated ids %q then %q, want distinct", f.RequestID, f2.RequestID)
	}
	// Malformed frames are answered too, with the error code of OpenEnv.
	c.c.Write(t.Context(), websocket.MessageText, []byte("{not json"))
	if e := errData(t, c.recv()); e.Code != wire.CodeInvalidJSON {
		t.Errorf("bad JSON: code %s", e.Code)
	}
	if e := errData(t, c.call("dance", nil, "x1")); e.Code != wire.CodeUnknownType {
		t.Errorf("unknown type: code %s", e.Code)
	}
	// HTTP: the X-Request-Id header is echoed.
	_, h, body := httpDo(t, "POST", url+"/reset", `{}`, http.Header{wire.HeaderRequestID: {"abc"}})
	if h.Get(wire.HeaderRequestID) != "abc" || !strings.Contains(body, `"request_id":"abc"`) {
		t.Errorf("HTTP reset: header %q body %s, want request id abc in both", h.Get(wire.HeaderRequestID), body)
	}
}

func TestStepMetadataKept(t *testing.T) {
	_, url := start(t, &Options{DefaultEnv: "counter"})
	c := dial(t, url+"/ws", nil)
	result(t, c.call(wire.TypeReset, map[string]any{"prompt": "go"}, "a"))
	res := result(t, c.call(wire.TypeStep, map[string]any{"kind": "text", "text": "abc"}, "b"))
	if res.Metadata["count"] != 3.0 || res.Metadata["step"] != 1.0 {
		t.Errorf("metadata = %v, want the step's info (count 3, step 1)", res.Metadata)
	}
	if *res.Reward != 3 || res.Done {
		t.Errorf("reward %v done %v", *res.Reward, res.Done)
	}
}

func TestResumeAfterDrop(t *testing.T) {
	srv, url := start(t, &Options{DefaultEnv: "counter"})
	c := dial(t, url+"/envs/counter/ws", nil)
	id := c.session()
	result(t, c.call(wire.TypeReset, map[string]any{"prompt": "go"}, "a"))
	first := c.call(wire.TypeStep, map[string]any{"raw": "xy"}, "step-1")
	c.c.CloseNow() // the connection drops without a close frame

	c2 := dial(t, url+"/envs/counter/ws?session_id="+id, nil)
	if c2.session() != id {
		t.Fatalf("resumed session id %q, want %q", c2.session(), id)
	}
	// The client did not see the reply (say) and sends the step again: it
	// is answered from the session, not run twice.
	again := c2.call(wire.TypeStep, map[string]any{"raw": "xy"}, "step-1")
	if diff := cmp.Diff(first.Data, again.Data); diff != "" {
		t.Errorf("repeated request id got a different reply (-first +again):\n%s", diff)
	}
	res := result(t, c2.call(wire.TypeStep, map[string]any{"raw": "z"}, "step-2"))
	if res.Metadata["count"] != 3.0 || res.Metadata["step"] != 2.0 {
		t.Errorf("after resuming, metadata = %v, want count 3 at step 2 (the episode went on)", res.Metadata)
	}
	if got := srv.metrics.replays.Load(); got != 1 {
		t.Errorf("replays = %d, want 1", got)
	}
	if got := srv.metrics.sessionsResumed.Load(); got != 1 {
		t.Errorf("resumed = %d, want 1", got)
	}

	// A third connection takes the session over; the second is closed.
	c3 := dial(t, url+"/envs/counter/ws?session_id="+id, nil)
	if _, err := c2.tryRecv(); websocket.CloseStatus(err) != statusTakenOver {
		t.Errorf("the replaced connection: err %v, want close status %d", err, statusTakenOver)
	}
	result(t, c3.call(wire.TypeStep, map[string]any{"raw": "q"}, "step-3"))

	// Resuming an unknown session is a clear error.
	c4 := dial(t, url+"/envs/counter/ws?session_id=nope", nil)
	if e := errData(t, c4.recv()); e.Code != wire.CodeSessionNotFound || !strings.Contains(e.Message, "does not exist") {
		t.Errorf("unknown session: %+v", e)
	}
}

func TestReaping(t *testing.T) {
	t.Run("Detached", func(t *testing.T) {
		srv, url := start(t, &Options{ResumeTimeout: 50 * time.Millisecond, IdleTimeout: time.Hour})
		c := dial(t, url+"/ws", nil)
		id := c.session()
		result(t, c.call(wire.TypeReset, nil, "a"))
		c.c.CloseNow()
		waitFor(t, "the dropped session to be reaped", func() bool { return srv.SessionsOpen() == 0 })
		c2 := dial(t, url+"/ws?session_id="+id, nil)
		if e := errData(t, c2.recv()); e.Code != wire.CodeSessionNotFound {
			t.Errorf("resuming a reaped session: %+v", e)
		}
		if srv.metrics.sessionsReaped.Load() != 1 {
			t.Errorf("reaped = %d, want 1", srv.metrics.sessionsReaped.Load())
		}
	})
	t.Run("Idle", func(t *testing.T) {
		srv, url := start(t, &Options{IdleTimeout: 80 * time.Millisecond})
		c := dial(t, url+"/ws", nil)
		result(t, c.call(wire.TypeReset, nil, "a"))
		_, err := c.tryRecv() // nothing is sent: the server closes the idle session
		if websocket.CloseStatus(err) != statusSessionExpired {
			t.Errorf("idle connection: err %v, want close status %d", err, statusSessionExpired)
		}
		waitFor(t, "no sessions", func() bool { return srv.SessionsOpen() == 0 })
	})
	t.Run("BusyNotReaped", func(t *testing.T) {
		srv, url := start(t, &Options{IdleTimeout: 30 * time.Millisecond, DefaultEnv: "counter"})
		c := dial(t, url+"/ws", nil)
		result(t, c.call(wire.TypeReset, nil, "a"))
		// A step that runs longer than the idle timeout (bounded by timeout_s).
		b, _ := json.Marshal(map[string]any{"raw": "slow"})
		c.send(wire.Frame{Type: wire.TypeStep, Data: b, RequestID: "s", TimeoutS: 0.2})
		e := errData(t, c.recv())
		if !strings.Contains(e.Message, "timed out") {
			t.Errorf("slow step: %+v, want a timeout", e)
		}
		_ = srv
	})
}

func TestCapacity(t *testing.T) {
	srv, url := start(t, &Options{MaxSessions: 1})
	c := dial(t, url+"/ws", nil)
	result(t, c.call(wire.TypeReset, nil, "a"))

	c2 := dial(t, url+"/ws", nil)
	f := c2.recv()
	e := errData(t, f)
	if e.Code != wire.CodeCapacityReached || e.ActiveSessions == nil || *e.ActiveSessions != 1 || *e.MaxSessions != 1 {
		t.Errorf("capacity error = %+v", e)
	}
	if !strings.Contains(e.Message, "--max-sessions") {
		t.Errorf("capacity message %q does not say what to do", e.Message)
	}
	if _, err := c2.tryRecv(); websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
		t.Errorf("after the capacity error: %v, want close status 1013", err)
	}
	status, _, body := httpDo(t, "POST", url+"/sessions", `{}`, nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, wire.CodeCapacityReached) {
		t.Errorf("POST /sessions at capacity: %d %s", status, body)
	}
	if srv.metrics.capacityRejections.Load() != 2 {
		t.Errorf("capacity rejections = %d, want 2", srv.metrics.capacityRejections.Load())
	}
}

func TestBearerToken(t *testing.T) {
	_, url := start(t, &Options{Token: "s3cret"})
	for _, tc := range []struct {
		path   string
		header http.Header
		want   int
	}{
		{"/health", nil, http.StatusOK},
		{"/metrics", nil, http.StatusUnauthorized},
		{"/schema", http.Header{"Authorization": {"Bearer wrong"}}, http.StatusUnauthorized},
		{"/schema", http.Header{"Authorization": {"s3cret"}}, http.StatusUnauthorized},
		{"/schema", http.Header{"Authorization": {"Bearer s3cret"}}, http.StatusOK},
		{"/ws", nil, http.StatusUnauthorized},
	} {
		status, h, body := httpDo(t, "GET", url+tc.path, "", tc.header)
		if status != tc.want {
			t.Errorf("GET %s with %v: status %d, want %d (%s)", tc.path, tc.header, status, tc.want, body)
		}
		if status == http.StatusUnauthorized && (h.Get("WWW-Authenticate") == "" || !strings.Contains(body, "Authorization: Bearer")) {
			t.Errorf("401 reply lacks guidance: %v %s", h, body)
		}
	}
	c := dial(t, url+"/ws", http.Header{"Authorization": {"Bearer s3cret"}})
	result(t, c.call(wire.TypeReset, nil, "a"))
}

func TestMetrics(t *testing.T) {
	_, url := start(t, nil)
	c := dial(t, url+"/ws", nil)
	result(t, c.call(wire.TypeReset, map[string]any{"prompt": "2+2?", "answer": "4"}, "a"))
	result(t, c.call(wire.TypeStep, map[string]any{"raw": "4"}, "b"))
	errData(t, c.call(wire.TypeStep, map[string]any{"bogus": 1}, "c"))
	_, _, body := httpDo(t, "GET", url+"/metrics", "", nil)
	for _, want := range []string{
		"retrain_serve_sessions_open 1\n",
		"retrain_serve_connections_open 1\n",
		"retrain_serve_sessions_created_total 1\n",
		"retrain_serve_resets_total 1\n",
		`retrain_serve_steps_total{env="single_turn"} 1` + "\n",
		`retrain_serve_errors_total{code="VALIDATION_ERROR"} 1` + "\n",
		"# TYPE retrain_serve_step_seconds histogram\n",
		`retrain_serve_step_seconds_bucket{le="+Inf"} 1` + "\n",
		"retrain_serve_step_seconds_count 1\n",
		"retrain_serve_rollouts_total 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

func TestHTTPSessions(t *testing.T) {
	_, url := start(t, nil)
	status, h, body := httpDo(t, "POST", url+"/envs/counter/sessions", `{"config": {"steps": 2}}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	var created struct {
		SessionID string `json:"session_id"`
		Env       string `json:"env"`
	}
	json.Unmarshal([]byte(body), &created)
	if created.SessionID == "" || h.Get(wire.HeaderSessionID) != created.SessionID || created.Env != "counter" {
		t.Fatalf("create reply %s, header %q", body, h.Get(wire.HeaderSessionID))
	}
	base := url + "/envs/counter/sessions/" + created.SessionID
	if status, _, body := httpDo(t, "POST", base+"/reset", `{"prompt": "hi"}`, nil); status != 200 || !strings.Contains(body, `count: hi`) {
		t.Errorf("reset: %d %s", status, body)
	}
	for i, want := range []bool{false, true} { // config steps=2: done after the second step
		status, _, body := httpDo(t, "POST", base+"/step", `{"action": {"raw": "ab"}, "request_id": "q`+string(rune('0'+i))+`"}`, nil)
		var r wire.Result
		json.Unmarshal([]byte(body), &r)
		if status != 200 || r.Done != want || r.SessionID != created.SessionID || r.RequestID == "" {
			t.Errorf("step %d: %d %s, want done %v", i+1, status, body, want)
		}
	}
	if status, _, body := httpDo(t, "POST", base+"/step", `{"action": {"raw": "ab"}}`, nil); status != http.StatusConflict {
		t.Errorf("step after the end: %d %s, want 409", status, body)
	}
	if status, _, body := httpDo(t, "GET", base+"/state", "", nil); status != 200 || !strings.Contains(body, `"render":"count=4"`) || !strings.Contains(body, `"step_count":2`) {
		t.Errorf("state: %d %s", status, body)
	}
	if status, _, _ := httpDo(t, "DELETE", base, "", nil); status != http.StatusNoContent {
		t.Errorf("delete: %d", status)
	}
	if status, _, body := httpDo(t, "GET", base+"/state", "", nil); status != http.StatusNotFound || !strings.Contains(body, wire.CodeSessionNotFound) {
		t.Errorf("state after delete: %d %s", status, body)
	}
	if status, _, body := httpDo(t, "POST", url+"/envs/counter/sessions", `{"config": {"stepz": 2}}`, nil); status != http.StatusUnprocessableEntity || !strings.Contains(body, "stepz") {
		t.Errorf("bad config: %d %s", status, body)
	}
	if status, _, body := httpDo(t, "POST", url+"/envs/nope/sessions", `{}`, nil); status != http.StatusNotFound || !strings.Contains(body, "served:") {
		t.Errorf("unknown env: %d %s", status, body)
	}
}

// OpenEnv's HTTP clients send no session: /reset and /step reach one
// default session per environment.
func TestHTTPDefaultSession(t *testing.T) {
	_, url := start(t, nil)
	status, _, body := httpDo(t, "POST", url+"/reset", `{"task": {"prompt": "2+2?", "answer": "4"}}`, nil)
	if status != 200 || !strings.Contains(body, `"done":false`) {
		t.Fatalf("reset: %d %s", status, body)
	}
	status, _, body = httpDo(t, "POST", url+"/step", `{"action": {"kind": "text", "text": "4"}}`, nil)
	var r wire.Result
	json.Unmarshal([]byte(body), &r)
	if status != 200 || !r.Done || r.Reward == nil || *r.Reward != 1 {
		t.Errorf("step: %d %s", status, body)
	}
	status, _, body = httpDo(t, "POST", url+"/step", `{"nothing": 1}`, nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `has no \"action\"`) {
		t.Errorf("step without action: %d %s", status, body)
	}
	status, _, body = httpDo(t, "POST", url+"/reset", `{bad`, nil)
	if status != http.StatusBadRequest {
		t.Errorf("bad JSON: %d %s", status, body)
	}
}

func TestSchemaMetadataHealth(t *testing.T) {
	_, url := start(t, nil)
	_, _, body := httpDo(t, "GET", url+"/envs/calculator/schema", "", nil)
	var s wire.Schema
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("schema: %v: %s", err, body)
	}
	v, err := tool.NewValidator(s.Action)
	if err != nil {
		t.Fatalf("the action schema does not compile: %v", err)
	}
	for _, tc := range []struct {
		action string
		ok     bool
	}{
		{`{"raw": "4"}`, true},
		{`{"kind": "text", "text": "4"}`, true},
		{`{"kind": "tool_call", "tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}`, true},
		{`{"text": "4"}`, false},
		{`{"raw": "4", "extra": 1}`, false},
		{`{"kind": "other"}`, false},
	} {
		if err := v.Validate(json.RawMessage(tc.action)); (err == nil) != tc.ok {
			t.Errorf("validate %s: %v, want ok=%v", tc.action, err, tc.ok)
		}
	}
	if !strings.Contains(string(s.Observation), "requires_action") {
		t.Errorf("observation schema lacks requires_action: %s", s.Observation)
	}
	_, _, body = httpDo(t, "GET", url+"/envs/counter/schema", "", nil)
	var cs wire.Schema
	if err := json.Unmarshal([]byte(body), &cs); err != nil {
		t.Fatalf("counter schema: %v: %s", err, body)
	}
	if len(cs.Config) != 1 || cs.Config[0].Name != "steps" || cs.Config[0].Doc == "" || string(cs.Config[0].Default) != "3" || cs.Config[0].Access != config.Client {
		t.Errorf("counter config keys %+v, want steps from the config type", cs.Config)
	}
	_, _, body = httpDo(t, "GET", url+"/envs/calculator/metadata", "", nil)
	var md wire.Metadata
	json.Unmarshal([]byte(body), &md)
	if md.Name != "calculator" || md.Description != "calculator tool" {
		t.Errorf("metadata = %+v", md)
	}
	_, _, body = httpDo(t, "GET", url+"/health", "", nil)
	if !strings.Contains(body, `"status":"healthy"`) {
		t.Errorf("health = %s", body)
	}
	_, _, body = httpDo(t, "GET", url+"/envs", "", nil)
	if !strings.Contains(body, `"name":"single_turn","description":"one answer","default":true`) {
		t.Errorf("envs = %s", body)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"UnknownEnv", Options{Envs: []string{"nope"}}, "not registered"},
		{"DefaultNotServed", Options{Envs: []string{"counter"}, DefaultEnv: "single_turn"}, "not served"},
		{"ConfigNotServed", Options{Envs: []string{"counter"}, EnvConfig: map[string]json.RawMessage{"single_turn": nil}}, "not served"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Registry = testRegistry()
			_, err := New(&tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
