//go:build !unix

package harness

import "os/exec"

// groupKill leaves cmd as it is: canceling it kills the process only.
func groupKill(*exec.Cmd) {}
