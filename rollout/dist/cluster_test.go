package dist_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
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

// nodeEnv, set in a child process of the test binary, makes it a NATS
// cluster node (TestMain calls runNode) instead of running the tests: a
// node of its own process can be SIGKILLed.
const nodeEnv = "RETRAIN_TEST_NATS_NODE"

// node is the configuration of a cluster node (nodeEnv's JSON).
type node struct {
	Name, Dir         string
	Port, ClusterPort int
	Routes            string
}

// runNode runs the NATS node nodeEnv describes until the process is killed.
func runNode() {
	var n node
	if err := json.Unmarshal([]byte(os.Getenv(nodeEnv)), &n); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(2)
	}
	s, err := server.NewServer(&server.Options{
		ServerName: n.Name, Host: "127.0.0.1", Port: n.Port,
		JetStream: true, StoreDir: n.Dir,
		Cluster: server.ClusterOpts{Name: "retrain-test", Host: "127.0.0.1", Port: n.ClusterPort},
		Routes:  server.RoutesFromStr(n.Routes),
		NoSigs:  true, NoLog: true, MaxPayload: 8 << 20,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(2)
	}
	s.Start()
	s.WaitForShutdown()
	os.Exit(0)
}

// startCluster starts a 3-node NATS cluster with JetStream on loopback, each
// node a process of the test binary (runNode), and returns the processes by
// server name and the client URLs once the cluster can hold a stream
// replicated on all three.
func startCluster(t *testing.T) (map[string]*exec.Cmd, []string) {
	t.Helper()
	ports := freePorts(t, 6)
	var routes, urls []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	nodes := map[string]*exec.Cmd{}
	for i := range 3 {
		n := node{Name: fmt.Sprintf("n%d", i+1), Dir: t.TempDir(), Port: ports[i], ClusterPort: ports[3+i], Routes: strings.Join(routes, ",")}
		b, _ := json.Marshal(n)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), nodeEnv+"="+string(b))
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // none left behind if the test dies
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		nodes[n.Name] = cmd
	}
	// Ready when a stream replicated on all three can be created: every node
	// is up, routed, and in the JetStream meta group, which has a leader.
	nc, err := nats.Connect(strings.Join(urls, ","), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js := newJetStream(t, nc)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe"}, Replicas: 3})
		if err == nil {
			err = js.DeleteStream(ctx, "PROBE")
		}
		cancel()
		if err == nil {
			return nodes, urls
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster cannot hold a stream on 3 nodes after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling the condition
	}
}

// A 3-node cluster, the run's streams replicated on all three, and the
// episode stream's leader killed mid-run: the run completes on the two
// others, every (task, sample) once, every line whole, with the rewards and
// advantages of an in-process run of the same seed. Each node is a process
// of its own (the test binary in node mode), and the leader is SIGKILLed.
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

	nodes, urls := startCluster(t)
	all := strings.Join(urls, ",")

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
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
	js := newJetStream(t, connect(t, all))

	p, out, w := prepareRun(ctx, t, job)
	var killed atomic.Value
	var done atomic.Int32
	sum, err := dist.Run(ctx, connect(t, all), p, job, &rollout.RunOptions{Sink: w, Progress: func(pr rollout.Progress) {
		if done.Add(1) != 2 {
			return
		}
		// Two episodes written, the others being played: kill the node
		// that leads the episode stream.
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		info, err := js.Stream(ictx, "RETRAIN_c1_EPISODES")
		if err != nil {
			t.Errorf("stream info: %v", err)
			return
		}
		ci := info.CachedInfo().Cluster
		if ci == nil || ci.Leader == "" || len(ci.Replicas) != 2 {
			t.Errorf("the episode stream is not replicated on 3 nodes: %+v", ci)
			return
		}
		cmd := nodes[ci.Leader]
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		killed.Store(ci.Leader)
	}}, &dist.Options{RunID: "c1", AckWait: 2 * time.Second, MaxDeliver: 10, Replicas: 3, Window: 4})
	// (The short ack wait makes the test quick; a delivery lost with the
	// node costs one, hence more of them than the default.)
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
		for id, tr := range readByID(t, out) {
			if tr.Error != "" {
				t.Logf("%s: %s (%s), attempts %d", id, tr.Error, tr.ErrorCause, tr.Attempts)
			}
		}
		t.Fatalf("summary: %+v", sum)
	}
	sameOutcomes(t, want, readByID(t, out))
	t.Logf("killed %s, the episode stream's leader, after 2 of 16 episodes", killed.Load())
}

// Replicas on a single server: an error that says a cluster is needed.
func TestReplicasNeedCluster(t *testing.T) {
	srv := startEmbedded(t)
	_, err := dist.Run(t.Context(), connect(t, srv.URL()), nil, testJob(), nil, &dist.Options{Replicas: 3})
	if err == nil || !strings.Contains(err.Error(), "3 replicas need a NATS cluster") {
		t.Fatalf("err = %v", err)
	}
}

// An episode no worker finishes in MaxDeliver deliveries, whose advisory is
// lost (the coordinator reconnecting to another node when it was sent): the
// coordinator finds it by looking at the stream and its consumer, records it
// as failed, and the run ends.
func TestExhaustedAdvisoryLost(t *testing.T) {
	defer dist.DropAdvisories()()
	episodeExhausted(t, "t5")
}
