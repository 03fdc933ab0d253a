package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/retrain-rl/retrain/env"
)

type countingFactory struct {
	env.Factory
	closed atomic.Int32
}

func (f *countingFactory) Close() error { f.closed.Add(1); return nil }

// The cache builds a factory once however many ask at once, does not keep
// a failed build, and closes each factory once.
func TestFactoryCache(t *testing.T) {
	var c factoryCache
	var builds atomic.Int32
	f := &countingFactory{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := c.get("a", func() (env.Factory, error) { builds.Add(1); return f, nil })
			if err != nil || got != f {
				t.Errorf("get = %v, %v", got, err)
			}
		})
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("built %d times, want 1", n)
	}
	boom := errors.New("boom")
	if _, err := c.get("b", func() (env.Factory, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("failed build: %v", err)
	}
	if _, err := c.get("b", func() (env.Factory, error) { return f, nil }); err != nil {
		t.Errorf("build after a failure: %v", err)
	}
	if err := c.closeAll(); err != nil {
		t.Fatal(err)
	}
	if n := f.closed.Load(); n != 2 { // registered as "a" and as "b"
		t.Errorf("closed %d times, want 2", n)
	}
}

// Once closed, the lifecycle tracks nothing more; a second close reports
// that it is not the first and the done channel closes when the first
// finishes.
func TestLifecycle(t *testing.T) {
	l := newLifecycle()
	c := &wsConn{}
	if !l.track() || !l.addConn(c) {
		t.Fatal("an open lifecycle refused")
	}
	conns, first := l.close()
	if !first || len(conns) != 1 || conns[0] != c {
		t.Fatalf("close = %v, %v", conns, first)
	}
	if l.track() || l.addConn(&wsConn{}) || !l.isClosed() {
		t.Error("a closed lifecycle accepted more work")
	}
	if _, again := l.close(); again {
		t.Error("second close reported first")
	}
	l.untrack()
	l.wait()
	select {
	case <-l.done:
		t.Fatal("done before finish")
	default:
	}
	l.finish()
	<-l.done
}
