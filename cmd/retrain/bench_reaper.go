package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/retrain-rl/retrain/internal/proctree"
)

// The CPU time of a sandboxed test is lost to a plain rusage: bubblewrap
// with a PID namespace (the sandbox's --unshare-all) runs an init process
// as PID 1 of the namespace, which waits for the test, and bwrap's outer
// process takes the exit status from it through a pipe and exits without
// waiting for it. The init process, with the test's CPU in its rusage, is
// then reaped by whoever adopts orphans (PID 1 of the machine), so the
// parent's children's rusage (what os.ProcessState reports) misses it.
// "bench dist --workload code" therefore starts each measured process under
// a reaper: this same binary in a hidden mode, a child subreaper
// (PR_SET_CHILD_SUBREAPER) that adopts its descendants' orphans and reaps
// them, so that its own rusage, read by the bench when it exits, holds the
// whole tree's CPU.

// distReaperFlag, first among "bench dist"'s arguments, runs the rest as a
// command under a reaper (runReaper); the bench starts it, users do not.
const distReaperFlag = "--reaper"

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER (linux/prctl.h).
const prSetChildSubreaper = 36

// reaperGrace is how long the reaper waits for the orphans left when its
// command has exited before it kills them.
const reaperGrace = 5 * time.Second

// runReaper runs argv (a program's absolute path and its arguments) as a
// child of this process made a child subreaper, forwards SIGINT and SIGTERM
// to it, and reaps every process that exits below it, the command's orphans
// included, until none is left. It fails when the command did not exit 0.
func runReaper(_ context.Context, argv []string) error {
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		return usageErrorf("%s wants a program's absolute path and its arguments", distReaperFlag)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return fmt.Errorf("reaper: become a child subreaper: %w", e)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return fmt.Errorf("reaper: start %s: %w", argv[0], err)
	}
	go func() {
		for sig := range sigs {
			p.Signal(sig) // after the command's end: an error, and nothing to do
		}
	}()
	var status syscall.WaitStatus
	var grace *time.Timer
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.ECHILD) {
			break
		}
		if err != nil {
			return fmt.Errorf("reaper: wait: %w", err)
		}
		if pid == p.Pid {
			status = ws
			grace = time.AfterFunc(reaperGrace, killChildren)
		}
	}
	if grace != nil {
		grace.Stop()
	}
	switch {
	case status.Exited() && status.ExitStatus() == 0:
		return nil
	case status.Signaled():
		return fmt.Errorf("%s was killed by %v", argv[0], status.Signal())
	default:
		return fmt.Errorf("%s exited with status %d", argv[0], status.ExitStatus())
	}
}

// killChildren kills this process's children (orphans it adopted that did
// not end with the command).
func killChildren() {
	for _, pid := range proctree.Children(os.Getpid()) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
