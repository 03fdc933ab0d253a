package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/rollout/dist"
)

func init() {
	workerCommand.run = runWorker
	register(workerCommand)
}

var workerCommand = &command{
	name:    "worker",
	summary: "play the episodes of distributed rollouts from a NATS JetStream server (see docs/distributed.md)",
	usage: "--nats URL [--run-id ID] [--concurrency N] [--nats-creds FILE | --nats-nkey FILE] [--nats-tls-ca FILE] [--nats-tls-cert FILE --nats-tls-key FILE]\n\n" +
		natsSecretsHelp + "\n\n" +
		"Examples:\n" +
		"  retrain rollout --nats embedded --nats-listen 127.0.0.1:4222 --n 4   # the coordinator, on one machine\n" +
		"  retrain worker --nats nats://127.0.0.1:4222 --concurrency 32        # a worker, on any machine that reaches it",
}

func runWorker(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(workerCommand, s.err)
	url := fs.String("nats", "", "`URL` of the NATS server with JetStream, e.g. nats://10.0.0.5:4222 (required)")
	runID := fs.String("run-id", dist.DefaultRunID, "the `id` of the run to work on (the coordinator's --run-id)")
	conc := fs.Int("concurrency", rollout.DefaultConcurrency, "episodes played at once")
	var co dist.ConnOptions
	defineNatsConnFlags(fs, &co.Creds, &co.NKey, &co.TLSCA, &co.TLSCert, &co.TLSKey)
	switch err := parseOnlyFlags(fs, args); {
	case err != nil:
		return err
	case *url == "":
		return usageErrorf("--nats is missing: give the NATS server's URL, e.g. --nats nats://127.0.0.1:4222")
	case *conc < 1:
		return usageErrorf("--concurrency is %d; it must be at least 1", *conc)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	co.LoadEnv()
	nc, err := dist.ConnectWith(*url, &co)
	if err != nil {
		return err
	}
	defer nc.Close()
	fmt.Fprintf(s.err, "worker: waiting for the episodes of run %s on %s (Ctrl-C stops)\n", *runID, nc.ConnectedUrlRedacted())
	return dist.Work(ctx, nc, &dist.WorkerOptions{
		RunID: *runID, Concurrency: *conc, Log: s.err,
		Prepare: &rollout.PrepareOptions{Model: endpoint.Options{Responder: fakeResponder}},
	})
}

// runDistributed runs prepared on workers through NATS as d says.
// With --resume it continues the run from its stream and from --out;
// with --nats embedded, the server's store (--out + ".nats") is removed only
// when the run ends complete, so that a coordinator killed or interrupted
// is resumed on the same store.
func runDistributed(ctx context.Context, c *rolloutConfig, job *rollout.Job, prepared *rollout.Prepared, ro *rollout.RunOptions, s stdio) (_ rollout.Summary, err error) {
	var written *dist.Written
	if c.Resume {
		if written, err = dist.ReadWritten(c.Out); err != nil {
			return rollout.Summary{}, err
		}
		fmt.Fprintf(s.err, "resuming run %s: %d episodes already in %s; the run's stream is taken up where it was\n", c.runID(), written.Len(), c.Out)
	}
	url := c.Nats
	co := c.natsConn()
	if url == natsEmbedded {
		dir := c.Out + ".nats"
		srv, serr := dist.StartEmbeddedWith(dir, cmp.Or(c.NatsListen, defaultNatsListen), c.embeddedOptions(co))
		if serr != nil {
			return rollout.Summary{}, serr
		}
		defer func() { // err: runDistributed's result
			if err == nil {
				os.RemoveAll(dir)
			}
		}()
		defer srv.Close()
		url = srv.URL()
		fmt.Fprint(s.err, c.embeddedBanner(url, dir))
	}
	nc, err := dist.ConnectWith(url, co)
	if err != nil {
		return rollout.Summary{}, err
	}
	defer nc.Close()
	if c.Workers > 0 {
		stop, err := startWorkers(c.Workers, url, c.runID(), c.Concurrency, job.Model.APIKey, co, s)
		if err != nil {
			return rollout.Summary{}, err
		}
		defer stop()
	}
	maxDeliver := c.MaxDeliver
	if maxDeliver == 0 {
		maxDeliver = max(c.Retries+2, dist.DefaultMaxDeliver)
	}
	return dist.Run(ctx, nc, prepared, job, ro, &dist.Options{RunID: c.runID(), AckWait: c.AckWait, MaxDeliver: maxDeliver, Replicas: c.NatsReplicas, Resume: written})
}

// The --nats value that starts a NATS server in-process, and its default
// listen address.
const (
	natsEmbedded      = "embedded"
	defaultNatsListen = "127.0.0.1:0"
)

// runID is the --run-id, or the default.
func (c *rolloutConfig) runID() string { return cmp.Or(c.RunID, dist.DefaultRunID) }

// validateDistributed checks the --nats flags.
func (c *rolloutConfig) validateDistributed() error {
	if c.Nats == "" {
		for _, f := range []struct {
			name string
			set  bool
		}{{"workers", c.Workers != 0}, {"nats-listen", c.NatsListen != ""}, {"run-id", c.RunID != ""}, {"ack-wait", c.AckWait != 0}, {"max-deliver", c.MaxDeliver != 0},
			{"nats-creds", c.NatsCreds != ""}, {"nats-nkey", c.NatsNKey != ""}, {"nats-tls-ca", c.NatsTLSCA != ""},
			{"nats-tls-cert", c.NatsTLSCert != ""}, {"nats-tls-key", c.NatsTLSKey != ""}, {"nats-replicas", c.NatsReplicas != 0},
			{"nats-server-cert", c.NatsServerCert != ""}, {"nats-server-key", c.NatsServerKey != ""}, {"nats-server-client-ca", c.NatsServerClientCA != ""}} {
			if f.set {
				return usageErrorf("--%s needs --nats (a NATS server's URL, or embedded)", f.name)
			}
		}
		return nil
	}
	switch {
	case c.Workers < 0:
		return usageErrorf("--workers is %d; it must not be negative", c.Workers)
	case c.AckWait < 0:
		return usageErrorf("--ack-wait is %v; it must not be negative", c.AckWait)
	case c.MaxDeliver < 0:
		return usageErrorf("--max-deliver is %d; it must not be negative", c.MaxDeliver)
	case c.NatsReplicas < 0:
		return usageErrorf("--nats-replicas is %d; it must not be negative", c.NatsReplicas)
	case c.Nats == natsEmbedded && c.NatsReplicas > 1:
		return usageErrorf("--nats-replicas %d needs a NATS cluster; the embedded server is one node", c.NatsReplicas)
	case c.NatsListen != "" && c.Nats != natsEmbedded:
		return usageErrorf("--nats-listen is for --nats embedded; with --nats %s the server is already listening", c.Nats)
	case c.Nats != natsEmbedded && (c.NatsServerCert != "" || c.NatsServerKey != "" || c.NatsServerClientCA != ""):
		return usageErrorf("--nats-server-cert, --nats-server-key and --nats-server-client-ca are the TLS of --nats embedded; with --nats %s, TLS is in that server's configuration, and --nats-tls-* say how to connect to it", dist.RedactURL(c.Nats))
	case c.Nats == natsEmbedded:
		return c.validateEmbeddedTLS()
	}
	return nil
}

// defineDistributedFlags defines the --nats flags on fs, bound to c.
func defineDistributedFlags(fs *flag.FlagSet, c *rolloutConfig) {
	fs.StringVar(&c.Nats, "nats", "", "run the episodes on workers (\"retrain worker\") through the NATS JetStream server at this `URL`, or \"embedded\" to start one in this process (see docs/distributed.md)")
	fs.StringVar(&c.NatsListen, "nats-listen", "", "with --nats embedded: the `address` its server listens on (default 127.0.0.1 and a free port; 0.0.0.0:4222 lets remote workers in, and then needs $NATS_TOKEN, or $NATS_USER and $NATS_PASSWORD, which every client must send, or client certificates: --nats-server-client-ca)")
	fs.StringVar(&c.RunID, "run-id", "", "with --nats: the run's `id`, naming its stream and subjects; workers take the same --run-id (default \""+dist.DefaultRunID+"\")")
	fs.IntVar(&c.Workers, "workers", 0, "with --nats: start this many local worker processes")
	fs.DurationVar(&c.AckWait, "ack-wait", 0, "with --nats: how long an episode may go without word from its worker (or from the coordinator, once it holds the trajectory) before it goes to another worker (0: 30s)")
	fs.IntVar(&c.MaxDeliver, "max-deliver", 0, "with --nats: deliveries of an episode before it is recorded as failed (0: --retries+2, at least 3)")
	fs.IntVar(&c.NatsReplicas, "nats-replicas", 0, "with --nats: how many nodes of a NATS cluster hold the run's episode stream; 3 survives the loss of a node (0: 1)")
	defineNatsConnFlags(fs, &c.NatsCreds, &c.NatsNKey, &c.NatsTLSCA, &c.NatsTLSCert, &c.NatsTLSKey)
	defineNatsServerFlags(fs, c)
}

// startWorkers starts n worker processes of this binary on url; stop
// interrupts them and waits for them to end.
func startWorkers(n int, url, runID string, concurrency int, apiKey string, co *dist.ConnOptions, s stdio) (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("--workers: cannot find this program to start its workers: %w", err)
	}
	self, _ = filepath.EvalSymlinks(self)
	var cmds []*exec.Cmd
	stop = func() {
		for _, cmd := range cmds {
			cmd.Process.Signal(os.Interrupt)
		}
		for _, cmd := range cmds {
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
	}
	for range n {
		args := append([]string{"worker", "--nats", url, "--run-id", runID, "--concurrency", strconv.Itoa(concurrency)}, natsConnArgs(co)...)
		cmd := exec.Command(self, args...)
		cmd.Stderr = s.err
		// Secrets go through the environment, never the command line:
		// the NATS token or password as the coordinator has them, and the
		// model's key, which never travels through NATS (dist.WorkerJob
		// drops it), as the workers' $OPENAI_API_KEY.
		cmd.Env = append(os.Environ(), co.Env()...)
		if apiKey != "" {
			cmd.Env = append(cmd.Env, "OPENAI_API_KEY="+apiKey)
		}
		// A worker gets SIGTERM when the coordinator dies, even by SIGKILL,
		// so that none is left behind.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("--workers: start a worker: %w", err)
		}
		cmds = append(cmds, cmd)
	}
	return stop, nil
}
