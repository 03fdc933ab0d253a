// Package bench measures what retrain costs: the CPU time, throughput and
// peak memory of rollouts run with retrain's packages (rollout.Runner, the
// "calculator" environment, the smolagent dialect, the openai client, the
// JSONL writer) next to a minimal program that does the same work with plain
// net/http and encoding/json (see [RunBaseline]).
//
// The workload: calculator episodes of two turns (a tool call, then the
// answer) against the fake OpenAI server of package openaitest, every reply
// carrying a given number of tokens with their log-probabilities and token
// ids, every episode written as one JSON line.
//
// [Run] keeps the fake server in its own process and runs each client as a
// child process (the worker, see [RunWorker]), so that the child's CPU time
// (user+sys) and peak resident memory are measured apart from the server's.
// The `retrain bench` command is its front end:
//
//	exe, _ := os.Executable()
//	rep, err := bench.Run(ctx, &bench.Options{Worker: []string{exe, "bench"}})
//	if err != nil { ... }
//	rep.WriteTable(os.Stdout)
//
// The Go benchmarks BenchmarkRetrainEpisodes and BenchmarkBaselineEpisodes
// run both clients in one process, server included, for profiling:
//
//	go test ./bench -run '^$' -bench Episodes -cpuprofile cpu.out
package bench
