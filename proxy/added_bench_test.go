//go:build unix

package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/proxy"
)

// benchProfileEnv names a file the proxy process of BenchmarkAdded writes
// its CPU profile to (the last run of the benchmark's function wins).
const benchProfileEnv = "RETRAIN_PROXY_BENCH_CPUPROFILE"

// benchCPUsEnv, when set, pins the proxy process to these cores (a taskset
// list, e.g. "1"): see docs/benchmarks.md.
const benchCPUsEnv = "RETRAIN_PROXY_BENCH_PROXY_CPUS"

// addedCase is one configuration of BenchmarkAdded.
type addedCase struct {
	stream   bool
	sessions int
	latency  time.Duration // the upstream's wait before its reply (its first chunk)
	perChunk time.Duration // the upstream's wait before each further chunk of a stream
}

// BenchmarkAdded measures the latency the proxy adds to an agent's call
// and what it costs. The proxy runs in a process of its own (this test
// binary started again, behind its front door as in retrain proxy); the
// client and the fake server run in this one. Each call is sent either
// straight to the fake server or through the proxy, alternately from one
// shared sequence, so both kinds see the same machine at the same moment;
// b.N calls of each kind are timed, sent to last byte read.
//
// One session: the fake server answers at once and streams its 64 chunks
// in one burst (the proxy's worst case, every chunk's work in series).
// 256 sessions: the fake server waits as a model serving 256 sequences at
// once does (1 s for a whole reply; 100 ms, then 30 ms a token for a
// stream: 33 tokens/s a sequence, 8,500 tokens/s in all), so 256 calls are
// open at once without the load generator saturating the 2 cores; the
// sessions start spread over one call's time.
//
// Metrics, in µs: direct-p50/p99 and proxy-p50/p99 (each kind's
// distribution), added-p50/p99 (their difference); first-added-p50/p99
// for a stream (the same at the first byte, the agent's time to first
// token); self-p50/p99 (measured inside the proxy process: the time of a
// call in the proxy's handler less its wait on the upstream, i.e. the
// proxy's own work on the call, and its waits for a core); cpu-µs/call (the proxy
// process's CPU time over the timed calls, per proxied call); runq-µs/call
// (the time the proxy process's threads were ready but waited for a core,
// per proxied call: high on a busy machine); load (the load average at the
// end, since the machine may be shared).
//
//	go test -run '^$' -bench Added -benchtime 3000x ./proxy
func BenchmarkAdded(b *testing.B) {
	for _, c := range []addedCase{
		{stream: false, sessions: 1},
		{stream: true, sessions: 1},
		{stream: false, sessions: 256, latency: time.Second},
		{stream: true, sessions: 256, latency: 100 * time.Millisecond, perChunk: 30 * time.Millisecond},
	} {
		b.Run(fmt.Sprintf("stream=%v/sessions=%d", c.stream, c.sessions), func(b *testing.B) { benchAdded(b, c) })
	}
}

func benchAdded(b *testing.B, c addedCase) {
	up := openaitest.NewServer(&openaitest.Options{LogprobTokens: 64, Latency: c.latency})
	defer up.Close()
	// The fake server's handler on a listener of its own, to pace its
	// stream's chunks.
	var h http.Handler = up
	if c.perChunk > 0 {
		h = paced(up, c.perChunk)
	}
	upSrv := httptest.NewServer(h)
	defer upSrv.Close()
	upURL := upSrv.URL + "/v1"

	child := startBenchChild(b, upURL)
	defer child.stop(b)
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 2048, MaxIdleConnsPerHost: 1024}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	extra := ""
	if c.stream {
		extra = `,"stream":true`
	}
	body := fmt.Sprintf(benchBody, extra)
	// call sends one call and returns its time to the first and last byte.
	call := func(url string) (first, last time.Duration, err error) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		began := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		buf := make([]byte, 32<<10)
		n, rerr := resp.Body.Read(buf)
		first = time.Since(began)
		if n == 0 && rerr != nil && rerr != io.EOF {
			return 0, 0, rerr
		}
		if _, err := io.CopyBuffer(io.Discard, resp.Body, buf); err != nil {
			return 0, 0, err
		}
		last = time.Since(began)
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return first, last, nil
	}
	post := func(url string) error {
		resp, err := client.Post(url, "application/json", nil)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // a drained body only
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d", url, resp.StatusCode)
		}
		return nil
	}
	// session runs f for each of sessions in parallel and returns the
	// first error.
	sessions := func(f func(g int) error) error {
		var wg sync.WaitGroup
		var first atomic.Value
		for g := range c.sessions {
			wg.Go(func() {
				if err := f(g); err != nil {
					first.CompareAndSwap(nil, err)
				}
			})
		}
		wg.Wait()
		err, _ := first.Load().(error)
		return err
	}
	proxyURL := func(g, k int) string {
		return fmt.Sprintf("%s/sessions/bench-%d-%d/v1/chat/completions", child.url, g, k)
	}

	// Warm up: a connection of each kind for each session.
	if err := sessions(func(g int) error {
		if _, _, err := call(upURL + "/chat/completions"); err != nil {
			return err
		}
		_, _, err := call(proxyURL(g, -1))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	child.stats(b) // from here on

	direct, proxied := make([][2]time.Duration, b.N), make([][2]time.Duration, b.N)
	var next atomic.Int64
	b.ResetTimer()
	// The sessions start spread over one call's time, as agents that did
	// not all start at once: in step, each second would begin with 256
	// replies (or chunks) at once, a queue that only the load generator
	// makes.
	stagger := (c.latency + 64*c.perChunk) / time.Duration(c.sessions) // 64 tokens
	err := sessions(func(g int) error {
		time.Sleep(time.Duration(g) * stagger)
		k, calls := 0, 0 // the session's number, its calls
		for {
			i := next.Add(1) - 1
			if i >= 2*int64(b.N) {
				if calls == 0 {
					return nil
				}
				return post(fmt.Sprintf("%s/sessions/bench-%d-%d/end", child.url, g, k))
			}
			if i%2 == 1 {
				first, last, err := call(upURL + "/chat/completions")
				direct[i/2] = [2]time.Duration{first, last}
				if err != nil {
					return err
				}
				continue
			}
			first, last, err := call(proxyURL(g, k))
			proxied[i/2] = [2]time.Duration{first, last}
			if err != nil {
				return err
			}
			// A session of 16 calls, as an agent's episode.
			if calls++; calls == 16 {
				if err := post(fmt.Sprintf("%s/sessions/bench-%d-%d/end", child.url, g, k)); err != nil {
					return err
				}
				k, calls = k+1, 0
			}
		}
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	st := child.stats(b)

	pct := func(d [][2]time.Duration, at, q int) float64 {
		s := make([]time.Duration, len(d))
		for i := range d {
			s[i] = d[i][at]
		}
		slices.Sort(s)
		return float64(s[min(len(s)-1, len(s)*q/100)].Microseconds())
	}
	dp50, dp99, pp50, pp99 := pct(direct, 1, 50), pct(direct, 1, 99), pct(proxied, 1, 50), pct(proxied, 1, 99)
	b.ReportMetric(dp50, "direct-p50-µs")
	b.ReportMetric(dp99, "direct-p99-µs")
	b.ReportMetric(pp50, "proxy-p50-µs")
	b.ReportMetric(pp99, "proxy-p99-µs")
	b.ReportMetric(pp50-dp50, "added-p50-µs")
	b.ReportMetric(pp99-dp99, "added-p99-µs")
	if c.stream {
		b.ReportMetric(pct(proxied, 0, 50)-pct(direct, 0, 50), "first-added-p50-µs")
		b.ReportMetric(pct(proxied, 0, 99)-pct(direct, 0, 99), "first-added-p99-µs")
	}
	slices.Sort(st.SelfNS)
	if n := len(st.SelfNS); n > 0 {
		b.ReportMetric(float64(st.SelfNS[n/2])/1e3, "self-p50-µs")
		b.ReportMetric(float64(st.SelfNS[min(n-1, n*99/100)])/1e3, "self-p99-µs")
	}
	b.ReportMetric(float64(st.CPUNS)/1e3/float64(b.N), "cpu-µs/call")
	b.ReportMetric(float64(st.RunqNS)/1e3/float64(b.N), "runq-µs/call")
	b.ReportMetric(loadAverage(), "load")
}

// paced delays each flush of a token of h's streamed replies by d, as a
// model that generates a token every d. The chunks without a token (the
// role, the finish reason, the usage, [DONE]) go at once, as from a real
// server: pacing them would bill the usage chunk the proxy asks for as a
// token's time.
func paced(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&pacedWriter{ResponseWriter: w, d: d}, r)
	})
}

type pacedWriter struct {
	http.ResponseWriter
	d     time.Duration
	token bool // a token was written since the last flush
}

func (w *pacedWriter) Write(b []byte) (int, error) {
	if i := bytes.Index(b, []byte(`"content":"`)); i >= 0 && i+11 < len(b) && b[i+11] != '"' {
		w.token = true
	}
	return w.ResponseWriter.Write(b)
}

func (w *pacedWriter) FlushError() error {
	if w.token {
		w.token = false
		time.Sleep(w.d)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *pacedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// loadAverage is the machine's load average over the last minute, or 0.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}

// benchChildProc is the proxy process of BenchmarkAdded.
type benchChildProc struct {
	url    string
	client *http.Client
	cmd    *exec.Cmd
	stdin  io.Closer
}

// childStats is what the proxy process measured since its last reset.
type childStats struct {
	// CPUNS is the process's CPU time, user and system.
	CPUNS int64 `json:"cpu_ns"`
	// RunqNS is the time its threads were ready to run but waited for a
	// core (Linux's schedstat; 0 elsewhere).
	RunqNS int64 `json:"runq_ns"`
	// SelfNS holds each chat call's time in the proxy's handler less its
	// wait on the upstream.
	SelfNS []int64 `json:"self_ns"`
}

// startBenchChild starts the proxy process, forwarding to upstream. Stop
// it when done.
func startBenchChild(b *testing.B, upstream string) *benchChildProc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	if cpus := os.Getenv(benchCPUsEnv); cpus != "" {
		// The proxy on cores of its own (run the benchmark itself under
		// taskset on the others): what it adds when the load generator
		// does not take its cores.
		cmd = exec.Command("taskset", "-c", cpus, os.Args[0], "-test.run=^$", "-test.bench=^$")
	}
	cmd.Env = append(os.Environ(), benchChildEnv+"="+upstream)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &benchChildProc{client: &http.Client{}, cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		c.stop(b)
		b.Fatalf("the proxy process did not start: %v", err)
	}
	c.url = strings.TrimSpace(line)
	return c
}

// stop ends the proxy process and waits for it.
func (c *benchChildProc) stop(b *testing.B) {
	c.stdin.Close() // the process ends at the end of its stdin
	if err := c.cmd.Wait(); err != nil {
		b.Errorf("the proxy process: %v", err)
	}
}

// stats returns what the proxy process measured since the last call.
func (c *benchChildProc) stats(b *testing.B) childStats {
	b.Helper()
	resp, err := c.client.Get(c.url + "/bench/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st childStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	c.client.CloseIdleConnections()
	return st
}

func init() { benchChild = runBenchChild }

// runBenchChild is the proxy process: it serves a proxy to upstream on a
// loopback port it prints, and GET /bench/stats, until its stdin ends.
func runBenchChild(upstream string) int {
	if f := os.Getenv(benchProfileEnv); f != "" {
		out, err := os.Create(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pprof.StartCPUProfile(out) //nolint:errcheck // best effort
		defer func() {
			pprof.StopCPUProfile()
			out.Close()
		}()
	}
	base := &http.Transport{Proxy: nil, MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	p, err := proxy.New(&proxy.Options{Upstream: upstream, Client: &http.Client{Transport: waitTransport{base}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.Close()
	var mu sync.Mutex
	var self []int64
	cpu0, runq0 := cpuTime(), runqTime()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bench/stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st := childStats{CPUNS: cpuTime() - cpu0, RunqNS: runqTime() - runq0, SelfNS: self}
		self, cpu0, runq0 = nil, cpuTime(), runqTime()
		mu.Unlock()
		json.NewEncoder(w).Encode(st) //nolint:errcheck // the benchmark fails on it
	})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wc := &waitClock{}
		began := time.Now()
		p.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), waitKey{}, wc)))
		d := int64(time.Since(began) - wc.d)
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			mu.Lock()
			self = append(self, d)
			mu.Unlock()
		}
	})
	mux.Handle("/", httpsec.Handler(inner, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	fmt.Printf("http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // until the benchmark is done
	srv.Close()
	base.CloseIdleConnections()
	return 0
}

// cpuTime is this process's CPU time so far, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// runqTime is the time this process's threads waited for a core so far,
// in ns: the second field of each thread's /proc schedstat (threads that
// ended are not counted); 0 where there is none.
func runqTime() int64 {
	tasks, _ := os.ReadDir("/proc/self/task")
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += n
		}
	}
	return sum
}

// waitKey keys a call's *waitClock in its context.
type waitKey struct{}

// waitClock adds up a call's wait on the upstream. Only the call's handler
// goroutine touches it.
type waitClock struct{ d time.Duration }

// waitTransport times the proxy's upstream calls: the round trip to the
// headers, then each read of the body, into the call's waitClock.
type waitTransport struct{ base http.RoundTripper }

func (t waitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	wc, _ := req.Context().Value(waitKey{}).(*waitClock)
	began := time.Now()
	resp, err := t.base.RoundTrip(req)
	if wc == nil {
		return resp, err
	}
	wc.d += time.Since(began)
	if resp != nil {
		resp.Body = &waitBody{ReadCloser: resp.Body, wc: wc}
	}
	return resp, err
}

type waitBody struct {
	io.ReadCloser
	wc *waitClock
}

func (b *waitBody) Read(p []byte) (int, error) {
	began := time.Now()
	n, err := b.ReadCloser.Read(p)
	b.wc.d += time.Since(began)
	return n, err
}
