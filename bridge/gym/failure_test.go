package gym_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/bridge/gym"
)

func TestNoisyEnvironment(t *testing.T) {
	o := options(t, "misbehave:noisy", "")
	var stderr syncBuffer
	o.Process.Stderr = &stderr
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	step, err := e.Step(t.Context(), answer("0"))
	if err != nil {
		t.Fatalf("Step with an environment that prints: %v", err)
	}
	if !strings.Contains(step.Observation.Content, "Observation: 1") {
		t.Errorf("observation:\n%s", step.Observation.Content)
	}
	e.Close()
	for _, want := range []string{"noisy: made", "noisy: reset", "noisy: raw write to fd 1", "noisy: sys.__stdout__", "{not json either"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not hold %q:\n%s", want, stderr.String())
		}
	}
}

func TestGarbageOnStdout(t *testing.T) {
	needPython(t)
	if runtime.GOOS == "windows" {
		t.Skip("the wrapper is a shell script")
	}
	o := options(t, "misbehave:counter", "")
	o.Process.Python = filepath.Join(testdata(t), "garbage_python.sh")
	e := gym.New(o)
	defer e.Close()
	err := e.Setup(t.Context())
	if !errors.Is(err, gym.ErrProtocol) || !strings.Contains(err.Error(), `"this is not JSON"`) {
		t.Errorf("Setup with garbage on stdout: err = %v, want ErrProtocol quoting the garbage", err)
	}
}

func TestTimeout(t *testing.T) {
	o := options(t, "misbehave:hang", "")
	o.Process.Timeout = 300 * time.Millisecond
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := e.Step(t.Context(), answer("1"))
	if !errors.Is(err, gym.ErrTimeout) || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("Step that hangs: err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %v", d)
	}
	// The next episode gets a fresh process.
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatalf("Reset after a timeout: %v", err)
	}
	if step, err := e.Step(t.Context(), answer("0")); err != nil || step.Reward != 1 {
		t.Fatalf("Step after a timeout and Reset: %v, %v", step, err)
	}
}

func TestCancelMidStep(t *testing.T) {
	e := ready(t, options(t, "misbehave:hang", ""))
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := e.Step(ctx, answer("1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Step cancelled in flight: err = %v, want context.DeadlineExceeded", err)
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatalf("Reset after a cancelled step: %v", err)
	}
}

func TestCrash(t *testing.T) {
	o := options(t, "misbehave:crash", "")
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	// An exception is reported and the process lives on.
	_, err := e.Step(t.Context(), answer("1"))
	var pe *gym.PythonError
	if !errors.As(err, &pe) || pe.Type != "ValueError" || !strings.Contains(err.Error(), "action 1 is forbidden") || !strings.Contains(pe.Traceback, "misbehave.py") {
		t.Fatalf("Step that raises: err = %v, want a PythonError with the traceback", err)
	}
	// The environment may be half-way through the step: the episode
	// cannot go on, but the process can start another.
	if _, err := e.Step(t.Context(), answer("0")); err == nil || !strings.Contains(err.Error(), "call Reset") {
		t.Fatalf("Step after an exception: err = %v, want one asking for Reset", err)
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Step(t.Context(), answer("0")); err != nil {
		t.Fatalf("Step after an exception and Reset: %v", err)
	}
	// The second step kills the process.
	_, err = e.Step(t.Context(), answer("0"))
	if !errors.Is(err, gym.ErrExited) || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "crash: about to die") {
		t.Fatalf("Step that kills the process: err = %v, want ErrExited with the status and stderr", err)
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{Seed: retrain.Seed(1)}); err != nil {
		t.Fatalf("Reset after a crash: %v", err)
	}
}

func TestMakeErrors(t *testing.T) {
	needPython(t)
	tests := []struct{ env, want string }{
		{"misbehave:broken_make", "RuntimeError: cannot make this environment"},
		{"nosuchmodule:make", "No module named 'nosuchmodule'"},
		{"misbehave:no_such_factory", "has no attribute 'no_such_factory'"},
		{"CartPole-v1", "gymnasium is not installed"},
	}
	for _, tt := range tests {
		_, err := gym.Start(t.Context(), tt.env, nil, &gym.ProcessOptions{PythonPath: []string{testdata(t)}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "could not make environment") {
			t.Errorf("Start(%q): err = %v, want one containing %q", tt.env, err, tt.want)
		}
	}
	_, err := gym.Start(t.Context(), "misbehave:counter", nil, &gym.ProcessOptions{Python: "no-such-python3"})
	if err == nil || !strings.Contains(err.Error(), `"no-such-python3" not found`) {
		t.Errorf("missing interpreter: err = %v", err)
	}
}

func TestNaNReward(t *testing.T) {
	e := ready(t, options(t, "misbehave:nan_reward", ""))
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Step(t.Context(), answer("0")); err == nil || !strings.Contains(err.Error(), "reward NaN") {
		t.Errorf("NaN reward: err = %v", err)
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestCloseKillsChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	e := ready(t, options(t, "misbehave:spawn", ""))
	_, info, err := e.Reset(t.Context(), retrain.ResetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pid := int(info["env_info"].(map[string]any)["child_pid"].(float64))
	if !alive(pid) {
		t.Fatalf("the child %d is not running", pid)
	}
	start := time.Now()
	e.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	for deadline := time.Now().Add(3 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("the environment's child %d outlived Close", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCloseAbortsStep(t *testing.T) {
	o := options(t, "misbehave:hang", "")
	hanging := newAwaitWriter("hang: hanging in step")
	o.Process.Stderr = hanging
	e := ready(t, o)
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := e.Step(t.Context(), answer("1"))
		errc <- err
	}()
	select {
	case <-hanging.seen: // the step is in Python
	case err := <-errc:
		t.Fatalf("Step returned before hanging: %v", err)
	}
	e.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, gym.ErrExited) {
			t.Errorf("Step aborted by Close: err = %v, want ErrExited", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not abort the hanging Step")
	}
	if _, _, err := e.Reset(t.Context(), retrain.ResetOptions{}); !errors.Is(err, retrain.ErrClosed) {
		t.Errorf("Reset after Close: err = %v", err)
	}
}
