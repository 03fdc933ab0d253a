// Package dist runs a rollout across machines on NATS JetStream: a
// coordinator publishes one message per episode (task, sample, seeds and the
// job's settings) to a work-queue stream; workers pull them, play them with
// the same rollout code as an in-process run ([rollout.Player]) and send
// each trajectory to the coordinator (a NATS request); the coordinator
// scores them, computes group advantages and writes the JSONL through the
// same [rollout.Runner] as an in-process run ([rollout.RunnerOptions].Remote),
// so that the output is the same, and acks each episode once its line is
// written. docs/distributed.md describes the design.
//
//	srv, _ := dist.StartEmbedded(dir, "127.0.0.1:4222") // or a NATS server of your own
//	defer srv.Close()
//	nc, _ := dist.Connect(srv.URL())
//	defer nc.Close()
//	go dist.Work(ctx, nc, &dist.WorkerOptions{RunID: "run1"})  // on any machine
//	sum, err := dist.Run(ctx, nc, prepared, job, &rollout.RunOptions{Sink: w}, &dist.Options{RunID: "run1"})
package dist
