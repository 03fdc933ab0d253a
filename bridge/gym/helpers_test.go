package gym_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/bridge/gym"
)

// needPython skips t when python3 is not installed.
func needPython(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
}

// testdata is the absolute path of the test environments.
func testdata(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// options returns Options for a test environment.
func options(t testing.TB, name string, kwargs string) *gym.Options {
	t.Helper()
	o := &gym.Options{Env: name, Process: gym.ProcessOptions{PythonPath: []string{testdata(t)}}}
	if kwargs != "" {
		o.Kwargs = json.RawMessage(kwargs)
	}
	return o
}

// ready makes and sets up an environment, closed at the end of t.
func ready(t *testing.T, o *gym.Options) *gym.Env {
	t.Helper()
	needPython(t)
	e := gym.New(o)
	t.Cleanup(func() { e.Close() })
	if err := e.Setup(t.Context()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return e
}

// answer is the action of a model that answered s in the smolagent format.
func answer(s string) retrain.Action {
	return retrain.Action{Kind: retrain.ActionText, Text: s, Raw: "<answer>" + s + "</answer>"}
}

// legal reads the legal actions listed in a prompt.
func legal(content string) []string {
	for _, line := range strings.Split(content, "\n") {
		if rest, ok := strings.CutPrefix(line, "Legal actions: "); ok {
			return strings.Split(rest, ", ")
		}
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// awaitWriter closes seen once what was written contains marker.
type awaitWriter struct {
	marker string
	seen   chan struct{}
	mu     sync.Mutex
	b      strings.Builder
}

func newAwaitWriter(marker string) *awaitWriter {
	return &awaitWriter{marker: marker, seen: make(chan struct{})}
}

func (w *awaitWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !strings.Contains(w.b.String(), w.marker) {
		w.b.Write(p)
		if strings.Contains(w.b.String(), w.marker) {
			close(w.seen)
		}
	}
	return len(p), nil
}

var frozenNames = []string{"left", "down", "right", "up"}
