package server

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// stepBuckets are the upper bounds, in seconds, of the step latency histogram.
var stepBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// metrics counts what the server does, for GET /metrics.
type metrics struct {
	sessionsCreated    atomic.Int64
	sessionsClosed     atomic.Int64
	sessionsReaped     atomic.Int64
	sessionsResumed    atomic.Int64
	capacityRejections atomic.Int64
	connections        atomic.Int64
	resets             atomic.Int64
	replays            atomic.Int64
	rollouts           atomic.Int64
	rolloutsActive     atomic.Int64
	rolloutEpisodes    atomic.Int64
	requestSeq         atomic.Int64

	mu        sync.Mutex
	steps     map[string]int64 // by environment
	errors    map[string]int64 // by code
	buckets   []int64          // cumulative counts are computed when written
	stepSum   float64
	stepCount int64
}

func newMetrics() *metrics {
	return &metrics{steps: map[string]int64{}, errors: map[string]int64{}, buckets: make([]int64, len(stepBuckets))}
}

// nextRequestID returns a server-generated request id.
func (m *metrics) nextRequestID() string {
	return "srv-" + strconv.FormatInt(m.requestSeq.Add(1), 10)
}

func (m *metrics) errorf(code string) {
	m.mu.Lock()
	m.errors[code]++
	m.mu.Unlock()
}

// observeStep records one step of environment envName that took d.
func (m *metrics) observeStep(envName string, d time.Duration) {
	secs := d.Seconds()
	i, _ := slices.BinarySearch(stepBuckets, secs)
	m.mu.Lock()
	m.steps[envName]++
	if i < len(m.buckets) {
		m.buckets[i]++
	}
	m.stepSum += secs
	m.stepCount++
	m.mu.Unlock()
}

// write writes the metrics in Prometheus' text exposition format.
func (m *metrics) write(w io.Writer, open, max int) {
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	gauge("retrain_serve_sessions_open", "Sessions open now.", int64(open))
	gauge("retrain_serve_sessions_max", "The session limit.", int64(max))
	gauge("retrain_serve_connections_open", "WebSocket connections open now.", m.connections.Load())
	counter("retrain_serve_sessions_created_total", "Sessions created.", m.sessionsCreated.Load())
	counter("retrain_serve_sessions_closed_total", "Sessions closed (by the client, reaped, or at shutdown).", m.sessionsClosed.Load())
	counter("retrain_serve_sessions_reaped_total", "Sessions closed for idleness or because they were not resumed in time.", m.sessionsReaped.Load())
	counter("retrain_serve_sessions_resumed_total", "Sessions resumed on a new connection.", m.sessionsResumed.Load())
	counter("retrain_serve_capacity_rejections_total", "Sessions refused because the server was at capacity.", m.capacityRejections.Load())
	counter("retrain_serve_resets_total", "Environment resets.", m.resets.Load())
	counter("retrain_serve_replays_total", "Requests answered from the session's last reply (a repeated request id).", m.replays.Load())
	counter("retrain_serve_rollouts_total", "Rollout requests served.", m.rollouts.Load())
	gauge("retrain_serve_rollouts_active", "Rollout requests running now.", m.rolloutsActive.Load())
	counter("retrain_serve_rollout_episodes_total", "Episodes streamed by rollout requests.", m.rolloutEpisodes.Load())

	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "# HELP retrain_serve_steps_total Environment steps, by environment.\n# TYPE retrain_serve_steps_total counter\n")
	for _, env := range sortedKeys(m.steps) {
		fmt.Fprintf(w, "retrain_serve_steps_total{env=%q} %d\n", env, m.steps[env])
	}
	fmt.Fprintf(w, "# HELP retrain_serve_errors_total Error replies, by code.\n# TYPE retrain_serve_errors_total counter\n")
	for _, code := range sortedKeys(m.errors) {
		fmt.Fprintf(w, "retrain_serve_errors_total{code=%q} %d\n", code, m.errors[code])
	}
	const h = "retrain_serve_step_seconds"
	fmt.Fprintf(w, "# HELP %s Time spent in environment steps.\n# TYPE %s histogram\n", h, h)
	var cum int64
	for i, le := range stepBuckets {
		cum += m.buckets[i]
		fmt.Fprintf(w, "%s_bucket{le=\"%s\"} %d\n", h, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n", h, m.stepCount)
	fmt.Fprintf(w, "%s_sum %s\n%s_count %d\n", h, strconv.FormatFloat(m.stepSum, 'g', -1, 64), h, m.stepCount)
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
