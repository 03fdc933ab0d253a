package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
)

// session is one agent's run: its calls, recorded as turns on branches.
// One mutex guards it all.
type session struct {
	id      string
	created time.Time

	mu       sync.Mutex
	last     time.Time // the last call's start or end
	inflight int
	calls    int
	branches []*branch
	failures []Failure
	model    string
	tools    []retrain.ToolSpec // the first call's
	modelSec float64
}

// branch is a line of turns, each prompt extending the one before with its
// reply: the history an agent kept. An agent that rewrites its history
// starts a new branch.
type branch struct {
	msgs  []retrain.Message // the last turn's prompt, then its reply
	turns []retrain.Turn
	drift bool
}

// call is one chat call on its way through the proxy.
type call struct {
	s        *session
	recorded bool // finish ran
	sent     time.Time
	n        int
	began    time.Time
	first    time.Duration // to the first chunk of a stream
	headers  time.Duration // to the upstream's headers
	upstream time.Duration // the upstream's whole answer
	req      *chatwire.Request
	reply    *chatwire.Reply
	failure  *Failure
}

// fail records the call's failure (the first one only; none once the
// call is recorded).
func (c *call) fail(cause retrain.ErrorCause, status int, format string, args ...any) {
	if c.failure == nil && !c.recorded {
		c.failure = &Failure{Call: c.n, Cause: cause, Status: status, Error: fmt.Sprintf(format, args...)}
	}
}

// begin counts a call in; the error is for a session past max calls.
func (s *session) begin(max int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls >= max {
		return 0, fmt.Errorf("session %q made %d calls, this proxy's limit (--max-calls); end it and start another", s.id, max)
	}
	s.calls++
	s.inflight++
	s.last = time.Now()
	return s.calls, nil
}

// idleSince is how long s has had no call in flight and none started, at now.
func (s *session) idleSince(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight > 0 {
		return 0
	}
	return now.Sub(s.last)
}

// finish records c, once: a turn on a branch, or a failure.
func (p *Proxy) finish(c *call) {
	if c.recorded {
		return
	}
	s := c.s
	if c.failure == nil && c.reply == nil {
		c.fail(retrain.CauseModel, 0, "no reply was recorded")
	}
	var turn retrain.Turn
	var msgs []retrain.Message
	if c.failure == nil {
		msgs = messages(c.req)
		turn = newTurn(c, len(msgs))
	}
	c.recorded = true
	s.mu.Lock()
	s.inflight--
	s.last = time.Now()
	info := Call{N: c.n}
	if c.failure != nil {
		s.failures = append(s.failures, *c.failure)
		info.Failure = c.failure
	} else {
		if s.model == "" {
			s.model = c.reply.Model
		}
		if s.tools == nil {
			s.tools = tools(c.req)
		}
		s.modelSec += turn.ModelSeconds
		b, k := s.branchFor(msgs)
		if n := len(b.turns); n > 0 {
			prev := &b.turns[n-1]
			turn.PrefixMatch = prefixMatch(prev.PromptTokenIDs, completionIDs(prev.Action.Tokens), turn.PromptTokenIDs)
			if turn.PrefixMatch != nil && !*turn.PrefixMatch {
				b.drift = true
			}
		}
		b.turns = append(b.turns, turn)
		b.msgs = append(msgs, assistantMessage(&turn.Action))
		info.Branch, info.Turn, info.PrefixMatch = k, len(b.turns), turn.PrefixMatch
	}
	s.mu.Unlock()
	if p.o.OnCall != nil {
		p.o.OnCall(s.id, info)
	}
}

// branchFor returns the branch whose history msgs extends (the longest
// one), or a new branch; and its index.
func (s *session) branchFor(msgs []retrain.Message) (*branch, int) {
	best, bestLen := -1, -1
	for k, b := range s.branches {
		if len(b.msgs) > bestLen && len(b.msgs) <= len(msgs) && samePrefix(b.msgs, msgs) {
			best, bestLen = k, len(b.msgs)
		}
	}
	if best >= 0 {
		return s.branches[best], best
	}
	s.branches = append(s.branches, &branch{})
	return s.branches[len(s.branches)-1], len(s.branches) - 1
}

// samePrefix reports whether msgs starts with the messages of prefix, as
// an agent sends back what it was given: same roles, texts, tool calls
// (arguments compared as JSON) and call ids.
func samePrefix(prefix, msgs []retrain.Message) bool {
	for i := range prefix {
		a, b := &prefix[i], &msgs[i]
		if a.Role != b.Role || a.Content != b.Content || a.ToolCallID != b.ToolCallID || len(a.ToolCalls) != len(b.ToolCalls) {
			return false
		}
		for j := range a.ToolCalls {
			x, y := &a.ToolCalls[j], &b.ToolCalls[j]
			if x.Name != y.Name || (x.ID != "" && y.ID != "" && x.ID != y.ID) || !sameJSON(x.Arguments, y.Arguments) {
				return false
			}
		}
	}
	return true
}

func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// prefixMatch reports whether prompt starts with prevPrompt followed by
// prevCompletion; nil when any of them is unknown (as package rollout
// checks a turn).
func prefixMatch(prevPrompt, prevCompletion, prompt []int32) *bool {
	if len(prevPrompt) == 0 || len(prevCompletion) == 0 || len(prompt) == 0 {
		return nil
	}
	n := len(prevPrompt)
	ok := len(prompt) >= n+len(prevCompletion) &&
		slices.Equal(prompt[:n], prevPrompt) &&
		slices.Equal(prompt[n:n+len(prevCompletion)], prevCompletion)
	return &ok
}

func completionIDs(tok *retrain.Tokens) []int32 {
	if tok == nil || len(tok.IDs) == 0 || len(tok.IDs) != tok.Len() {
		return nil
	}
	return tok.IDs
}

// messages converts a request's messages ("developer" becomes system).
func messages(req *chatwire.Request) []retrain.Message {
	out := make([]retrain.Message, len(req.Messages))
	for i, m := range req.Messages {
		role := retrain.Role(m.Role)
		if role == "developer" {
			role = retrain.RoleSystem
		}
		msg := retrain.Message{Role: role, Content: string(m.Content), ToolCallID: m.ToolCallID, Name: m.Name}
		for _, tc := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, retrain.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: arguments(tc.Function.Arguments)})
		}
		out[i] = msg
	}
	return out
}

// arguments keeps a call's arguments as JSON: as written when they are
// JSON, else as a JSON string of the text.
func arguments(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s) // a string
	return b
}

func tools(req *chatwire.Request) []retrain.ToolSpec {
	out := make([]retrain.ToolSpec, 0, len(req.Tools))
	for _, t := range req.Tools {
		out = append(out, retrain.ToolSpec{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	return out
}

// newTurn builds the turn of a call with a reply (its first choice).
func newTurn(c *call, promptMessages int) retrain.Turn {
	r, req := c.reply, c.req
	ch := &r.Choices[0]
	m := &ch.Message
	a := retrain.Action{Kind: retrain.ActionText}
	if m.Content != nil {
		a.Text, a.Raw = *m.Content, *m.Content
	}
	if m.Reasoning != nil {
		a.Reasoning = *m.Reasoning
	} else if m.ReasoningContent != nil {
		a.Reasoning = *m.ReasoningContent
	}
	for _, tc := range m.ToolCalls {
		a.ToolCalls = append(a.ToolCalls, retrain.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: arguments(tc.Function.Arguments)})
	}
	if len(a.ToolCalls) > 0 {
		a.Kind = retrain.ActionToolCall
	}
	tok := &retrain.Tokens{IDs: ch.TokenIDs}
	if ch.Logprobs != nil {
		n := len(ch.Logprobs.Content)
		tok.Text, tok.Logprobs = make([]string, n), make([]float64, n)
		placeholders := len(tok.IDs) == 0
		ids := make([]int32, 0, n)
		for i, e := range ch.Logprobs.Content {
			tok.Text[i], tok.Logprobs[i] = e.Token, e.Logprob
			if id, ok := chatwire.ParseTokenID(e.Token); ok && placeholders {
				ids = append(ids, id)
			}
		}
		if placeholders && len(ids) == n {
			tok.IDs = ids
		}
	}
	if tok.Len() > 0 {
		a.Tokens = tok
	}
	prompt := []int32(r.PromptTokenIDs)
	if prompt == nil {
		prompt = ch.PromptTokenIDs
	}
	t := retrain.Turn{
		PromptMessages: promptMessages,
		Action:         a,
		PromptTokenIDs: prompt,
		FinishReason:   retrain.FinishReason(ch.FinishReason),
		Sampling: &retrain.TurnSampling{Temperature: req.Temperature, TopP: req.TopP,
			MaxTokens: req.MaxTokens, Seed: req.Seed},
		PolicyVersion: r.Model,
		ModelSeconds:  c.upstream.Seconds(),
		Info:          retrain.Info{"call": c.n, "stream": req.Stream},
	}
	if req.Stream {
		t.Info["first_chunk_seconds"] = c.first.Seconds()
	}
	if r.Usage != nil {
		t.Info["prompt_tokens"], t.Info["completion_tokens"] = r.Usage.PromptTokens, r.Usage.CompletionTokens
	}
	return t
}

// assistantMessage is the message the agent is expected to send back for a.
func assistantMessage(a *retrain.Action) retrain.Message {
	return retrain.Message{Role: retrain.RoleAssistant, Content: a.Text, ToolCalls: a.ToolCalls}
}

// SessionState is what GET /sessions/{id} shows of an open session.
type SessionState struct {
	ID       string `json:"id"`
	Calls    int    `json:"calls"`
	InFlight int    `json:"in_flight"`
	// Turns counts the turns of each branch.
	Turns         []int     `json:"turns"`
	TemplateDrift bool      `json:"template_drift"`
	Failures      []Failure `json:"failures,omitempty"`
	IdleSeconds   float64   `json:"idle_seconds"`
	AgeSeconds    float64   `json:"age_seconds"`
}

func (s *session) state() SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	st := SessionState{ID: s.id, Calls: s.calls, InFlight: s.inflight, Turns: []int{}, Failures: slices.Clone(s.failures),
		IdleSeconds: now.Sub(s.last).Seconds(), AgeSeconds: now.Sub(s.created).Seconds()}
	for _, b := range s.branches {
		st.Turns = append(st.Turns, len(b.turns))
		st.TemplateDrift = st.TemplateDrift || b.drift
	}
	return st
}

// trajectories turns s into one trajectory per branch (one, without turns,
// when it has none): IDs "SESSION", then "SESSION/b1", "SESSION/b2"; each
// branch's last turn gets the reward. A session with failed calls is
// recorded as failed, with its first failure as the error.
func (s *session) trajectories(stop retrain.StopReason, o *EndOptions, why string) []*retrain.Trajectory {
	s.mu.Lock()
	defer s.mu.Unlock()
	branches := s.branches
	if len(branches) == 0 {
		branches = []*branch{{}}
	}
	total := time.Since(s.created).Seconds()
	out := make([]*retrain.Trajectory, 0, len(branches))
	for k, b := range branches {
		id := s.id
		if k > 0 {
			id = fmt.Sprintf("%s/b%d", s.id, k)
		}
		t := &retrain.Trajectory{
			ID:                 id,
			Task:               retrain.Task{ID: s.id, Prompt: firstUser(b.msgs)},
			Env:                "proxy",
			Model:              s.model,
			Messages:           b.msgs,
			Turns:              b.turns,
			InitialObservation: retrain.Observation{Kind: retrain.ObsInitial, Tools: s.tools},
			ResetInfo:          retrain.Info{"session": s.id, "branch": k, "branches": len(branches), "calls": s.calls},
			StopReason:         stop,
			TemplateDrift:      b.drift,
			Timings:            retrain.Timings{Total: total, Model: s.modelSec},
		}
		if t.Messages == nil {
			t.Messages = []retrain.Message{}
		}
		if t.Turns == nil {
			t.Turns = []retrain.Turn{}
		}
		if why != "" {
			t.ResetInfo["truncated"] = why
		}
		if o.Info != nil {
			t.ResetInfo["info"] = o.Info
		}
		if len(s.failures) > 0 {
			t.ResetInfo["failures"] = slices.Clone(s.failures)
			f := s.failures[0]
			t.Error = fmt.Sprintf("%d of %d calls failed; call %d: %s", len(s.failures), s.calls, f.Call, f.Error)
			t.ErrorCause = f.Cause
			t.StopReason = retrain.StopError
			if f.Cause == retrain.CauseTimeout {
				t.StopReason = retrain.StopDeadline
			}
		}
		if n := len(t.Turns); n > 0 {
			t.Turns[n-1].Reward = o.Reward
			t.StepReward = o.Reward
			if t.Turns[n-1].Truncated = stop == retrain.StopTruncated; !t.Turns[n-1].Truncated {
				t.Turns[n-1].Terminated = true
			}
		}
		for _, tu := range t.Turns {
			if u, ok := tu.Info["prompt_tokens"].(int); ok {
				t.PromptTokens += u
			} else {
				t.PromptTokens += len(tu.PromptTokenIDs)
			}
			if u, ok := tu.Info["completion_tokens"].(int); ok {
				t.CompletionTokens += u
			} else {
				t.CompletionTokens += tu.Action.Tokens.Len()
			}
		}
		out = append(out, t)
	}
	return out
}

// firstUser is the text of the first user message, or "".
func firstUser(msgs []retrain.Message) string {
	for _, m := range msgs {
		if m.Role == retrain.RoleUser {
			return m.Content
		}
	}
	return ""
}
