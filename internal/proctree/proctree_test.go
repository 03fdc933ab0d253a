package proctree

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A process this test starts is among its children, and no longer once
// it has been waited for.
func TestChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if kids := Children(os.Getpid()); !slices.Contains(kids, cmd.Process.Pid) {
		t.Errorf("children %v, want %d among them", kids, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if kids := Children(os.Getpid()); slices.Contains(kids, cmd.Process.Pid) {
		t.Errorf("children %v still hold %d after it was waited for", kids, cmd.Process.Pid)
	}
	if kids := Children(-5); len(kids) != 0 {
		t.Errorf("children of no process: %v", kids)
	}
}

func TestParentOf(t *testing.T) {
	for stat, want := range map[string]int{
		"12 (sleep) S 7 12 7 0 -1":                 7,
		"12 (a b) c) (d) R 99 1 1":                 99,
		"1 (init) S 0 1 1":                         0,
		"42 (python3) Z 41 42 41 0 -1 4227084 7 0": 41,
	} {
		if got, ok := ParentOf([]byte(stat)); !ok || got != want {
			t.Errorf("ParentOf(%q) = %d, %v; want %d", stat, got, ok, want)
		}
	}
	for _, stat := range []string{"", "12 sleep S 7", "12 (sleep)", "12 (sleep) S", "12 (sleep) S x", "12 (sleep) S -0", "12 (sleep) S +7"} {
		if got, ok := ParentOf([]byte(stat)); ok {
			t.Errorf("ParentOf(%q) = %d, true; want not ok", stat, got)
		}
	}
	// This process's own stat names its real parent.
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc")
	}
	if got, ok := ParentOf(b); !ok || got != os.Getppid() {
		t.Errorf("ParentOf(/proc/self/stat) = %d, %v; want %d", got, ok, os.Getppid())
	}
}

// No input panics, and an accepted one has the pid after the last ')'
// and a state between.
func FuzzParentOf(f *testing.F) {
	f.Add([]byte("12 (sleep) S 7 12 7 0 -1"))
	f.Add([]byte("1 ()) ( R 3"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, stat []byte) {
		ppid, ok := ParentOf(stat)
		if !ok {
			return
		}
		rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(rest) < 2 || strings.Trim(rest[1], "0123456789") != "" || ppid < 0 {
			t.Fatalf("ParentOf(%q) = %d", stat, ppid)
		}
		if n, err := strconv.Atoi(rest[1]); err != nil || n != ppid {
			t.Fatalf("ParentOf(%q) = %d, want %s", stat, ppid, rest[1])
		}
	})
}
