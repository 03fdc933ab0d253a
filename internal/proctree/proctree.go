// Package proctree reads the tree of processes from /proc (Linux): which
// processes a process started and still owns. The benchmark's reaper kills
// what its command left; tests check that nothing was left behind.
//
//	for _, pid := range proctree.Children(os.Getpid()) {
//		syscall.Kill(pid, syscall.SIGKILL)
//	}
package proctree

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// Children returns the processes whose parent is pid, zombies included, in
// no particular order: none where /proc cannot be read.
func Children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it has ended meanwhile
		}
		if parent, ok := ParentOf(stat); ok && parent == pid {
			kids = append(kids, child)
		}
	}
	return kids
}

// ParentOf returns the parent's pid in stat, the text of /proc/PID/stat:
// "pid (comm) state ppid ...", where comm (the program's name) may hold
// spaces and parentheses, so the fields are read after the last ')'.
func ParentOf(stat []byte) (int, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	for _, c := range f[1] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	ppid, err := strconv.Atoi(string(f[1]))
	return ppid, err == nil
}
