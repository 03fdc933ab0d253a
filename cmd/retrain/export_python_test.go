package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's python3, which has numpy from python3-numpy (the
// python3 on PATH may be another, without it).
const debianPython = "/usr/bin/python3"

// TestPythonGRPOBatch exports a real rollout of the built-in model and runs
// the numpy example's tests (clients/python/grpo_batch_check.py) on it,
// including its own flattening of the trajectories against the export.
func TestPythonGRPOBatch(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		t.Skipf("%s is not installed: the numpy example is not tested here (CI has it)", debianPython)
	}
	if err := exec.Command(debianPython, "-c", "import numpy").Run(); err != nil {
		msg := debianPython + " has no numpy: apt-get install python3-numpy (scripts/test.sh does)"
		if os.Getenv("RETRAIN_SKIP_NUMPY") == "1" {
			t.Skip(msg + " (skipped: RETRAIN_SKIP_NUMPY=1)")
		}
		t.Fatal(msg + " (or set RETRAIN_SKIP_NUMPY=1 to skip this test)")
	}
	tasks := "2"
	if exportRace {
		tasks = "1"
	}
	in := gradedRollout(t, "--tasks", tasks)
	view := filepath.Join(t.TempDir(), "train.jsonl")
	if code, _, stderr := rolloutCLI(t, "export", "--in", in, "--out", view); code != 0 {
		t.Fatalf("export: exit %d:\n%s", code, stderr)
	}
	clientDir, err := filepath.Abs(filepath.Join("..", "..", "clients", "python"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	py := exec.CommandContext(ctx, debianPython, "-m", "unittest", "-v", "grpo_batch_check")
	py.Dir = clientDir
	py.Env = append(os.Environ(), "RETRAIN_TRAIN_VIEW="+view, "RETRAIN_TRAJECTORIES="+in, "PYTHONDONTWRITEBYTECODE=1")
	out, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "\nOK") || strings.Contains(string(out), "skipped") || !strings.Contains(string(out), "test_real_export") || !strings.Contains(string(out), "test_sequences_match_export") {
		t.Errorf("python tests did not all run:\n%s", out)
	}
}
