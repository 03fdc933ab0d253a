package main

import (
	"strings"
	"testing"
)

// A bad flag gets one line naming it and pointing at --help, not the whole
// usage; --help prints the usage once and exits 0.
func TestFlagErrors(t *testing.T) {
	code, out, errOut := runCLI(t, "", "envs", "--bogus")
	if code != 2 || out != "" {
		t.Fatalf("envs --bogus: exit %d, stdout %q; want 2 and nothing", code, out)
	}
	want := "retrain envs: flag provided but not defined: -bogus\nRun \"retrain envs --help\" for usage.\n"
	if errOut != want {
		t.Errorf("envs --bogus printed %q; want %q", errOut, want)
	}
	code, _, errOut = runCLI(t, "", "rollout", "--n", "x")
	if code != 2 || strings.Count(errOut, "\n") != 2 || strings.Contains(errOut, "usage error") {
		t.Errorf("rollout --n x: exit %d, %q; want exit 2 and a two-line message", code, errOut)
	}
	code, _, errOut = runCLI(t, "", "envs", "--help")
	if code != 0 || strings.Count(errOut, "Usage: retrain envs") != 1 {
		t.Errorf("envs --help: exit %d, %q; want the usage once", code, errOut)
	}
	code, _, errOut = runCLI(t, "", "nonsense")
	if code != 2 || !strings.Contains(errOut, `unknown command "nonsense"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
}
