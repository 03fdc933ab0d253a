package openenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// httpTransport is a session over HTTP: retrain serve's /sessions routes
// when the server has them, else OpenEnv's /reset, /step and /state.
type httpTransport struct {
	c       *Client
	session string // "" for OpenEnv's sessionless routes
	prefix  string // "/sessions/ID", or ""
	closed  bool
}

func (c *Client) connectHTTP(ctx context.Context) (*Session, error) {
	t := &httpTransport{c: c}
	var created struct {
		SessionID string `json:"session_id"`
	}
	_, err := c.do(ctx, "connect", http.MethodPost, "/sessions", map[string]any{}, &created, nil)
	var se *ServerError
	switch {
	case err == nil && created.SessionID != "":
		t.session, t.prefix = created.SessionID, "/sessions/"+url.PathEscape(created.SessionID)
	case err == nil, errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusMethodNotAllowed):
		// An OpenEnv server: sessionless routes.
	default:
		return nil, err
	}
	return &Session{t: t, prefix: newPrefix()}, nil
}

func (t *httpTransport) id() string { return t.session }

func (t *httpTransport) call(ctx context.Context, typ string, data json.RawMessage, requestID string) (json.RawMessage, error) {
	if t.closed {
		return nil, fmt.Errorf("openenv: %s: the session is closed", typ)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("openenv: %s: %w", typ, err)
	}
	hdr := http.Header{wire.HeaderRequestID: {requestID}}
	var out json.RawMessage
	var err error
	for attempt := 0; ; attempt++ {
		switch typ {
		case wire.TypeReset:
			_, err = t.c.do(ctx, typ, http.MethodPost, t.prefix+"/reset", data, &out, hdr)
		case wire.TypeStep:
			_, err = t.c.do(ctx, typ, http.MethodPost, t.prefix+"/step", wire.StepRequest{Action: data, RequestID: requestID}, &out, hdr)
		case wire.TypeState:
			_, err = t.c.do(ctx, typ, http.MethodGet, t.prefix+"/state", nil, &out, hdr)
		default:
			return nil, fmt.Errorf("openenv: unknown request %q", typ)
		}
		var se *ServerError
		// A transport failure of a session request is retried with the
		// same request id: retrain serve answers a repeat from its cache.
		if err == nil || errors.As(err, &se) || t.session == "" || ctx.Err() != nil || attempt >= t.c.opts.MaxReconnects {
			break
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		out = json.RawMessage(`{}`)
	}
	return out, nil
}

func (t *httpTransport) close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	if t.session == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.c.opts.ConnectTimeout)
	defer cancel()
	_, err := t.c.do(ctx, "close", http.MethodDelete, t.prefix, nil, nil, nil)
	if errors.Is(err, ErrSessionNotFound) {
		return nil
	}
	return err
}

// newPrefix returns a random prefix for request ids.
func newPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
