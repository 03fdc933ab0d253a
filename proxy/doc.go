// Package proxy records agents that someone else wrote, token for token:
// an OpenAI-compatible endpoint between an agent and an inference server
// (vLLM, SGLang, "retrain serve-model", the fake server) that forwards each
// chat call, adds what recording needs (logprobs, vLLM's return_token_ids,
// a stream's usage chunk), gives the agent the reply as it asked for it,
// and records the call as a turn of the agent's session: messages, prompt
// and completion token ids, log-probabilities, sampling settings, timings.
// Streams pass through event by event, flushed as they arrive; native tool
// calls pass unchanged.
//
// An agent sets its base URL to http://HOST/sessions/ID/v1 and changes
// nothing else (or sends the X-Retrain-Session header to /v1). Each call's
// prompt is checked to extend an earlier prompt and completion token for
// token (retrain.Turn.PrefixMatch); an agent that rewrites its history
// (compaction, sub-agents, retries) starts a new branch. Ending a session
// (POST /sessions/ID/end, or [Proxy.End]) writes one retrain.Trajectory per
// branch, the format package rollout writes.
//
//	p, err := proxy.New(&proxy.Options{Upstream: "http://127.0.0.1:8000/v1", Sink: w})
//	if err != nil { ... }
//	defer p.Close()
//	h := httpsec.Handler(p, &httpsec.Options{Token: token})
//	err = httpserve.Serve(ctx, ln, h, nil)
//	// the agent: OPENAI_BASE_URL=http://127.0.0.1:8100/sessions/run-1/v1
//	// then: curl -d '{"reward": 1}' http://127.0.0.1:8100/sessions/run-1/end
//
// The upstream is the operator's (Options.Upstream): nothing an agent sends
// names a program, a path or an address the proxy uses. See design.md.
package proxy
