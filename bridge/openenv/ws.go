package openenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// wsTransport is a session over the WebSocket /ws. When the connection
// drops and the server gave a session id (retrain serve), it reconnects
// with ?session_id= and sends the request again with the same request id
// (retrain serve answers a repeated id from the session's last reply, so
// nothing runs twice); without an id (OpenEnv's servers end the session
// with the connection) the request fails with ErrConnectionLost.
type wsTransport struct {
	c       *Client
	wsURL   string
	conn    *wsConn
	session string // the server's session id, or ""
	closed  bool
	dead    error // set when a connection without a session id was lost
}

// wsConn is one connection and its reader goroutine, which delivers frames
// to frames until the connection closes (then done is closed and err set).
type wsConn struct {
	c      *websocket.Conn
	frames chan wire.Frame
	done   chan struct{}
	stop   chan struct{}
	once   sync.Once
	err    error
}

func (c *Client) wsURL() string {
	u := *c.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += "/ws"
	return u.String()
}

func (c *Client) connectWS(ctx context.Context) (*Session, error) {
	t := &wsTransport{c: c, wsURL: c.wsURL()}
	if err := t.dial(ctx); err != nil {
		return nil, err
	}
	return &Session{t: t, prefix: newPrefix()}, nil
}

// dial connects (resuming t.session when set).
func (t *wsTransport) dial(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.c.opts.ConnectTimeout)
	defer cancel()
	u := t.wsURL
	if t.session != "" {
		u += "?" + wire.QuerySessionID + "=" + url.QueryEscape(t.session)
	}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: t.c.header, HTTPClient: t.c.http})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			se := &ServerError{Op: "connect", Status: resp.StatusCode, Message: fmt.Sprintf("%s refused the WebSocket upgrade: %v", t.wsURL, err)}
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				se.Message += " (set the bridge's token or headers)"
			case http.StatusForbidden:
				se.Message += ` (a server without a /ws route answers 403 too, as OpenEnv's servers before their WebSocket sessions do: set transport "http" or "auto"; else set the bridge's token or headers)`
			case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUpgradeRequired, http.StatusNotImplemented:
				se.Message += ` (the server has no WebSocket route /ws: set transport "http" or "auto")`
			}
			if resp.StatusCode == http.StatusServiceUnavailable {
				se.Code = wire.CodeCapacityReached
			}
			return se
		}
		return fmt.Errorf("openenv: connect to %s: %w", t.wsURL, err)
	}
	conn.SetReadLimit(maxMessage)
	if id := resp.Header.Get(wire.HeaderSessionID); id != "" {
		t.session = id
	}
	wc := &wsConn{c: conn, frames: make(chan wire.Frame, 4), done: make(chan struct{}), stop: make(chan struct{})}
	go wc.read()
	t.conn = wc
	return nil
}

func (wc *wsConn) read() {
	defer close(wc.done)
	for {
		_, b, err := wc.c.Read(context.Background())
		if err != nil {
			wc.err = err
			return
		}
		var f wire.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			f = wire.Frame{Type: wire.TypeError}
			f.Data, _ = json.Marshal(wire.ErrorData{Code: wire.CodeInvalidJSON, Message: fmt.Sprintf("the server sent a frame that is not JSON: %v", err)})
		}
		select {
		case wc.frames <- f:
		case <-wc.stop:
			return
		}
	}
}

// shut closes the connection at once and waits for its reader.
func (wc *wsConn) shut() {
	wc.once.Do(func() {
		close(wc.stop)
		wc.c.CloseNow()
	})
	<-wc.done
}

// closeErr describes why the connection closed.
func (wc *wsConn) closeErr() error {
	if ce := (websocket.CloseError{}); errors.As(wc.err, &ce) {
		if ce.Reason != "" {
			return fmt.Errorf("the server closed the connection (%d %s)", ce.Code, ce.Reason)
		}
		return fmt.Errorf("the server closed the connection (%d)", ce.Code)
	}
	return wc.err
}

func (t *wsTransport) id() string { return t.session }

func (t *wsTransport) call(ctx context.Context, typ string, data json.RawMessage, requestID string) (json.RawMessage, error) {
	if t.closed {
		return nil, fmt.Errorf("openenv: %s: the session is closed", typ)
	}
	if t.dead != nil {
		return nil, t.dead
	}
	f := wire.Frame{Type: typ, Data: data, RequestID: requestID}
	if typ == wire.TypeState {
		f.Data = nil
	}
	msg, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("openenv: %s: encode: %w", typ, err)
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("openenv: %s: %w", typ, err)
		}
		if t.conn == nil {
			if err := t.dial(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("openenv: %s: reconnect: %w", typ, ctx.Err())
				}
				var se *ServerError
				if errors.As(err, &se) && se.Status/100 == 4 {
					return nil, fmt.Errorf("%w: %s: the session %s could not be resumed: %w", ErrConnectionLost, typ, t.session, err)
				}
				if attempt < t.c.opts.MaxReconnects {
					if werr := sleep(ctx, backoff(attempt)); werr != nil {
						return nil, fmt.Errorf("openenv: %s: %w", typ, werr)
					}
					continue
				}
				return nil, fmt.Errorf("%w: %s: reconnecting to resume session %s failed %d times: %v", ErrConnectionLost, typ, t.session, attempt+1, err)
			}
		}
		reply, lost := t.exchange(ctx, typ, msg, requestID)
		if lost == nil {
			data, err := t.decode(typ, reply)
			if attempt > 0 && errors.Is(err, ErrSessionNotFound) {
				return nil, fmt.Errorf("%w: %s: resuming after a dropped connection failed: %w", ErrConnectionLost, typ, err)
			}
			return data, err
		}
		t.conn.shut()
		t.conn = nil
		if t.session == "" {
			// OpenEnv's servers end a session with its connection.
			t.dead = fmt.Errorf("%w: %s: %v; the server gave no session id, so the session cannot be resumed (OpenEnv servers end a session with its connection): the episode is lost", ErrConnectionLost, typ, lost)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("openenv: %s: %w", typ, err)
		}
		if t.dead != nil {
			return nil, t.dead
		}
		if attempt >= t.c.opts.MaxReconnects {
			return nil, fmt.Errorf("%w: %s: %v (after %d reconnections to resume session %s)", ErrConnectionLost, typ, lost, attempt, t.session)
		}
	}
}

// exchange sends msg and waits for its reply. A non-nil error means the
// connection is unusable (dropped, timed out, or ctx ended).
func (t *wsTransport) exchange(ctx context.Context, typ string, msg []byte, requestID string) (wire.Frame, error) {
	wc := t.conn
	timer := time.NewTimer(t.c.opts.Timeout)
	defer timer.Stop()
	wctx, cancel := context.WithTimeout(ctx, t.c.opts.Timeout)
	werr := wc.c.Write(wctx, websocket.MessageText, msg)
	cancel()
	for {
		if werr != nil {
			// The server may have said why before closing (e.g. at capacity).
			select {
			case f := <-wc.frames:
				if f.Type == wire.TypeError {
					return f, nil
				}
			default:
			}
			return wire.Frame{}, fmt.Errorf("send: %w", werr)
		}
		select {
		case f := <-wc.frames:
			if f.RequestID != "" && f.RequestID != requestID {
				continue // the reply to an earlier, abandoned request
			}
			return f, nil
		case <-wc.done:
			select {
			case f := <-wc.frames:
				if f.RequestID == "" || f.RequestID == requestID {
					return f, nil
				}
			default:
			}
			return wire.Frame{}, wc.closeErr()
		case <-timer.C:
			return wire.Frame{}, fmt.Errorf("no reply within %s (ClientOptions.Timeout, the bridge's timeout)", t.c.opts.Timeout)
		case <-ctx.Done():
			return wire.Frame{}, ctx.Err()
		}
	}
}

// decode returns the data of a reply, or its error as a *ServerError.
func (t *wsTransport) decode(typ string, f wire.Frame) (json.RawMessage, error) {
	if f.Type == wire.TypeError {
		var ed wire.ErrorData
		json.Unmarshal(f.Data, &ed)
		se := &ServerError{Op: typ, Code: ed.Code, Message: ed.Message}
		if ed.ActiveSessions != nil {
			se.ActiveSessions = *ed.ActiveSessions
		}
		if ed.MaxSessions != nil {
			se.MaxSessions = *ed.MaxSessions
		}
		if se.Message == "" {
			se.Message = errorBody(f.Data)
		} else if extraKeys(f.Data, "message", "code", "active_sessions", "max_sessions", "errors") {
			se.Body = errorBody(f.Data)
		}
		if ed.Errors != nil {
			if b, err := json.Marshal(ed.Errors); err == nil {
				se.Message += ": " + string(b)
			}
		}
		if se.Code == wire.CodeCapacityReached || se.Code == wire.CodeFactoryError || se.Code == wire.CodeSessionNotFound {
			// The server closes the connection after these.
			t.conn.shut()
			t.conn = nil
			t.session = ""
		}
		return nil, se
	}
	want := wire.TypeObservation
	if typ == wire.TypeState {
		want = wire.TypeState
	}
	if f.Type != want {
		return nil, &ServerError{Op: typ, Message: fmt.Sprintf("the server answered a %s with a %q frame, not %q", typ, f.Type, want)}
	}
	if len(f.Data) == 0 {
		return json.RawMessage(`{}`), nil
	}
	return f.Data, nil
}

// close sends a close frame (ending the session on the server) and closes
// the connection.
func (t *wsTransport) close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	if t.conn == nil {
		return nil
	}
	wc := t.conn
	t.conn = nil
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, _ := json.Marshal(wire.Frame{Type: wire.TypeClose})
	if err := wc.c.Write(ctx, websocket.MessageText, b); err == nil {
		// Give the server a moment to close its side, which ends the reader.
		select {
		case <-wc.done:
		case <-ctx.Done():
		}
	}
	wc.shut()
	return nil
}

// backoff is the wait before reconnection attempt n (0-based).
func backoff(n int) time.Duration {
	return min(50*time.Millisecond<<n, 2*time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
