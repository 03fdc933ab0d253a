package server

import (
	"errors"
	"fmt"
	"sync"

	"github.com/retrain-rl/retrain/env"
)

// The server's shared state is in small structs, each with one mutex over
// its own fields, changed only by its own methods (the session table and a
// session's own lock are in session.go). Two locks are ever held at once:
// defaultSessions while it creates a session (which takes the others in
// turn), and factoryCache while its build function asks lifecycle whether
// the server is closed.

// lifecycle is whether the server is closed, and what Close must stop: the
// WebSocket connections to cut and the goroutines to wait for.
type lifecycle struct {
	mu     sync.Mutex
	closed bool
	conns  map[*wsConn]struct{}
	wg     sync.WaitGroup // Adds only under mu while not closed: Close's Wait sees them all
	done   chan struct{}  // closed once the first Close has finished
}

func newLifecycle() *lifecycle {
	return &lifecycle{conns: map[*wsConn]struct{}{}, done: make(chan struct{})}
}

func (l *lifecycle) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// track counts a goroutine or long-lived handler that Close waits for; it
// reports false (counting nothing) once the server is closed. Call untrack
// when it ends.
func (l *lifecycle) track() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Add(1)
	return true
}

func (l *lifecycle) untrack() { l.wg.Done() }

// addConn records a WebSocket connection for Close to cut; false once the
// server is closed.
func (l *lifecycle) addConn(c *wsConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *lifecycle) removeConn(c *wsConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

// close marks the server closed. The first call gets the connections open
// now and first true; it must call finish when done. Later calls get
// first false.
func (l *lifecycle) close() (conns []*wsConn, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, false
	}
	l.closed = true
	conns = make([]*wsConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	return conns, true
}

// wait waits for the tracked goroutines; call it after close.
func (l *lifecycle) wait() { l.wg.Wait() }

// finish records that the first Close has finished.
func (l *lifecycle) finish() { close(l.done) }

// factoryCache holds the shared factories of the served environments, by
// name, each built on first use.
type factoryCache struct {
	mu     sync.Mutex
	byName map[string]env.Factory
}

// get returns the factory of name, building it with build the first time
// (under the cache's lock, so at most once).
func (c *factoryCache) get(name string, build func() (env.Factory, error)) (env.Factory, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.byName[name]; f != nil {
		return f, nil
	}
	f, err := build()
	if err != nil {
		return nil, err
	}
	if c.byName == nil {
		c.byName = map[string]env.Factory{}
	}
	c.byName[name] = f
	return f, nil
}

// closeAll closes and forgets every factory.
func (c *factoryCache) closeAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for name, f := range c.byName {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close environment %s: %w", name, err))
		}
	}
	c.byName = nil
	return errors.Join(errs...)
}

// defaultSessions remembers, by environment, the session that HTTP
// requests naming no session use.
type defaultSessions struct {
	mu   sync.Mutex
	byID map[string]string // environment name → session id
}

// get returns the default session of name if lookup still finds it, else
// the one create makes, which becomes the default. Creation happens under
// the lock: concurrent first requests share one session.
func (d *defaultSessions) get(name string, lookup func(id string) *session, create func() (*session, error)) (*session, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if sess := lookup(d.byID[name]); sess != nil {
		return sess, nil
	}
	sess, err := create()
	if err != nil {
		return nil, err
	}
	if d.byID == nil {
		d.byID = map[string]string{}
	}
	d.byID[name] = sess.id
	return sess, nil
}
