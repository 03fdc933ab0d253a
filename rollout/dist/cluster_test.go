package dist_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/rollout/dist"
)

// freePorts returns n free loopback ports (listened on and closed).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startCluster starts a 3-node NATS cluster with JetStream in this process,
// on loopback, and returns its nodes by server name once JetStream has a
// meta leader.
func startCluster(t *testing.T) map[string]*server.Server {
	t.Helper()
	ports := freePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	nodes := map[string]*server.Server{}
	for i, p := range ports {
		name := fmt.Sprintf("n%d", i+1)
		s, err := server.NewServer(&server.Options{
			ServerName: name, Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: filepath.Join(t.TempDir(), name),
			Cluster: server.ClusterOpts{Name: "retrain-test", Host: "127.0.0.1", Port: p},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
			NoSigs:  true, NoLog: true, MaxPayload: 8 << 20,
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("node %s did not start", name)
		}
		nodes[name] = s
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		leaders := 0
		for _, s := range nodes {
			if s.JetStreamIsLeader() {
				leaders++
			}
		}
		current := true
		for _, s := range nodes {
			current = current && s.JetStreamIsCurrent()
		}
		if leaders == 1 && current {
			return nodes
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster elected no JetStream meta leader in 20s")
		}
		time.Sleep(20 * time.Millisecond) // polling the condition
	}
}

// A 3-node cluster, the run's streams replicated on all three, and the
// episode stream's leader killed mid-run: the run completes on the two
// others, every (task, sample) once, every line whole, with the rewards and
// advantages of an in-process run of the same seed. The nodes run in this
// process; the killed one is shut down (its connections drop, its store
// stops), which the others see as a lost node.
func TestClusterNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	// A slow model, so that workers are mid-episode when the node dies; it
	// answers some samples wrongly (by their sampling seed), so that
	// advantages differ.
	fake := openaitest.NewServer(&openaitest.Options{Latency: 150 * time.Millisecond, Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		if req.Seed != nil && *req.Seed%3 == 0 {
			return openaitest.Reply{Content: "<answer>0</answer>"}
		}
		return openaitest.ArithmeticResponder(req)
	}})
	defer fake.Close()
	job := testJob()
	job.Model = model.Endpoint{BaseURL: fake.URL}
	want := inProcess(t, job)

	nodes := startCluster(t)
	var urls []string
	for _, s := range nodes {
		urls = append(urls, s.ClientURL())
	}
	all := strings.Join(urls, ",")

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range 3 {
		nc := connect(t, all)
		wg.Go(func() {
			if err := dist.Work(ctx, nc, &dist.WorkerOptions{RunID: "c1", Concurrency: 2}); err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}
	js, err := jetstream.New(connect(t, all))
	if err != nil {
		t.Fatal(err)
	}

	p, err := rollout.Prepare(ctx, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := filepath.Join(t.TempDir(), "dist.jsonl")
	w, err := rollout.OpenJSONL(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	var killed atomic.Value
	var done atomic.Int32
	sum, err := dist.Run(ctx, connect(t, all), p, job, &rollout.RunOptions{Sink: w, Progress: func(pr rollout.Progress) {
		if done.Add(1) != 2 {
			return
		}
		// Two episodes written, the others being played: kill the node
		// that leads the episode stream.
		info, err := js.Stream(ctx, "RETRAIN_c1_EPISODES")
		if err != nil {
			t.Errorf("stream info: %v", err)
			return
		}
		ci := info.CachedInfo().Cluster
		if ci == nil || ci.Leader == "" || len(ci.Replicas) != 2 {
			t.Errorf("the episode stream is not replicated on 3 nodes: %+v", ci)
			return
		}
		s := nodes[ci.Leader]
		s.Shutdown()
		s.WaitForShutdown()
		killed.Store(ci.Leader)
	}}, &dist.Options{RunID: "c1", AckWait: 2 * time.Second, Replicas: 3, Window: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if killed.Load() == nil {
		t.Fatal("no node was killed")
	}
	if sum.Episodes != 16 || sum.Failed != 0 {
		t.Fatalf("summary: %+v", sum)
	}
	sameOutcomes(t, want, readByID(t, out))
	t.Logf("killed %s, the episode stream's leader, after 2 of 16 episodes", killed.Load())
}
