// Package server serves retrain's environments to trainers in other
// languages, over OpenEnv's protocol (meta-pytorch/OpenEnv), so that
// OpenEnv clients (TRL's among them) can drive Go environments step by step,
// and serves whole rollouts as a stream of trajectories.
//
//	srv, err := server.New(&server.Options{DefaultEnv: "calculator", Token: os.Getenv("RETRAIN_SERVE_TOKEN")})
//	if err != nil { ... }
//	defer srv.Close()
//	http.ListenAndServe("127.0.0.1:8080", srv)
//
// Every registered environment is served under /envs/{name}/ and the
// default one also at the root: the WebSocket session /ws, the HTTP routes
// /reset, /step, /state, /schema, /metadata and /health, retrain's HTTP
// sessions (/sessions, for clients without WebSocket), POST /v1/rollouts
// (NDJSON) and GET /metrics (Prometheus text format). PROTOCOL.md beside
// this file describes the wire format and how it extends OpenEnv's.
//
// What it does beyond OpenEnv's own server: one goroutine per connection and
// a few kilobytes per session, so one process holds thousands of sessions;
// every reply carries the request id it answers; a session outlives its
// connection and is resumed with ?session_id= within
// Options.ResumeTimeout, a repeated request id is answered from the
// session's last reply instead of being run twice; step info is returned as
// the reply's metadata; idle sessions are reaped; the session limit is
// answered with a clear CAPACITY_REACHED error; an optional bearer token
// guards every route but /health.
package server
