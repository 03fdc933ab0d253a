package openai

import (
	"bytes"
	"sync"
	"sync/atomic"

	"github.com/retrain-rl/retrain/internal/chatwire"
	"github.com/retrain-rl/retrain/model"
)

// appendRequest writes the chat completion body of req (see
// chatwire.AppendRequest).
func (c *Client) appendRequest(b []byte, modelName string, req *model.Request) ([]byte, error) {
	return chatwire.AppendRequest(b, modelName, req, chatwire.RequestOptions{TopLogprobs: c.opts.TopLogprobs, ReturnTokenIDs: c.opts.ReturnTokenIDs})
}

// body is a pooled request body shared by the attempts of one request. Each
// reader handed to the transport holds a reference, released when the
// transport closes it (which may happen after Do returns).
type body struct {
	buf  []byte
	refs atomic.Int32
}

// bodyPool holds bodies for reuse. A new body starts empty and grows to
// the size of what is written into it: a body is held for as long as its
// request is in flight, so with thousands of requests in flight a fixed
// head start (8 KiB) would cost more memory than the requests themselves.
var bodyPool = sync.Pool{New: func() any { return &body{} }}

// newBody returns an empty body holding the caller's reference.
func newBody() *body {
	bd := bodyPool.Get().(*body)
	bd.buf = bd.buf[:0]
	bd.refs.Store(1)
	return bd
}

// release drops a reference; the last returns the body to the pool.
func (bd *body) release() {
	if bd.refs.Add(-1) == 0 {
		if cap(bd.buf) <= 1<<20 {
			bodyPool.Put(bd)
		}
	}
}

// reader returns a new reader over the body, holding a reference.
func (bd *body) reader() *bodyReader {
	bd.refs.Add(1)
	r := &bodyReader{bd: bd}
	r.Reset(bd.buf)
	return r
}

// bodyReader reads a body and releases its reference on the first Close.
type bodyReader struct {
	bytes.Reader
	bd   *body
	once sync.Once
}

// Close releases the reader's reference to the body.
func (r *bodyReader) Close() error {
	r.once.Do(r.bd.release)
	return nil
}
