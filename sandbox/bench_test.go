package sandbox_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

// BenchmarkLatency measures the time from "run this code" to its result
// for print(1), cold (a new sandbox per run) and from the warm pool, with 1
// and 16 runs at once, and reports p50 and p99 in ms. Each iteration is one
// burst of c concurrent runs; between bursts the pool is refilled (the time
// to refill is not counted: it is the pool's background work).
//
//	go test -run '^$' -bench Latency -benchtime 20x ./sandbox/
func BenchmarkLatency(b *testing.B) {
	sb, err := sandbox.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"cold", "warm"} {
		for _, c := range []int{1, 16} {
			b.Run(mode+"/concurrent="+strconv.Itoa(c), func(b *testing.B) {
				var pool *sandbox.Pool
				if mode == "warm" {
					pool = sandbox.NewPool(sb, &sandbox.PoolOptions{Size: c})
					defer pool.Close()
				}
				ctx := context.Background()
				var lat []time.Duration
				var mu sync.Mutex
				b.ResetTimer()
				for range b.N {
					if pool != nil {
						b.StopTimer()
						if err := pool.WaitReady(ctx, c); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					var wg sync.WaitGroup
					for range c {
						wg.Go(func() {
							start := time.Now()
							var res sandbox.Result
							var err error
							if pool != nil {
								res, err = pool.Run(ctx, sandbox.Request{Code: "print(1)"})
							} else {
								res, err = sb.Run(ctx, sandbox.Request{Code: "print(1)"})
							}
							d := time.Since(start)
							if err != nil || res.Stdout != "1\n" {
								b.Errorf("%+v %v", res, err)
							}
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
						})
					}
					wg.Wait()
				}
				b.StopTimer()
				slices.Sort(lat)
				q := func(p float64) float64 {
					return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
				}
				b.ReportMetric(q(0.50), "p50-ms")
				b.ReportMetric(q(0.99), "p99-ms")
			})
		}
	}
}
