// Package gym bridges Gymnasium-style environments written in Python: each
// environment runs in its own Python subprocess behind a small shim
// (shim/retrain_gym_shim.py, standard library only), spoken to in JSON lines
// (PROTOCOL.md), and is played by a model through text. It registers the
// environment "gym".
//
// The model reads the environment's text render (render_mode "ansi": colour
// highlights become [brackets]) and its observation, and answers with one
// action (by default in the smolagent format, <answer>right</answer>): a
// Discrete index, a name from Options.ActionNames, or JSON for structured
// spaces (Box, MultiDiscrete, MultiBinary, Tuple, Dict) and plain text for a
// Text space.
//
// A registered Gymnasium id is made with gymnasium.make, so its TimeLimit
// (max_episode_steps: FrozenLake-v1 100, Taxi-v3 200) ends episodes as
// truncated and is the default of Options.MaxSteps. render_mode "ansi" is
// asked for only when the environment declares it (Blackjack does not).
// Gymnasium's toy-text environments have built-in action names
// (FrozenLake: left, down, right, up; Taxi: south, north, east, west,
// pickup, dropoff; CliffWalking: up, right, down, left; Blackjack: stick,
// hit), and the bridge says what Blackjack's and Taxi's observations mean
// ("State: player sum 14, dealer shows 10, usable ace: no"). Observations,
// rewards and infos may hold numpy values: the shim encodes them through
// item() and tolist() without importing numpy, ints as ints. The action is checked against the action space (and against
// info["legal_actions"] when the environment lists them); an invalid one is
// not sent to Python: the model gets corrective feedback and the step earns
// Options.InvalidActionPenalty (-0.1), and the episode goes on.
//
// ResetOptions.Seed is passed exactly as reset(seed=…), None when unseeded,
// so seeded episodes replay exactly. Discrete actions reach Python as ints.
// The subprocess raising, dying, hanging past Options.Process.Timeout, or
// writing garbage on stdout is a Go error (the rollout records the episode
// as failed); Reset after such a failure starts a fresh process. Close kills
// the process group, so the environment's own children die too.
//
//	e := gym.New(&gym.Options{
//		Env:    "FrozenLake-v1", // or "mymodule:make_env" (then set ActionNames)
//		Kwargs: json.RawMessage(`{"is_slippery": true}`),
//	})
//	defer e.Close()
//	if err := e.Setup(ctx); err != nil { ... } // starts python3
//	obs, _, err := e.Reset(ctx, retrain.ResetOptions{Seed: retrain.Seed(42)})
//	step, err := e.Step(ctx, e.Dialect().Parse("<answer>right</answer>", nil))
//
// Two-player environments report info["current_player"] (0 or 1) and
// info["legal_actions"]; the opponent's turns are played by a games.Opponent
// (random, a model, a scripted policy) with the epsilon and the seat
// mechanism of package games (see PROTOCOL.md, "Two-player environments").
//
// Registered configuration: env ("module:factory" or a Gymnasium id), kwargs,
// python (default python3), pythonpath, action_names,
// invalid_action_penalty, step_timeout, start_timeout, max_steps, dialect,
// system_prompt, reset_options; for two-player environments opponent
// ("random" or "model"), epsilon, opponent_model, model_first.
package gym
