package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/internal/httpserve"
)

// frontFlags are the flags of every command that listens (serve,
// serve-model, mcp serve --http): the token, who may call, and the bounds of
// the listener. See package internal/httpsec and docs/security.md.
type frontFlags struct {
	token         *string
	tokenEnv      string // the environment variable read when --token is not given
	insecure      *bool
	allowOrigins  allowOriginFlag
	maxConns      *int
	maxBody       *int64
	headerTimeout *time.Duration
	bodyTimeout   *time.Duration
	keepAlive     *time.Duration
}

// addFrontFlags defines the listener flags on fs; --token defaults to the
// environment variable tokenEnv.
func addFrontFlags(fs *flag.FlagSet, tokenEnv string) *frontFlags {
	f := &frontFlags{tokenEnv: tokenEnv}
	f.token = fs.String("token", "", "bearer `token` required on every route but /health (default $"+tokenEnv+")")
	f.insecure = fs.Bool("insecure", false, "allow listening on a non-loopback address without a token")
	fs.Var(&f.allowOrigins, "allow-origin", "serve browser requests from this `origin` (e.g. https://app.example; repeatable; default none)")
	f.maxConns = fs.Int("max-conns", httpsec.DefaultMaxConns, "connections open at once; more are answered 503")
	f.maxBody = fs.Int64("max-body", httpsec.DefaultMaxBodyBytes, "largest request body in `bytes`; longer ones are answered 413")
	f.headerTimeout = fs.Duration("header-timeout", httpsec.DefaultReadHeaderTimeout, "time limit to read a request's headers")
	f.bodyTimeout = fs.Duration("body-timeout", httpsec.DefaultBodyTimeout, "time limit to read a request's body (responses and WebSockets are not limited)")
	f.keepAlive = fs.Duration("keepalive-timeout", httpsec.DefaultIdleTimeout, "close a connection idle this long between requests")
	return f
}

// check validates the flags and fills the token from the environment.
func (f *frontFlags) check() error {
	switch {
	case *f.maxConns < 1:
		return usageErrorf("--max-conns is %d; it must be at least 1", *f.maxConns)
	case *f.maxBody < 1:
		return usageErrorf("--max-body is %d; it must be at least 1 byte", *f.maxBody)
	case *f.headerTimeout <= 0, *f.bodyTimeout <= 0, *f.keepAlive <= 0:
		return usageErrorf("--header-timeout, --body-timeout and --keepalive-timeout must be positive")
	}
	if *f.token == "" {
		*f.token = os.Getenv(f.tokenEnv)
	}
	for _, o := range f.allowOrigins {
		if o != "*" && (!strings.Contains(o, "://") || strings.Count(o, "/") > 2) {
			return usageErrorf("--allow-origin %q: write an origin as a browser sends it, scheme and host: https://app.example or http://localhost:3000", o)
		}
	}
	return nil
}

// listen listens on addr, refusing a non-loopback address without a token
// unless --insecure.
func (f *frontFlags) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := httpsec.CheckExposure(ln.Addr(), *f.token, *f.insecure); err != nil {
		ln.Close()
		if errors.Is(err, httpsec.ErrExposed) {
			return nil, usageErrorf("refusing to listen on %s (not a loopback address) without a token: anyone who can reach it could use the server; set a token with --token (or $%s), or pass --insecure to listen without one",
				ln.Addr(), f.tokenEnv)
		}
		return nil, err
	}
	return ln, nil
}

// handler returns h behind the checks of every request, refusals written
// by refuse (nil: {"detail": ...}).
func (f *frontFlags) handler(h http.Handler, refuse func(http.ResponseWriter, *http.Request, int, string)) http.Handler {
	return httpsec.Handler(h, f.options(refuse))
}

// options are the httpsec options of the flags.
func (f *frontFlags) options(refuse func(http.ResponseWriter, *http.Request, int, string)) *httpsec.Options {
	return &httpsec.Options{
		Token:        *f.token,
		AllowOrigins: f.allowOrigins,
		Public:       []string{"/health"},
		MaxBodyBytes: *f.maxBody,
		BodyTimeout:  *f.bodyTimeout,
		Refuse:       refuse,
	}
}

// serveOptions are the httpserve options of the flags.
func (f *frontFlags) serveOptions() *httpserve.Options {
	return &httpserve.Options{
		ReadHeaderTimeout: *f.headerTimeout,
		IdleTimeout:       *f.keepAlive,
		MaxConns:          *f.maxConns,
	}
}

// allowOriginFlag is --allow-origin, repeatable.
type allowOriginFlag []string

func (f *allowOriginFlag) String() string { return strings.Join(*f, ",") }

func (f *allowOriginFlag) Set(s string) error {
	*f = append(*f, strings.TrimSpace(s))
	return nil
}
