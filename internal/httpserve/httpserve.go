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
)

// Default values of Options' fields.
const (
	DefaultGrace             = 5 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
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
	srv := &http.Server{Handler: h, ReadHeaderTimeout: o.ReadHeaderTimeout, ErrorLog: o.ErrorLog}
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
