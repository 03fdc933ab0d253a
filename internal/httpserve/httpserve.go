// Package httpserve serves an http.Handler on a listener until a context is
// done, then shuts the server down gracefully: the one way the commands and
// servers of this project serve HTTP.
//
//	ln, err := net.Listen("tcp", "127.0.0.1:8000")
//	if err != nil { ... }
//	err = httpserve.Serve(ctx, ln, handler, &httpserve.Options{
//		Stopping: func() { fmt.Fprintln(os.Stderr, "shutting down") },
//	})
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/retrain-rl/retrain/internal/httpsec"
)

// Default values of Options' fields.
const (
	DefaultGrace             = 5 * time.Second
	DefaultReadHeaderTimeout = httpsec.DefaultReadHeaderTimeout
)

// Options configure Serve. A nil *Options, or a zero field, means the
// field's default.
type Options struct {
	// Grace is how long shutting down waits for the requests in flight
	// before closing their connections (default DefaultGrace).
	Grace time.Duration
	// ReadHeaderTimeout bounds the reading of a request's headers (default
	// DefaultReadHeaderTimeout).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection waiting this long for its
	// next request (default httpsec.DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (default
	// httpsec.DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once (default
	// httpsec.DefaultMaxConns); past it a connection is answered 503 (see
	// httpsec.Listener). There is no read or write timeout on the whole
	// request: bound a request body with httpsec.Handler, and let streamed
	// responses and WebSockets last.
	MaxConns int
	// ErrorLog receives the server's own errors (nil: the log package's
	// standard logger, as for http.Server).
	ErrorLog *log.Logger
	// Stopping, when not nil, is called once ctx is done, before the
	// shutdown starts, on Serve's goroutine (e.g. to say so).
	Stopping func()
}

// Serve serves h on ln until ctx is done, then shuts the server down,
// waiting up to the grace period for the requests in flight and closing the
// connections still open after it, and returns nil. It returns an error
// when the server fails before ctx is done. Serve closes ln.
//
// The server is bounded: ln is wrapped by httpsec.Listener (the connection
// cap), and the header, idle and header size limits of opts are set.
// Wrap h with httpsec.Handler for the checks of each request.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = httpsec.DefaultIdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = httpsec.DefaultMaxHeaderBytes
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          o.ErrorLog,
	}
	ln = httpsec.Listener(ln, o.MaxConns)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if o.Stopping != nil {
		o.Stopping()
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.Grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
	}
	<-errc
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("serve: shut down: %w", err)
	}
	return nil
}
