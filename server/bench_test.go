//go:build unix

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	wire "github.com/retrain-rl/retrain/internal/openenvwire"
)

// benchSessions is the number of concurrent sessions of the load test.
const benchSessions = 2000

// BenchmarkServeSessions is the load test of the server: benchSessions
// WebSocket sessions open at once over loopback, each stepping a counter
// environment as fast as its replies come; b.N steps in all. It reports
// steps/s, step round-trip latency percentiles, and the memory of the
// process (client and server share it: the heap per session counts both
// ends of each connection).
//
//	go test -run '^$' -bench ServeSessions -benchtime 40000x ./server/
func BenchmarkServeSessions(b *testing.B) {
	raiseFDLimit(b, 2*benchSessions+512)
	srv, url := start(b, &Options{
		MaxSessions: benchSessions + 16,
		DefaultEnv:  "counter",
		EnvConfig:   map[string]json.RawMessage{"counter": json.RawMessage(`{"steps": 1000000000}`)},
	})
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/ws"

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	conns := make([]*websocket.Conn, benchSessions)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	errs := make(chan error, benchSessions)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, wsURL, nil)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			if _, err := roundTrip(ctx, c, []byte(`{"type":"reset","data":{"prompt":"go"},"request_id":"r"}`)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
	}()
	for err := range errs {
		b.Fatalf("opening %d sessions: %v", benchSessions, err)
	}
	if n := srv.SessionsOpen(); n != benchSessions {
		b.Fatalf("%d sessions open, want %d", n, benchSessions)
	}
	runtime.GC()
	var opened runtime.MemStats
	runtime.ReadMemStats(&opened)

	var next atomic.Int64
	lat := make([][]time.Duration, benchSessions)
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	errs = make(chan error, benchSessions)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			var frame bytes.Buffer
			for seq := 0; next.Add(1) <= int64(b.N); seq++ {
				frame.Reset()
				fmt.Fprintf(&frame, `{"type":"step","data":{"raw":"x"},"request_id":"s%d"}`, seq)
				t0 := time.Now()
				reply, err := roundTrip(ctx, c, frame.Bytes())
				if err != nil {
					errs <- err
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
				if !bytes.Contains(reply, []byte(`"type":"observation"`)) {
					errs <- fmt.Errorf("step reply %s", reply)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}

	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "steps/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(benchSessions), "sessions")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(int64(opened.HeapInuse)-int64(before.HeapInuse))/benchSessions/1024, "heap-KB/session")
	if rss := rssMB(); rss > 0 {
		b.ReportMetric(rss, "rss-MB")
	}
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
}

// BenchmarkServeHTTPSessions measures how many sessions the server holds
// and what each costs: b.N sessions created over the HTTP session routes
// (POST /envs/counter/sessions, then a reset of each), by 32 clients on
// keep-alive connections, all held open at the end. It reports sessions/s
// created, the sessions open, and the heap and resident memory per session
// (the clients' share is a fixed 32 connections).
//
//	go test -run '^$' -bench ServeHTTPSessions -benchtime 65536x ./server/
func BenchmarkServeHTTPSessions(b *testing.B) {
	const workers = 32
	raiseFDLimit(b, 4*workers+512)
	n := b.N
	srv, url := start(b, &Options{MaxSessions: n + 16, DefaultEnv: "counter", IdleTimeout: time.Hour, ResumeTimeout: time.Hour})
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	post := func(path, body string) (string, error) {
		resp, err := cl.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		reply, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode/100 != 2 {
			err = fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, reply)
		}
		return resp.Header.Get(wire.HeaderSessionID), err
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssMB()
	b.ResetTimer()
	began := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				id, err := post("/envs/counter/sessions", "{}")
				if err == nil {
					_, err = post("/envs/counter/sessions/"+id+"/reset", `{"prompt":"go"}`)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatalf("after %d sessions: %v", srv.SessionsOpen(), err)
	}
	if open := srv.SessionsOpen(); open != n {
		b.Fatalf("%d sessions open, want %d", open, n)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "sessions/s")
	b.ReportMetric(float64(srv.SessionsOpen()), "sessions")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(n), "heap-B/session")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MB")
	if rss := rssMB(); rss > 0 {
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric((rss-rssBefore)*(1<<20)/float64(n), "rss-B/session")
	}
}

// roundTrip sends one frame and reads one reply.
func roundTrip(ctx context.Context, c *websocket.Conn, frame []byte) ([]byte, error) {
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		return nil, err
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte(`"type":"error"`)) {
		var f wire.Frame
		json.Unmarshal(b, &f)
		return nil, fmt.Errorf("error reply: %s", f.Data)
	}
	return b, nil
}

// raiseFDLimit raises the soft limit of open files to need (up to the hard
// limit): every session holds two descriptors in this process.
func raiseFDLimit(b *testing.B, need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Logf("getrlimit: %v", err)
		return
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		b.Skipf("the open-file limit (%d) is below the %d the load test needs; raise it with ulimit -n", lim.Cur, need)
	}
}

// rssMB is the process's resident set size, from /proc (Linux), or 0.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
