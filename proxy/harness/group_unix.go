//go:build unix

package harness

import (
	"os/exec"
	"syscall"
)

// groupKill starts cmd in a process group of its own and makes canceling
// it kill the whole group: the agent and everything it started.
func groupKill(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
