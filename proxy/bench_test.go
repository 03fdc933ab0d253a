package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/proxy"
)

// benchBody is an agent's call: a system prompt, a question, a tool.
const benchBody = `{"model":"fake-model","messages":[{"role":"system","content":"You are a careful assistant. Use the tools."},` +
	`{"role":"user","content":"What is 1234 + 5678? Show your work."}],` +
	`"tools":[{"type":"function","function":{"name":"add","description":"Adds two integers.","parameters":{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}}}}}],` +
	`"temperature":0.7,"max_tokens":128%s}`

// BenchmarkLatency measures the latency of a call (sent to the last byte
// read), p50 and p99, straight to the fake server ("direct") and through the
// proxy (behind its front door), at 1 and 256 concurrent sessions, streamed
// (64 chunks) and not. What the proxy adds is the difference.
//
//	go test -run '^$' -bench Latency -benchtime 2000x ./proxy
func BenchmarkLatency(b *testing.B) {
	for _, stream := range []bool{false, true} {
		for _, conc := range []int{1, 256} {
			for _, via := range []string{"direct", "proxy"} {
				b.Run(fmt.Sprintf("stream=%v/sessions=%d/%s", stream, conc, via), func(b *testing.B) {
					benchLatency(b, stream, conc, via == "proxy")
				})
			}
		}
	}
}

func benchLatency(b *testing.B, stream bool, conc int, viaProxy bool) {
	up := openaitest.NewServer(&openaitest.Options{LogprobTokens: 64})
	defer up.Close()
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	base := up.URL
	var p *proxy.Proxy
	if viaProxy {
		var err error
		p, err = proxy.New(&proxy.Options{Upstream: up.URL})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(httpsec.Handler(p, nil))
		defer func() {
			srv.Close()
			p.Close()
		}()
		base = srv.URL
	}
	extra := ""
	if stream {
		extra = `,"stream":true`
	}
	body := fmt.Sprintf(benchBody, extra)
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			session := fmt.Sprintf("bench-%d", g)
			k := 0
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				url := base + "/chat/completions"
				if viaProxy {
					url = base + "/sessions/" + session + "/v1/chat/completions"
				}
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				began := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(began)
				if resp.StatusCode != 200 {
					failed.Store(fmt.Errorf("status %d", resp.StatusCode))
					return
				}
				if k++; viaProxy && k%16 == 0 {
					p.End(session, nil) //nolint:errcheck // a session per 16 calls
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkSessionMemory measures the heap held per open session, at
// 10,000 sessions of one recorded call each (a 64-token reply with ids and
// log-probs, a two-message prompt with a tool).
//
//	go test -run '^$' -bench SessionMemory -benchtime 1x ./proxy
func BenchmarkSessionMemory(b *testing.B) {
	const sessions = 10_000
	up := openaitest.NewServer(&openaitest.Options{LogprobTokens: 64})
	defer up.Close()
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := fmt.Sprintf(benchBody, "")
	for range b.N {
		p, err := proxy.New(&proxy.Options{Upstream: up.URL})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(p)
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= sessions {
						return
					}
					req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/sessions/m-%d/v1/chat/completions", srv.URL, i), strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		tr.CloseIdleConnections()
		srv.Close()
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		if n := p.Sessions(); n != sessions {
			b.Fatalf("%d sessions open, want %d", n, sessions)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/sessions, "B/session")
		p.Close()
	}
}
