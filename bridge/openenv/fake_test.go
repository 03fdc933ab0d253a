package openenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeOpenEnv is a small server speaking OpenEnv's protocol as its Python
// server does (http_server.py): an echo environment (echo_env) with
// sessions made at connect time, error frames {message, code}, a
// CAPACITY_REACHED frame then close when full, no request ids echoed and
// no session ids given. The action "drop" closes the connection abruptly;
// "hang" is never answered; "reject" gets a VALIDATION_ERROR; "explode" an
// EXECUTION_ERROR with a traceback.
type fakeOpenEnv struct {
	maxSessions int
	steps       int // episode length

	mu     sync.Mutex
	active int
	wg     sync.WaitGroup
	stepsN atomic.Int64 // steps run, all sessions
	hangs  chan struct{}
}

// echoActionSchema is what Pydantic writes for echo_env's EchoAction.
const echoActionSchema = `{
  "additionalProperties": false,
  "properties": {
    "metadata": {"additionalProperties": true, "description": "Additional metadata for the action", "title": "Metadata", "type": "object"},
    "message": {"description": "Message to echo back", "minLength": 1, "title": "Message", "type": "string"}
  },
  "required": ["message"],
  "title": "EchoAction",
  "type": "object"
}`

func startFake(t *testing.T, f *fakeOpenEnv) string {
	t.Helper()
	if f.steps == 0 {
		f.steps = 3
	}
	if f.maxSessions == 0 {
		f.maxSessions = 100
	}
	f.hangs = make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"healthy"}`))
	})
	mux.HandleFunc("GET /schema", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"action": %s, "observation": {"type": "object"}, "state": {"type": "object"}}`, echoActionSchema)
	})
	mux.HandleFunc("GET /metadata", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"name": "EchoEnvironment", "description": "echoes", "readme_content": null, "version": "1.0.0", "author": null, "documentation_url": null}`))
	})
	mux.HandleFunc("GET /ws", f.serveWS)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.hangs)
		ts.CloseClientConnections()
		ts.Close()
		f.wg.Wait()
	})
	return ts.URL
}

func (f *fakeOpenEnv) serveWS(w http.ResponseWriter, r *http.Request) {
	f.wg.Add(1)
	defer f.wg.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	send := func(v any) error {
		b, _ := json.Marshal(v)
		return c.Write(ctx, websocket.MessageText, b)
	}
	f.mu.Lock()
	if f.active >= f.maxSessions {
		n := f.active
		f.mu.Unlock()
		send(map[string]any{"type": "error", "data": map[string]any{
			"message": fmt.Sprintf("Server at capacity: %d/%d sessions active", n, f.maxSessions), "code": "CAPACITY_REACHED",
			"active_sessions": n, "max_sessions": f.maxSessions,
		}})
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
	f.active++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()
	step := 0
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		var msg struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b, &msg); err != nil {
			send(map[string]any{"type": "error", "data": map[string]any{"message": "Invalid JSON: " + err.Error(), "code": "INVALID_JSON"}})
			continue
		}
		switch msg.Type {
		case "reset":
			step = 0
			prompt, _ := msg.Data["task"].(map[string]any)
			send(map[string]any{"type": "observation", "data": map[string]any{
				"observation": map[string]any{"echoed_message": "", "message_length": 0, "task": prompt},
				"reward":      0.0, "done": false,
			}})
		case "step":
			m, _ := msg.Data["message"].(string)
			switch m {
			case "drop":
				c.CloseNow()
				return
			case "hang":
				<-f.hangs
				return
			case "explode":
				send(map[string]any{"type": "error", "data": map[string]any{"message": "step failed", "code": "EXECUTION_ERROR",
					"traceback": "RuntimeError: exploded in step()"}})
				continue
			case "reject":
				send(map[string]any{"type": "error", "data": map[string]any{"message": "Invalid message", "code": "VALIDATION_ERROR",
					"errors": []map[string]any{{"type": "value_error", "loc": []string{"message"}, "msg": "reject is not allowed"}}}})
				continue
			}
			step++
			f.stepsN.Add(1)
			send(map[string]any{"type": "observation", "data": map[string]any{
				"observation": map[string]any{"echoed_message": m, "message_length": len(m)},
				"reward":      float64(len(m)) * 0.1, "done": step >= f.steps,
				"metadata": map[string]any{"step": step},
			}})
		case "state":
			send(map[string]any{"type": "state", "data": map[string]any{"episode_id": nil, "step_count": step}})
		case "close":
			c.Close(websocket.StatusNormalClosure, "")
			return
		default:
			send(map[string]any{"type": "error", "data": map[string]any{"message": "Unknown message type: " + msg.Type, "code": "UNKNOWN_TYPE"}})
		}
	}
}

// waitSessions waits until the fake has n sessions.
func (f *fakeOpenEnv) waitSessions(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		a := f.active
		f.mu.Unlock()
		if a == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake has %d sessions, want %d", a, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
