package sandbox

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"
)

// loadTimeout bounds how long a pooled sandbox may take to load its
// interpreter before it is given up.
const loadTimeout = time.Minute

// DefaultPoolSize is the number of sandboxes a [Pool] keeps ready when
// PoolOptions.Size is zero.
const DefaultPoolSize = 8

// PoolOptions configure a [Pool]. Nil means defaults.
type PoolOptions struct {
	// Size is how many sandboxes are kept started and waiting (default 8).
	// Each idle one is a loaded Python interpreter (about 10 MB).
	Size int
	// Starters is how many sandboxes start at once while refilling
	// (default GOMAXPROCS).
	Starters int
	// Lazy starts no sandbox until the pool is first used ([Pool.Run],
	// [Pool.WaitReady]) or told to ([Pool.Warm]): for a pool made where it
	// may never run anything (an environment built only to check its
	// configuration, a distributed run's coordinator).
	Lazy bool
}

// Pool runs Python code in sandboxes started ahead: each is a loaded
// interpreter waiting for its code, used once and replaced in the
// background once its run is over. When none is ready a run starts one
// cold. A Pool is safe for
// concurrent use; Close stops the refilling and ends the idle sandboxes.
type Pool struct {
	sb     *Sandbox
	ready  chan *proc
	refill chan struct{} // one token per sandbox to start
	done   chan struct{}
	wg     sync.WaitGroup

	starters int
	start    sync.Once

	mu     sync.Mutex
	closed bool
}

// NewPool starts filling a pool of sb's sandboxes (unless opts.Lazy); nil
// opts means defaults.
func NewPool(sb *Sandbox, opts *PoolOptions) *Pool {
	var o PoolOptions
	if opts != nil {
		o = *opts
	}
	if o.Size <= 0 {
		o.Size = DefaultPoolSize
	}
	if o.Starters <= 0 {
		o.Starters = runtime.GOMAXPROCS(0)
	}
	o.Starters = min(o.Starters, o.Size)
	p := &Pool{sb: sb, ready: make(chan *proc, o.Size), refill: make(chan struct{}, o.Size), done: make(chan struct{}), starters: o.Starters}
	for range o.Size {
		p.refill <- struct{}{}
	}
	if !o.Lazy {
		p.Warm()
	}
	return p
}

// Warm starts filling the pool, if it has not started yet (a lazy one);
// it returns at once. After Close it does nothing.
func (p *Pool) Warm() {
	p.start.Do(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			return
		}
		for range p.starters {
			p.wg.Add(1)
			go p.fill()
		}
	})
}

// fill starts a sandbox for each refill token and offers it to the pool,
// until the pool closes. A failed start is retried after a pause; runs
// meanwhile start cold, and report the failure themselves.
func (p *Pool) fill() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case <-p.refill:
		}
		pr, err := p.sb.startPython(true)
		if err == nil {
			// Offer it once the interpreter has loaded.
			select {
			case <-pr.loaded:
			case <-pr.gone:
				discard(pr)
				err = errors.New("the interpreter ended before it loaded")
			case <-time.After(loadTimeout):
				discard(pr)
				err = errors.New("the interpreter did not load in time")
			case <-p.done:
				discard(pr)
				return
			}
		}
		if err != nil {
			select {
			case <-p.done:
				return
			case <-time.After(time.Second):
			}
			p.refill <- struct{}{} // the token is still owed
			continue
		}
		select {
		case p.ready <- pr:
		case <-p.done:
			discard(pr)
			return
		}
	}
}

// discard ends a sandbox that was never used.
func discard(pr *proc) {
	pr.kill()
	pr.closeStdin()
	pr.cmd.Wait()
	if pr.doneR != nil {
		pr.doneR.Close()
	}
	if pr.cleanup != nil {
		pr.cleanup()
	}
}

// Ready is the number of sandboxes waiting now.
func (p *Pool) Ready() int { return len(p.ready) }

// WaitReady waits until n sandboxes are waiting (at most the pool's size),
// or ctx ends. It is for benchmarks and for warming up before a run.
func (p *Pool) WaitReady(ctx context.Context, n int) error {
	p.Warm()
	n = min(n, cap(p.ready))
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for len(p.ready) < n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Run runs req in a ready sandbox, or in a cold one when none is ready. It
// returns what [Sandbox.Run] returns, and ErrClosed after Close.
func (p *Pool) Run(ctx context.Context, req Request) (Result, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return Result{}, ErrClosed
	}
	p.Warm()
	select {
	case pr := <-p.ready:
		// The replacement starts once this run is over, so that it does
		// not compete with the run for the CPU.
		defer func() {
			select {
			case p.refill <- struct{}{}:
			default:
			}
		}()
		return pr.run(ctx, req, p.sb.limits.Timeout)
	default:
		return p.sb.Run(ctx, req)
	}
}

// Sandbox returns the sandbox the pool runs in.
func (p *Pool) Sandbox() *Sandbox { return p.sb }

// Close stops refilling and ends the waiting sandboxes. Runs in progress
// finish on their own. It is safe to call more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
	for {
		select {
		case pr := <-p.ready:
			discard(pr)
		default:
			return nil
		}
	}
}
