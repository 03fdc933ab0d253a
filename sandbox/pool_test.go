package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

func TestPool(t *testing.T) {
	sb := newSandbox(t, nil)
	pool := sandbox.NewPool(sb, &sandbox.PoolOptions{Size: 4})
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pool.WaitReady(ctx, 4); err != nil {
		t.Fatal(err)
	}
	// More concurrent runs than the pool holds: some run warm, some cold,
	// each gets its own result.
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res, err := pool.Run(ctx, sandbox.Request{Code: "import sys\nprint(int(sys.stdin.read()) * 2)", Stdin: fmt.Sprint(i)})
			switch {
			case err != nil:
				errs[i] = err
			case res.Stdout != fmt.Sprintf("%d\n", 2*i) || !res.OK():
				errs[i] = fmt.Errorf("run %d: %+v", i, res)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// A warm sandbox keeps the limits: a timeout in one is a result.
	res, err := pool.Run(ctx, sandbox.Request{Code: "while True: pass", Timeout: 200 * time.Millisecond})
	if err != nil || !res.TimedOut {
		t.Errorf("a warm run past its timeout: %+v, %v", res, err)
	}
	// Single use: a warm sandbox does not keep what the last run left.
	if err := pool.WaitReady(ctx, 4); err != nil {
		t.Fatal(err)
	}
	run1, _ := pool.Run(ctx, sandbox.Request{Code: "open('/work/left', 'w').write('x')\nimport builtins\nbuiltins.LEFT = 1"})
	run2, _ := pool.Run(ctx, sandbox.Request{Code: "import os, builtins\nprint(os.path.exists('/work/left'), hasattr(builtins, 'LEFT'))"})
	if !run1.OK() || run2.Stdout != "False False\n" {
		t.Errorf("a run saw what the one before it left: %+v / %+v", run1, run2)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := pool.Run(ctx, sandbox.Request{Code: "print(1)"}); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	checkNoLeftovers(t)
}

// A lazy pool starts no sandbox until it is warmed or used: none runs
// while a warm pool would have started its interpreters; then Warm fills
// it, and a run works as in any pool.
func TestPoolLazy(t *testing.T) {
	sb := newSandbox(t, nil)
	pool := sandbox.NewPool(sb, &sandbox.PoolOptions{Size: 2, Lazy: true})
	defer pool.Close()
	time.Sleep(500 * time.Millisecond) // what is checked is that nothing starts meanwhile
	if left := sandboxProcesses(); len(left) != 0 || pool.Ready() != 0 {
		t.Fatalf("a lazy pool started sandboxes before any use: %v, %d ready", left, pool.Ready())
	}
	pool.Warm()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pool.WaitReady(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if res, err := pool.Run(ctx, sandbox.Request{Code: "print(6*7)"}); err != nil || res.Stdout != "42\n" {
		t.Fatalf("run: %+v, %v", res, err)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	pool.Warm() // after Close: nothing
	checkNoLeftovers(t)

	// Closed before any use: nothing to end, nothing started after.
	never := sandbox.NewPool(sb, &sandbox.PoolOptions{Size: 2, Lazy: true})
	if err := never.Close(); err != nil {
		t.Fatal(err)
	}
	never.Warm()
	if _, err := never.Run(ctx, sandbox.Request{Code: "print(1)"}); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	checkNoLeftovers(t)
}
