package games_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/env/games"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// TestModelOpponentOverHTTP plays against a model opponent configured by
// name, served by a fake OpenAI-compatible server on loopback: the opponent
// is prompted from its own seat with the board and the legal moves, and a
// move it gets wrong is replaced by a random legal move.
func TestModelOpponentOverHTTP(t *testing.T) {
	var requests, bad atomic.Int32
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		n := requests.Add(1)
		prompt := string(req.Messages[len(req.Messages)-1].Content)
		if !strings.Contains(prompt, "You play O") || req.Seed == nil || string(req.Messages[0].Content) == "" {
			bad.Add(1)
		}
		if n == 2 {
			return openaitest.Reply{Content: "<answer>b2</answer>"} // taken by the model: illegal
		}
		return openaitest.Reply{Content: "<answer>" + legalMoves(prompt)[0] + "</answer>"}
	}})
	defer srv.Close()
	cfg, _ := json.Marshal(map[string]any{
		"opponent":       "model",
		"opponent_model": map[string]any{"base_url": srv.URL, "model": openaitest.DefaultModel, "temperature": 0.7},
	})
	_, e := envtest.Registered(t, "tictactoe", cfg)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	step, err := e.Step(t.Context(), move("c3"))
	if err != nil {
		t.Fatal(err)
	}
	if ch := step.Info["opponent_move"].(games.Choice); ch.Source != games.SourceOpponent || ch.Move != "a1" {
		t.Errorf("first opponent move %+v, want the model's a1", ch)
	}
	step, err = e.Step(t.Context(), move("b2"))
	if err != nil {
		t.Fatal(err)
	}
	ch := step.Info["opponent_move"].(games.Choice)
	if ch.Source != games.SourceFallback || ch.Answer != "b2" || !strings.Contains(ch.Problem, "taken") {
		t.Errorf("illegal opponent move: %+v, want a fallback keeping the answer b2 and the problem", ch)
	}
	if requests.Load() != 2 || bad.Load() != 0 {
		t.Errorf("%d requests, %d without the opponent's view, system prompt or seed", requests.Load(), bad.Load())
	}
}

func TestModelOpponentServerDown(t *testing.T) {
	srv := openaitest.NewServer(nil)
	url := srv.URL
	srv.Close()
	cfg, _ := json.Marshal(map[string]any{"opponent": "model", "model_first": false,
		"opponent_model": map[string]any{"base_url": url, "model": "m"}})
	_, e := envtest.Registered(t, "tictactoe", cfg)
	// The client retries a refused connection; the deadline cuts that short.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, _, err := e.Reset(ctx, retrain.ResetOptions{Seed: retrain.Seed(1)})
	if err == nil || !strings.Contains(err.Error(), "opponent model") {
		t.Errorf("Reset with the opponent's server down: err = %v, want an opponent model error", err)
	}
}

// An opponent model is opened like any model: here the built-in local
// model and the in-process fake server, named by their base_url words; and
// with no base_url, the server at $OPENAI_BASE_URL.
func TestModelOpponentEndpoints(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: "<answer>b2</answer>"}
	}})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	for _, om := range []map[string]any{{"base_url": "local"}, {"base_url": "fake"}, {"model": openaitest.DefaultModel}} {
		cfg, _ := json.Marshal(map[string]any{"opponent": "model", "model_first": false, "opponent_model": om})
		_, e := envtest.Registered(t, "tictactoe", cfg)
		if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
			t.Errorf("opponent_model %v: Reset: %v", om, err)
		}
	}
	if srv.Requests() == 0 {
		t.Error("with no base_url, the opponent did not ask the server at $OPENAI_BASE_URL")
	}
}
