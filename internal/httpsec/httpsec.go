// Package httpsec is the front door of every listener of the project: the
// checks a request passes before a handler sees it, and the bounds of the
// listener and of the server around it.
//
// [Handler] refuses what a browser could send on a web page's behalf (an
// Origin that is not allowed, a Host that is not loopback on a loopback
// connection, a POST body that is not JSON), requires the bearer token, and
// bounds the request body in size and in time. [Listener] bounds the
// connections open at once, answering 503 past the cap. [CheckExposure]
// refuses a non-loopback listener without a token. The defaults below are
// the values of every command's flags.
//
//	ln, err := net.Listen("tcp", addr)
//	if err != nil { ... }
//	if err := httpsec.CheckExposure(ln.Addr(), token, insecure); err != nil { ... }
//	h := httpsec.Handler(mux, &httpsec.Options{Token: token, Public: []string{"/health"}})
//	err = httpserve.Serve(ctx, ln, h, &httpserve.Options{MaxConns: httpsec.DefaultMaxConns})
package httpsec

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Defaults of the bounds of a listener.
const (
	// DefaultMaxBodyBytes bounds a request body.
	DefaultMaxBodyBytes = 16 << 20
	// DefaultBodyTimeout bounds the reading of a request body, from the end
	// of its headers.
	DefaultBodyTimeout = 60 * time.Second
	// DefaultReadHeaderTimeout bounds the reading of a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a keep-alive connection that has waited this
	// long for its next request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxHeaderBytes bounds a request's headers.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxConns bounds the connections open at once (WebSocket
	// connections included); more are answered 503.
	DefaultMaxConns = 16384
)

// TokenQuery is the query parameter that may carry the token, for clients
// that can set no header (a WebSocket connect from a browser-like client).
const TokenQuery = "token"

// TokenSubprotocolPrefix starts the Sec-WebSocket-Protocol value that may
// carry the token: "bearer.TOKEN". The server echoes the value, as the
// handshake requires.
const TokenSubprotocolPrefix = "bearer."

// ErrExposed is returned by CheckExposure for a non-loopback listener
// without a token.
var ErrExposed = errors.New("listening on a non-loopback address without a token: anyone who can reach it can use the server")

// Options configure a Handler. A nil *Options, or a zero field, means the
// field's default.
type Options struct {
	// Token, when set, is required on every request but those to Public
	// paths, as "Authorization: Bearer TOKEN" (the scheme in any case), a
	// Sec-WebSocket-Protocol value "bearer.TOKEN", or a ?token=TOKEN query
	// parameter (removed from the request before the handler sees it).
	Token string
	// AllowOrigins lists the origins ("https://app.example:8443", scheme
	// and host as a browser writes them) whose requests are served; a
	// request with any other Origin header is refused with 403. "*" allows
	// every origin. Empty: requests with an Origin header are refused.
	AllowOrigins []string
	// Public lists the paths served without the token (e.g. "/health").
	// The other checks apply to them.
	Public []string
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes); a
	// longer one is answered 413.
	MaxBodyBytes int64
	// BodyTimeout bounds the reading of a request body (default
	// DefaultBodyTimeout); a slower one is answered 408 and its connection
	// closed. Responses are not bounded: streams and WebSockets last.
	BodyTimeout time.Duration
	// Refuse writes a refusal (status and a message for the client) in the
	// listener's own error format; nil writes {"detail": message}. The
	// Handler sets the headers the refusal needs (WWW-Authenticate,
	// Connection: close) before calling it.
	Refuse func(w http.ResponseWriter, r *http.Request, status int, msg string)
}

// Handler returns h behind the front door: each request is checked, in
// this order, and refused at the first failure:
//   - a request that reached a loopback address must name a loopback host
//     (localhost, 127.0.0.0/8, [::1]) in its Host header, else 403 (DNS
//     rebinding);
//   - a request with an Origin header not in Options.AllowOrigins is
//     refused with 403 (a web page's request, WebSocket upgrades included);
//   - with a token, a request without it is refused with 401;
//   - a POST, PUT or PATCH body must be application/json, else 415;
//   - the body is read whole, within Options.BodyTimeout (else 408) and
//     Options.MaxBodyBytes (else 413), before h runs.
func Handler(h http.Handler, opts *Options) http.Handler {
	var o Options
	if opts != nil {
		o = *opts
		o.AllowOrigins = slices.Clone(o.AllowOrigins)
		o.Public = slices.Clone(o.Public)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	if o.Refuse == nil {
		o.Refuse = refuseJSON
	}
	origins := make([]string, 0, len(o.AllowOrigins))
	for _, a := range o.AllowOrigins {
		if n, ok := normalizeOrigin(a); ok {
			origins = append(origins, n)
		} else if a == "*" {
			origins = append(origins, a)
		}
	}
	return &front{next: h, o: o, origins: origins}
}

type front struct {
	next    http.Handler
	o       Options
	origins []string // normalized, or "*"
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	rc := http.NewResponseController(w)
	if hasBody {
		// From here on, the body must arrive within the timeout; the
		// deadline also ends the reading of a refused request's body.
		rc.SetReadDeadline(time.Now().Add(f.o.BodyTimeout))
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && IsLoopbackAddr(la) && !IsLoopbackHost(r.Host) {
		f.refuse(w, r, http.StatusForbidden, fmt.Sprintf(
			"Host %q is not a loopback name: a request to a loopback address must name localhost, 127.0.0.1 or [::1] (DNS rebinding protection)", r.Host))
		return
	}
	if origin, ok := r.Header["Origin"]; ok && !f.originAllowed(origin) {
		f.refuse(w, r, http.StatusForbidden, fmt.Sprintf(
			"cross-origin requests are refused: Origin %q is not allowed (the server's operator may allow it with --allow-origin)", strings.Join(origin, ", ")))
		return
	}
	if f.o.Token != "" && !slices.Contains(f.o.Public, r.URL.Path) {
		if !f.authorize(w, r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="retrain"`)
			f.refuse(w, r, http.StatusUnauthorized,
				"missing or wrong bearer token: send the header \"Authorization: Bearer TOKEN\" (a WebSocket client that cannot set headers may offer the subprotocol \"bearer.TOKEN\" or add ?token=TOKEN to the URL)")
			return
		}
	}
	if !hasBody {
		f.next.ServeHTTP(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
			f.refuse(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf(
				"the request body must be JSON: send the header \"Content-Type: application/json\" (got %q)", ct))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.o.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooBig):
			f.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the request body is over the server's limit of %d bytes", f.o.MaxBodyBytes))
		case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
			f.refuse(w, r, http.StatusRequestTimeout, fmt.Sprintf(
				"the request body did not arrive within %s", f.o.BodyTimeout))
		}
		return // else the client went away
	}
	// The body is in: the connection may now wait as long as the handler
	// takes (a streamed response, a WebSocket).
	rc.SetReadDeadline(time.Time{})
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	f.next.ServeHTTP(w, r)
}

// refuse writes a refusal and closes the connection when a request body
// may still be on its way.
func (f *front) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		w.Header().Set("Connection", "close")
	}
	f.o.Refuse(w, r, status, msg)
}

func (f *front) originAllowed(values []string) bool {
	if len(values) != 1 {
		return false
	}
	n, ok := normalizeOrigin(values[0])
	for _, a := range f.origins {
		if a == "*" || ok && a == n {
			return true
		}
	}
	return false
}

// authorize reports whether r carries the token, in one of its forms; a
// token from the query is removed from r's URL, and one offered as a
// WebSocket subprotocol is echoed in the response.
func (f *front) authorize(w http.ResponseWriter, r *http.Request) bool {
	want := []byte(f.o.Token)
	if tok, ok := BearerToken(r.Header.Get("Authorization")); ok {
		return subtle.ConstantTimeCompare([]byte(tok), want) == 1
	}
	for _, p := range headerTokens(r.Header.Values("Sec-WebSocket-Protocol")) {
		if tok, ok := cutPrefixFold(p, TokenSubprotocolPrefix); ok && subtle.ConstantTimeCompare([]byte(tok), want) == 1 {
			w.Header().Set("Sec-WebSocket-Protocol", p)
			return true
		}
	}
	q := r.URL.Query()
	if toks, ok := q[TokenQuery]; ok {
		delete(q, TokenQuery)
		r.URL.RawQuery = q.Encode()
		r.RequestURI = r.URL.RequestURI()
		return len(toks) == 1 && subtle.ConstantTimeCompare([]byte(toks[0]), want) == 1
	}
	return false
}

// BearerToken returns the token of an Authorization header value of the
// Bearer scheme, written in any case.
func BearerToken(authorization string) (string, bool) {
	tok, ok := cutPrefixFold(strings.TrimSpace(authorization), "bearer")
	if !ok || tok == "" || (tok[0] != ' ' && tok[0] != '\t') {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// headerTokens splits comma-separated header values.
func headerTokens(values []string) []string {
	var out []string
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// isJSON reports whether a Content-Type value is application/json, with
// any parameters.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// normalizeOrigin returns an origin as "scheme://host[:port]" in lower
// case, or false when it is not one (e.g. "null").
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}

// refuseJSON is the default refusal: {"detail": msg}.
func refuseJSON(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"detail": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
