package openenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"

	"github.com/retrain-rl/retrain/bridge/openenv"
	"github.com/retrain-rl/retrain/server"

	_ "github.com/retrain-rl/retrain/env/single"
)

// A session with retrain serve (here in-process) through the Go client:
// the single-turn environment, an answer sent as the raw model output.
func ExampleClient() {
	srv, _ := server.New(&server.Options{DefaultEnv: "single_turn"})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	ctx := context.Background()
	c, _ := openenv.NewClient(ts.URL, nil)
	defer c.CloseIdleConnections()
	s, err := c.Connect(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	res, _ := s.Reset(ctx, map[string]any{"seed": 1, "task": map[string]any{"prompt": "2+2?", "answer": "4"}})
	var obs struct {
		Content string `json:"content"`
	}
	json.Unmarshal(res.Observation, &obs)
	fmt.Println("prompt:", obs.Content)
	res, _ = s.Step(ctx, json.RawMessage(`{"raw": "4"}`))
	fmt.Println("done:", res.Done, "terminated:", *res.Terminated)
	// Output:
	// prompt: 2+2?
	// done: true terminated: true
}
