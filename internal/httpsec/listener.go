package httpsec

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Bounds of the answer to a connection past the cap.
const (
	// RetryAfter is the Retry-After of the 503 answer, in seconds.
	RetryAfter = 1
	// refuseLinger bounds how long a refused connection is kept to write
	// the answer and drain the request, so that closing it does not reset
	// the connection before the client reads the answer.
	refuseLinger = time.Second
	// maxRefusing bounds the refused connections being answered at once;
	// past it they are closed without an answer.
	maxRefusing = 64
	// refuseDrain bounds the bytes of a refused request read before the
	// connection closes.
	refuseDrain = 64 << 10
	// fileReserve is the number of open files left to the rest of the
	// process (environments, subprocesses, logs) when the cap is lowered to
	// the process's limit.
	fileReserve = 256
)

// Listener returns ln with at most max connections open at once (max < 1
// means DefaultMaxConns; a max over the process's limit of open files, less
// a reserve for the rest of the process, is lowered to it). A connection past the cap is accepted, answered
// "HTTP/1.1 503 Service Unavailable" with Retry-After, and closed, so that
// it neither waits in the accept queue nor makes Accept fail; Accept goes on
// with the next one. A connection counts until it is closed, hijacked
// (WebSocket) connections included. Closing the listener waits for the
// refused connections still being answered (at most a second).
func Listener(ln net.Listener, max int) net.Listener {
	if max < 1 {
		max = DefaultMaxConns
	}
	if lim := openFileLimit(); lim > 0 && max > lim-fileReserve {
		max = lim - fileReserve
		if max < 1 {
			max = 1
		}
	}
	body := fmt.Sprintf("too many connections: the server's limit of %d connections open at once is reached; retry later\n", max)
	return &limitListener{
		Listener: ln,
		slots:    make(chan struct{}, max),
		refusing: make(chan struct{}, maxRefusing),
		answer: []byte(fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: %d\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
			RetryAfter, len(body), body)),
	}
}

type limitListener struct {
	net.Listener
	slots    chan struct{} // one per open connection
	refusing chan struct{} // one per refused connection being answered
	answer   []byte

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // refused connections being answered
}

// Accept returns the next connection within the cap, answering those past
// it.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			l.refuse(c)
		}
	}
}

// refuse answers c with 503 in the background, then closes it.
func (l *limitListener) refuse(c net.Conn) {
	l.mu.Lock()
	ok := !l.closed
	if ok {
		select {
		case l.refusing <- struct{}{}:
			l.wg.Add(1)
		default:
			ok = false
		}
	}
	l.mu.Unlock()
	if !ok {
		c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		c.Write(l.answer)
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing; l.wg.Done() }()
		c.SetDeadline(time.Now().Add(refuseLinger))
		if _, err := c.Write(l.answer); err == nil {
			if cw, ok := c.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			io.Copy(io.Discard, io.LimitReader(c, refuseDrain)) // until the client closes, or the deadline
		}
		c.Close()
	}()
}

// Close closes the listener and waits for the refused connections being
// answered.
func (l *limitListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	err := l.Listener.Close()
	l.wg.Wait()
	return err
}

// limitConn gives its slot back once closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// CloseWrite shuts down the writing side, when the connection can (the
// server uses it to finish a response before closing).
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
