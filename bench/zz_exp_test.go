package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

func TestExpScale(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	RaiseFileLimit()
	srv := openaitest.NewServer(ServerOptions(200, 2*time.Second, 0))
	defer srv.Close()
	w := &Workload{URL: srv.URL, Episodes: 10000, Concurrency: 10000, Out: filepath.Join(t.TempDir(), "o.jsonl")}
	done := make(chan struct{})
	go func() {
		defer close(done)
		run := RunRetrain
		if os.Getenv("EXP") == "base" {
			run = RunBaseline
		}
		res, err := run(context.Background(), w)
		t.Log(res, err)
	}()
	var ms runtime.MemStats
	peak := uint64(0)
	wrote := false
	for {
		select {
		case <-done:
			t.Logf("peak HeapInuse+stacks %d MiB, server peak %d", peak>>20, srv.MaxConcurrent())
			return
		case <-time.After(200 * time.Millisecond):
		}
		runtime.ReadMemStats(&ms)
		v := ms.HeapInuse + ms.StackInuse
		if v > peak {
			peak = v
		}
		if !wrote && srv.MaxConcurrent() > 5000 {
			wrote = true
			f, _ := os.Create("/tmp/heap.out")
			pprof.WriteHeapProfile(f)
			f.Close()
			t.Logf("heap profile at %d MiB inuse, stacks %d MiB, goroutines %d", ms.HeapInuse>>20, ms.StackInuse>>20, runtime.NumGoroutine())
		}
	}
}
