// Package mcptest locates and starts the reference MCP servers from npm that
// retrain's tests run against (@modelcontextprotocol/server-everything and
// server-filesystem), installed at pinned versions in testdata/mcp-servers.
//
//	cmd := mcptest.Command(t, mcptest.Everything) // ["node", ".../dist/index.js"]
//	sc := &mcp.ServerConfig{Name: "everything", Command: cmd[0], Args: cmd[1:]}
//
// When the servers are not installed, tests fail with the command that
// installs them ([InstallCommand]); with RETRAIN_SKIP_NPM=1 set they are
// skipped instead, for quick local runs.
package mcptest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The reference servers.
const (
	Everything = "@modelcontextprotocol/server-everything"
	Filesystem = "@modelcontextprotocol/server-filesystem"
)

// InstallCommand installs the reference servers; run it from the module root.
const InstallCommand = "npm ci --prefix testdata/mcp-servers"

// SkipEnv names the environment variable that, set to 1, skips the tests
// that need the reference servers instead of failing them.
const SkipEnv = "RETRAIN_SKIP_NPM"

// Dir is the directory of the npm project that holds the reference servers
// (testdata/mcp-servers at the module root).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "mcp-servers")
}

// unavailable fails (or, with RETRAIN_SKIP_NPM=1, skips) t.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s (skipped: %s=1)", msg, SkipEnv)
	}
	t.Fatalf("%s\nThese tests need the reference MCP servers; from the module root run:\n\t%s\n(or set %s=1 to skip them)", msg, InstallCommand, SkipEnv)
}

// Node returns the path of the node executable.
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not installed: %v", err)
	}
	return node
}

// Script returns the path of a file inside an installed npm package, e.g.
// Script(t, "@modelcontextprotocol/sdk", "package.json").
func Script(t testing.TB, pkg, file string) string {
	t.Helper()
	p := filepath.Join(Dir(), "node_modules", filepath.FromSlash(pkg), filepath.FromSlash(file))
	if _, err := os.Stat(p); err != nil {
		unavailable(t, "%s is not installed (%v)", pkg, err)
	}
	return p
}

// Command returns the command line that starts a reference server over
// stdio: node and the server's entry script. Append the server's arguments.
func Command(t testing.TB, server string) []string {
	t.Helper()
	node := Node(t)
	return []string{node, Script(t, server, "dist/index.js")}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// HTTPServer is a reference server started in streamable HTTP mode.
type HTTPServer struct {
	// URL is the server's MCP endpoint on 127.0.0.1.
	URL  string
	t    testing.TB
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

// StartEverythingHTTP starts server-everything in streamable HTTP mode on a
// free loopback port and waits until it accepts connections. It is stopped
// when the test ends.
func StartEverythingHTTP(t testing.TB) *HTTPServer {
	t.Helper()
	s := &HTTPServer{t: t, port: FreePort(t)}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d/mcp", s.port)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again, on the same port) and waits until it
// listens.
func (s *HTTPServer) Start() {
	s.t.Helper()
	cmd := Command(s.t, Everything)
	s.cmd = exec.Command(cmd[0], append(cmd[1:], "streamableHttp")...)
	s.cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", s.port))
	s.log = &lockedBuffer{}
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("server-everything exited at start:\n%s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("server-everything did not listen on port %d within 15s:\n%s", s.port, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server and waits for it to exit.
func (s *HTTPServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Log returns what the server printed.
func (s *HTTPServer) Log() string { return s.log.String() }

// lockedBuffer is a concurrency-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
