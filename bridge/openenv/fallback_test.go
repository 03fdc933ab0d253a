package openenv_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/retrain-rl/retrain"
)

// startHTTPOnly starts a server like OpenEnv's echo server at its last
// dataclass release: HTTP routes /reset, /step and /state, and no /ws (a
// WebSocket upgrade gets Starlette's 403). A step with the message "boom"
// gets a 500 whose body holds a traceback besides the detail.
func startHTTPOnly(t *testing.T) (url string, upgrades *atomic.Int32) {
	t.Helper()
	upgrades = new(atomic.Int32)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"healthy"}`))
	})
	mux.HandleFunc("GET /schema", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"action": %s, "observation": {"type": "object"}, "state": {"type": "object"}}`, echoActionSchema)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		upgrades.Add(1)
		http.Error(w, "Forbidden", http.StatusForbidden)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"observation": {"echoed_message": "", "message_length": 0}, "reward": 0.0, "done": false}`))
	})
	mux.HandleFunc("POST /step", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Action struct {
				Message string `json:"message"`
			} `json:"action"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.Action.Message == "boom" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"detail": "step failed", "traceback": "ValueError: boom in echo_environment.py line 42"}`))
			return
		}
		fmt.Fprintf(w, `{"observation": {"echoed_message": %q, "message_length": %d}, "reward": 0.5, "done": false}`, req.Action.Message, len(req.Action.Message))
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"episode_id": null, "step_count": 0}`))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL, upgrades
}

// TestAutoFallsBackWhenUpgradeRefused checks that transport "auto" plays a
// server that refuses the WebSocket upgrade with 403 over HTTP, and that a
// step error carries the server's reply.
func TestAutoFallsBackWhenUpgradeRefused(t *testing.T) {
	url, upgrades := startHTTPOnly(t)
	e := bridged(t, `{"url": "`+url+`", "observation_field": "echoed_message"}`)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "say hi"}}); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if upgrades.Load() != 1 {
		t.Errorf("%d upgrade attempts, want 1", upgrades.Load())
	}
	st, err := e.Step(t.Context(), text("<answer>hello</answer>"))
	if err != nil || st.Observation.Content != "hello" {
		t.Fatalf("Step = %q, %v; want the echo over HTTP", st.Observation.Content, err)
	}
	_, err = e.Step(t.Context(), text("<answer>boom</answer>"))
	if err == nil || !strings.Contains(err.Error(), "step failed") || !strings.Contains(err.Error(), "ValueError: boom in echo_environment.py line 42") {
		t.Errorf("Step error %v, want the detail and the server's reply with its traceback", err)
	}
}

// TestWebSocketRefusedSaysWhy checks the hint of transport "websocket"
// against a server without /ws.
func TestWebSocketRefusedSaysWhy(t *testing.T) {
	url, _ := startHTTPOnly(t)
	e := bridged(t, `{"url": "`+url+`", "transport": "websocket"}`)
	_, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "say hi"}})
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), `transport "http"`) {
		t.Errorf("Reset error %v, want a 403 saying to set transport \"http\"", err)
	}
}

// TestWebSocketStepErrorCarriesReply checks that an error frame's fields
// beyond its message (a traceback) reach the error.
func TestWebSocketStepErrorCarriesReply(t *testing.T) {
	url := startFake(t, &fakeOpenEnv{})
	e := bridged(t, `{"url": "`+url+`", "observation_field": "echoed_message"}`)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Task: retrain.Task{Prompt: "say hi"}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Step(t.Context(), text("<answer>explode</answer>"))
	if err == nil || !strings.Contains(err.Error(), "step failed") || !strings.Contains(err.Error(), "RuntimeError: exploded in step()") {
		t.Errorf("Step error %v, want the message and the server's reply with its traceback", err)
	}
}
