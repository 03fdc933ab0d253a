package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// WebSocket close codes of the server (4000-4999 are for applications).
const (
	// statusSessionExpired: the session was reaped (idle, or not resumed in time).
	statusSessionExpired websocket.StatusCode = 4000
	// statusTakenOver: another connection resumed the session.
	statusTakenOver websocket.StatusCode = 4001
	// statusSessionNotFound: the session to resume does not exist.
	statusSessionNotFound websocket.StatusCode = 4004
)

// writeTimeout bounds the write of one reply to a client.
const writeTimeout = 30 * time.Second

// wsConn is one WebSocket connection.
type wsConn struct {
	c      *websocket.Conn
	kicked atomic.Bool
}

// kick closes the connection with code and reason, in the background (the
// close handshake waits for the peer).
func (s *Server) kickConn(c *wsConn, code websocket.StatusCode, reason string) {
	if c.kicked.Swap(true) {
		return
	}
	if !s.goTracked(func() { c.c.Close(code, reason) }) {
		c.c.CloseNow()
	}
}

// handleWS serves the WebSocket session of environment name: a new
// session, or the one named by ?session_id= (resumed).
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request, name string) {
	if !s.life.track() {
		http.Error(w, "server is closing", http.StatusServiceUnavailable)
		return
	}
	defer s.life.untrack()

	var sess *session
	var fail *reply
	var failCode websocket.StatusCode
	resumed := false
	if id := r.URL.Query().Get(wire.QuerySessionID); id != "" {
		sess = s.sessions.get(id)
		if sess == nil || sess.envName != name {
			fail = errorReply(http.StatusNotFound, wire.CodeSessionNotFound,
				"session %s does not exist or has expired (sessions not resumed within %s of a dropped connection are closed); connect without session_id to start a new one", id, s.opts.ResumeTimeout)
			failCode, sess = statusSessionNotFound, nil
		}
		resumed = sess != nil
	} else {
		var err error
		sess, err = s.newSession(r.Context(), name, nil)
		if err != nil {
			fail, failCode = sessionError(err, s.opts.MaxSessions, s.sessions.len())
		}
	}
	if sess != nil {
		w.Header().Set(wire.HeaderSessionID, sess.id)
	}
	// The front door (ServeHTTP) has checked the Origin against
	// Options.AllowOrigins, as for every route: one rule, so the library's
	// own same-origin check is off. A token offered as the subprotocol
	// "bearer.TOKEN" is echoed by the front door.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		if sess != nil && !resumed {
			s.endSession(sess)
		}
		return
	}
	c.SetReadLimit(s.opts.MaxMessageBytes)
	if fail != nil {
		s.metrics.errorf(fail.err.Code)
		if b, err := fail.frame("", ""); err == nil {
			wctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
			c.Write(wctx, websocket.MessageText, b)
			cancel()
		}
		c.Close(failCode, truncateReason(fail.err.Code))
		return
	}

	wc := &wsConn{c: c}
	if !s.life.addConn(wc) {
		c.CloseNow()
		return
	}
	defer s.life.removeConn(wc)
	s.metrics.connections.Add(1)
	defer s.metrics.connections.Add(-1)
	if old := s.sessions.attach(sess, wc); old != nil {
		s.kickConn(old, statusTakenOver, "session resumed by another connection")
	}
	if resumed {
		s.metrics.sessionsResumed.Add(1)
		sess.touch()
	}
	closed := s.serveFrames(wc, sess)
	if closed {
		s.endSession(sess)
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
	s.sessions.detach(sess, wc)
	c.CloseNow()
}

// serveFrames answers the frames of one connection until it drops (false)
// or the client sends close (true).
func (s *Server) serveFrames(wc *wsConn, sess *session) bool {
	for {
		typ, msg, err := wc.c.Read(s.ctx)
		if err != nil {
			return false
		}
		var reqID string
		var r *reply
		var f wire.Frame
		if typ != websocket.MessageText {
			r = errorReply(http.StatusBadRequest, wire.CodeInvalidJSON, "binary frames are not understood; send JSON text frames")
		} else if err := json.Unmarshal(msg, &f); err != nil {
			if rerr := s.timeoutDecodeError(err); rerr != nil {
				r, reqID = rangeReply(rerr), f.RequestID
				s.metrics.errorf(wire.CodeValidationError)
			} else {
				r = errorReply(http.StatusBadRequest, wire.CodeInvalidJSON, "Invalid JSON: %v", err)
			}
		} else {
			reqID = f.RequestID
			switch f.Type {
			case wire.TypeClose:
				return true
			case wire.TypeReset, wire.TypeStep, wire.TypeState:
				r = s.do(s.ctx, sess, request{typ: f.Type, data: f.Data, requestID: f.RequestID, timeout: f.TimeoutS})
			default:
				r = errorReply(http.StatusBadRequest, wire.CodeUnknownType, "Unknown message type: %q; use reset, step, state or close", f.Type)
			}
		}
		if r.typ == wire.TypeError && (r.err.Code == wire.CodeInvalidJSON || r.err.Code == wire.CodeUnknownType) {
			s.metrics.errorf(r.err.Code)
		}
		if reqID == "" {
			reqID = s.metrics.nextRequestID()
		}
		b, err := r.frame(reqID, sess.id)
		if err != nil {
			b, _ = errorReply(0, wire.CodeExecutionError, "encode reply: %v", err).frame(reqID, sess.id)
		}
		wctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
		err = wc.c.Write(wctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			return false
		}
		if r.typ == wire.TypeError && r.err.Code == wire.CodeSessionNotFound {
			wc.c.Close(statusSessionExpired, "session expired")
			return false
		}
	}
}

// sessionError turns a session creation error into an error reply and a
// close code.
func sessionError(err error, max, active int) (*reply, websocket.StatusCode) {
	var ce *errCapacity
	if errors.As(err, &ce) {
		r := errorReply(http.StatusServiceUnavailable, wire.CodeCapacityReached, "%s", err.Error())
		a, m := ce.active, ce.max
		r.err.ActiveSessions, r.err.MaxSessions = &a, &m
		return r, websocket.StatusTryAgainLater
	}
	return errorReply(http.StatusInternalServerError, wire.CodeFactoryError, "%v", err), websocket.StatusInternalError
}

func truncateReason(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
