package main

import (
	"os"
	"strings"
	"testing"
)

// wantUsageError runs retrain with args and checks that it fails with exit
// code 2, that the first line of stderr holds each of want, and that out,
// the output file, was not created.
func wantUsageError(t *testing.T, out string, args []string, want []string) {
	t.Helper()
	code, _, stderr := rolloutCLI(t, args...)
	if code != 2 {
		t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	first, _, _ := strings.Cut(stderr, "\n")
	for _, w := range want {
		if !strings.Contains(first, w) {
			t.Errorf("first line of stderr lacks %q:\n%s", w, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output file was created by a failed command")
	}
}
