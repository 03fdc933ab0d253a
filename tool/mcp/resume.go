package mcp

import (
	"io"
	"mime"
	"net/http"
	"strings"
)

// resumeTransport keeps a call's place across resumed event streams
// (SEP-1699), which the SDK's streamable client (v1.8.0) loses: it
// remembers the last event id of each stream it reads rather than of the
// call, so a resumed stream that the server closes again before sending a
// new event leaves it nothing to resume with, and the call ends with
// "request terminated without response". (The Go SDK's own server sends no
// new priming event on a resumed stream, so this happens whenever it closes
// one call's stream twice.) In server-sent events the last event id outlives
// reconnections; this transport restores that by starting the body of each
// resumed stream, a GET with Last-Event-ID answered with an event stream,
// with an event that carries only that id, which the SDK reads as a
// priming event. What the server sends next overrides it as usual.
type resumeTransport struct {
	base http.RoundTripper // nil means http.DefaultTransport
}

func (t *resumeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	id := req.Header.Get("Last-Event-ID")
	if id == "" || strings.ContainsAny(id, "\r\n") {
		return resp, nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return resp, nil
	}
	resp.Body = &seededBody{Reader: io.MultiReader(strings.NewReader("id: "+id+"\n\n"), resp.Body), Closer: resp.Body}
	return resp, nil
}

// seededBody reads a seed event, then the response body; Close closes the
// body.
type seededBody struct {
	io.Reader
	io.Closer
}

// CloseIdleConnections closes the idle connections of the base transport,
// so that http.Client.CloseIdleConnections reaches it through the wrapper.
func (t *resumeTransport) CloseIdleConnections() {
	type closeIdler interface{ CloseIdleConnections() }
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if ci, ok := base.(closeIdler); ok {
		ci.CloseIdleConnections()
	}
}
