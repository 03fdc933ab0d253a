// Package sandbox runs untrusted code, such as a model's Python, on any Linux
// machine without Docker or a daemon: each run is a bubblewrap (bwrap)
// sandbox with new user, PID, network, IPC, UTS and cgroup namespaces, no
// network, the system's /usr read-only, a private tmpfs at /work, and
// nothing else of the host (not the project's or the user's files, nor other
// processes' /proc, nor the host's environment). Resource limits bound the
// wall clock (the whole process tree is killed), CPU time, memory,
// processes, file size, open files and output.
//
//	sb, err := sandbox.New(nil) // an error wrapping ErrNoBwrap says how to install bwrap
//	if err != nil { ... }
//	res, err := sb.Run(ctx, sandbox.Request{Code: "print(1)"})
//	// res.Stdout == "1\n", res.ExitCode == 0; a crash, timeout or limit is
//	// in res (ExitCode, TimedOut, Limit); err means the sandbox failed.
//
// A [Pool] keeps sandboxes started ahead, the interpreter loaded and
// waiting for code, so that a run does not pay start-up:
//
//	pool := sandbox.NewPool(sb, nil)
//	defer pool.Close()
//	res, err := pool.Run(ctx, sandbox.Request{Code: "print(1)"})
//
// A [Session] is one interpreter that keeps its variables between runs, like
// a notebook.
//
// [Sandbox.RunCommand] runs any program (an agent, a verifier) in a fresh
// sandbox, with a host work directory, extra read-only paths, and, through
// a [Forward], network to one host unix socket only:
//
//	res, err := sb.RunCommand(ctx, sandbox.Command{
//		Argv:    []string{"node", "/opt/agent/agent.mjs"},
//		Work:    dir, ReadOnly: []string{"/opt/agent"},
//		Forward: &sandbox.Forward{Port: 8080, Socket: "/run/me/proxy.sock"},
//	})
//
// See docs/security.md for what the sandbox guarantees and what it does not.
package sandbox
