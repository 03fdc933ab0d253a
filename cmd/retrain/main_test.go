package main

import (
	"bytes"
	"io"
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

// TestEveryCommandAnswersHelp walks every command and subcommand, and every
// group of subcommands ("tool", "mcp"): each answers --help (and -h, and
// "retrain help NAME") with its usage and exit code 0.
func TestEveryCommandAnswersHelp(t *testing.T) {
	groups := map[string]bool{}
	for name := range commands {
		if first, _, ok := strings.Cut(name, " "); ok {
			groups[first] = true
		}
		for _, args := range [][]string{
			append(strings.Fields(name), "--help"),
			append(strings.Fields(name), "-h"),
			append([]string{"help"}, strings.Fields(name)...),
		} {
			var out, errOut bytes.Buffer
			code := run(t.Context(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
			if code != 0 || !strings.Contains(out.String()+errOut.String(), "Usage: retrain "+name) {
				t.Errorf("retrain %s: exit %d, output:\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
			}
		}
	}
	if len(groups) == 0 {
		t.Fatal("no command has subcommands; the walk tests nothing of groups")
	}
	for group := range groups {
		for _, args := range [][]string{{group, "--help"}, {group, "-h"}, {"help", group}} {
			var out, errOut bytes.Buffer
			code := run(t.Context(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
			if code != 0 || !strings.Contains(out.String(), "Usage: retrain "+group+" SUBCOMMAND") {
				t.Errorf("retrain %s: exit %d, output:\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
			}
			for name := range commands {
				if strings.HasPrefix(name, group+" ") && !strings.Contains(out.String(), name) {
					t.Errorf("retrain %s does not list %q:\n%s", strings.Join(args, " "), name, out.String())
				}
			}
		}
		var errOut bytes.Buffer
		if code := run(t.Context(), []string{group, "nosuch"}, stdio{in: strings.NewReader(""), out: io.Discard, err: &errOut}); code != 2 || !strings.Contains(errOut.String(), `unknown command "`+group+` nosuch"`) {
			t.Errorf("retrain %s nosuch: exit %d, stderr:\n%s", group, code, errOut.String())
		}
	}
}
