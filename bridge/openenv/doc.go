// Package openenv bridges environments served over OpenEnv's protocol
// (meta-pytorch/OpenEnv; retrain serve speaks it too) into retrain
// environments, and is a Go client of that protocol.
//
// As an environment, registered as "openenv":
//
//	f, err := env.New("openenv", json.RawMessage(`{"url": "http://127.0.0.1:8000", "observation_field": "prompt"}`))
//	e, _ := f.NewEnv() // one session on the server per environment
//	if err := e.Setup(ctx); err != nil { ... } // fetches /schema
//	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Seed: retrain.Seed(1)})
//	step, err := e.Step(ctx, retrain.Action{Kind: retrain.ActionText, Text: `<answer>{"message": "hi"}</answer>`})
//
// The model's output becomes the server's action object: its text as one
// field ({"message": TEXT}, the field chosen from the action schema or by
// Options.ActionField), or a JSON object the model writes inside
// <answer></answer>. The object is checked against the action schema of
// GET /schema; an output that does not map, or that the server rejects as
// invalid, gets corrective feedback and the invalid-action penalty, and the
// episode goes on. Observations are shown as one field's text
// (Options.ObservationField, else text, prompt, content or message), else
// as indented JSON; retrain observations (from retrain serve) are taken
// whole. The reply's metadata becomes the step's info.
//
// Sessions use the WebSocket /ws; a server without it is driven over HTTP.
// A dropped connection is reconnected and the session resumed when the
// server supports it (retrain serve does); with OpenEnv's servers, whose
// sessions end with their connection, the episode fails with
// [ErrConnectionLost]. A server at its session limit yields [ErrCapacity].
//
// As a client:
//
//	c, _ := openenv.NewClient("http://127.0.0.1:8000", nil)
//	s, err := c.Connect(ctx)
//	defer s.Close()
//	res, err := s.Reset(ctx, map[string]any{"seed": 1})
//	res, err = s.Step(ctx, json.RawMessage(`{"message": "hi"}`))
//	fmt.Println(string(res.Observation), *res.Reward, res.Done)
package openenv
