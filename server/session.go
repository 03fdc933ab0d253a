package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
	"github.com/retrain-rl/retrain/env"
)

// session is one environment episode stream: an Environment owned by the
// server, driven by one client at a time over WebSocket or HTTP.
type session struct {
	id      string
	envName string

	// lastActive is the time of the last request (unix nanoseconds).
	lastActive atomic.Int64
	// busy counts the requests being served; a busy session is not reaped.
	busy atomic.Int32

	// mu serializes the environment's calls and guards the episode.
	mu        sync.Mutex
	env       retrain.Environment // nil once released (see Server.truncate) until the next reset
	factory   env.Factory         // the factory of env: owned, or the environment's shared one
	owned     env.Factory         // a factory made for this session alone, or nil
	dialect   dialect.Dialect
	episodeID string
	steps     int
	resetDone bool
	done      bool
	reward    float64
	lastReqID string // the client's id of the last reset or step
	lastReply *reply // its reply, sent again for a repeated id
	closed    bool

	// Guarded by sessionTable.mu, changed only by its methods (attach,
	// detach, expired).
	conn       *wsConn   // the connection attached now, if any
	detachedAt time.Time // when the last connection dropped; zero when attached or never attached
	viaWS      bool      // ever attached to a WebSocket
}

func (s *session) touch() { s.lastActive.Store(time.Now().UnixNano()) }

// close closes the environment (and its own factory). It waits for a
// request in progress to finish.
func (s *session) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.env != nil {
		err = s.env.Close()
	}
	if s.owned != nil {
		err = errors.Join(err, s.owned.Close())
	}
	if err != nil {
		return fmt.Errorf("close session %s (%s): %w", s.id, s.envName, err)
	}
	return nil
}

// errCapacity is returned by sessionTable.reserve when the table is full.
type errCapacity struct{ active, max int }

func (e *errCapacity) Error() string {
	return fmt.Sprintf("server at capacity: %d of %d sessions open; close idle sessions, retry later, or start retrain serve with a larger --max-sessions", e.active, e.max)
}

// sessionTable holds the open sessions.
type sessionTable struct {
	max int

	mu       sync.Mutex
	byID     map[string]*session
	reserved int // slots held by sessions being created
}

func newSessionTable(max int) *sessionTable {
	return &sessionTable{max: max, byID: map[string]*session{}}
}

func (t *sessionTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// reserve holds a slot for a session being created; release it with
// unreserve or fill it with insert.
func (t *sessionTable) reserve() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.byID) + t.reserved; n >= t.max {
		return &errCapacity{active: n, max: t.max}
	}
	t.reserved++
	return nil
}

func (t *sessionTable) unreserve() {
	t.mu.Lock()
	t.reserved--
	t.mu.Unlock()
}

func (t *sessionTable) insert(s *session) {
	t.mu.Lock()
	t.reserved--
	t.byID[s.id] = s
	t.mu.Unlock()
}

func (t *sessionTable) get(id string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

// remove takes the session out of the table; it reports whether it was there.
func (t *sessionTable) remove(s *session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[s.id] != s {
		return false
	}
	delete(t.byID, s.id)
	return true
}

func (t *sessionTable) removeAll() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make([]*session, 0, len(t.byID))
	for id, s := range t.byID {
		all = append(all, s)
		delete(t.byID, id)
	}
	return all
}

// attach makes c the session's connection and returns the one it replaces.
func (t *sessionTable) attach(s *session, c *wsConn) *wsConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := s.conn
	s.conn, s.detachedAt, s.viaWS = c, time.Time{}, true
	return old
}

// conn returns the connection attached to the session now, or nil.
func (t *sessionTable) conn(s *session) *wsConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return s.conn
}

// detach marks the session unconnected when c is still its connection.
func (t *sessionTable) detach(s *session, c *wsConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.conn == c {
		s.conn, s.detachedAt = nil, time.Now()
	}
}

// expired removes and returns the sessions idle longer than idle, or
// dropped by their connection longer than resume, with the connections to
// close.
func (t *sessionTable) expired(now time.Time, idle, resume time.Duration) ([]*session, []*wsConn, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*session
	var conns []*wsConn
	var why []string
	for id, s := range t.byID {
		if s.busy.Load() > 0 {
			continue
		}
		last := time.Unix(0, s.lastActive.Load())
		reason := ""
		switch {
		case now.Sub(last) > idle:
			reason = fmt.Sprintf("idle for more than %s", idle)
		case s.viaWS && s.conn == nil && !s.detachedAt.IsZero() && now.Sub(s.detachedAt) > resume:
			reason = fmt.Sprintf("not resumed within %s of its connection dropping", resume)
		default:
			continue
		}
		delete(t.byID, id)
		out = append(out, s)
		why = append(why, reason)
		if s.conn != nil {
			conns = append(conns, s.conn)
			s.conn = nil
		}
	}
	return out, conns, why
}

// newID returns a random 128-bit id in hex.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newSession makes, sets up and registers a session of environment name.
// config, when not empty, gives the session its own factory; otherwise the
// environment's shared factory is used. Errors are *errCapacity or wrap the
// factory's or Setup's error.
func (s *Server) newSession(ctx context.Context, name string, config json.RawMessage) (*session, error) {
	if err := s.sessions.reserve(); err != nil {
		s.metrics.capacityRejections.Add(1)
		return nil, err
	}
	sess, err := s.buildSession(ctx, name, config)
	if err != nil {
		s.sessions.unreserve()
		return nil, err
	}
	s.sessions.insert(sess)
	s.metrics.sessionsCreated.Add(1)
	if s.life.isClosed() { // lost a race with Close, which no longer sees it
		if s.sessions.remove(sess) {
			sess.close()
		}
		return nil, errors.New("server is closing")
	}
	return sess, nil
}

func (s *Server) buildSession(ctx context.Context, name string, config json.RawMessage) (*session, error) {
	var f env.Factory
	var owned env.Factory
	var err error
	if len(config) > 0 && string(config) != "null" {
		owned, err = s.reg.New(name, config)
		f = owned
	} else {
		f, err = s.factory(name)
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	e, err := openEnv(ctx, f, name)
	if err != nil {
		if owned != nil {
			owned.Close()
		}
		return nil, err
	}
	sess := &session{id: newID(), envName: name, env: e, factory: f, owned: owned}
	if de, ok := e.(env.DialectEnv); ok {
		sess.dialect = de.Dialect()
	}
	sess.touch()
	return sess, nil
}

// openEnv makes a new environment of f and sets it up.
func openEnv(ctx context.Context, f env.Factory, name string) (retrain.Environment, error) {
	e, err := f.NewEnv()
	if err != nil {
		return nil, fmt.Errorf("environment %q: new environment: %w", name, err)
	}
	if err := e.Setup(ctx); err != nil {
		e.Close()
		return nil, fmt.Errorf("environment %q: setup: %w", name, err)
	}
	return e, nil
}

// endSession removes sess and closes it.
func (s *Server) endSession(sess *session) {
	if s.sessions.remove(sess) {
		s.metrics.sessionsClosed.Add(1)
		if err := sess.close(); err != nil {
			s.log.Warn("close session", "err", err)
		}
	}
}

// reaper closes expired sessions until the server closes.
func (s *Server) reaper() {
	defer s.life.untrack()
	every := min(s.opts.IdleTimeout, s.opts.ResumeTimeout) / 4
	every = max(10*time.Millisecond, min(every, 30*time.Second))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.reap(now)
		}
	}
}

// reap closes the sessions expired at now.
func (s *Server) reap(now time.Time) {
	gone, conns, why := s.sessions.expired(now, s.opts.IdleTimeout, s.opts.ResumeTimeout)
	for _, c := range conns {
		s.kickConn(c, statusSessionExpired, "session expired")
	}
	for i, sess := range gone {
		s.metrics.sessionsReaped.Add(1)
		s.metrics.sessionsClosed.Add(1)
		s.log.Info("session reaped", "session", sess.id, "env", sess.envName, "reason", why[i])
		if err := sess.close(); err != nil {
			s.log.Warn("close reaped session", "err", err)
		}
	}
}
