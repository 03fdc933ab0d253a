package envtest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
)

func TestRunFactory(t *testing.T) {
	envtest.RunFactory(t, env.FactoryFunc(func() (retrain.Environment, error) { return &counter{}, nil }), opts)
}

// closeFactory makes counters and records its Close.
type closeFactory struct {
	made   []*counter
	closed bool
}

func (f *closeFactory) NewEnv() (retrain.Environment, error) {
	c := &counter{}
	f.made = append(f.made, c)
	return c, nil
}

func (f *closeFactory) Close() error {
	for _, c := range f.made {
		if !c.closed {
			panic("the factory was closed before its environment")
		}
	}
	f.closed = true
	return nil
}

const registeredName = "envtest_counter"

var registeredConfig json.RawMessage

func init() {
	env.MustRegister(registeredName, "counters, for envtest's tests", func(config json.RawMessage) (env.Factory, error) {
		registeredConfig = config
		return registered, nil
	})
}

var registered = &closeFactory{}

func TestRegistered(t *testing.T) {
	registered = &closeFactory{} // fresh for each run (-count=N)
	t.Run("made", func(t *testing.T) {
		f, e := envtest.Registered(t, registeredName, json.RawMessage(`{"k": 1}`))
		if f != env.Factory(registered) || len(registered.made) != 1 || e != retrain.Environment(registered.made[0]) {
			t.Fatalf("Registered = %v, %v; want the registered factory and the environment it made", f, e)
		}
		if string(registeredConfig) != `{"k": 1}` {
			t.Errorf("the constructor got the config %s", registeredConfig)
		}
		if registered.closed || registered.made[0].closed {
			t.Error("closed before the test ended")
		}
	})
	if !registered.closed || !registered.made[0].closed {
		t.Errorf("after the test: factory closed %v, environment closed %v; want both", registered.closed, registered.made[0].closed)
	}
}

func TestTranscript(t *testing.T) {
	c := &counter{}
	got := envtest.Transcript(t, c, 7, opts.Actions)
	if c.seed != 7 {
		t.Errorf("reset with seed %d, want 7", c.seed)
	}
	// The initial observation, then three steps: each a content and an info.
	want := []string{"", "{}", "tick #1", `{"seconds":`, "tick #2", `{"seconds":`, "tick #3", `{"seconds":`}
	if len(got) != len(want) {
		t.Fatalf("transcript %q, want %d entries", got, len(want))
	}
	for i, w := range want {
		if got[i] != w && !(strings.HasSuffix(w, ":") && strings.HasPrefix(got[i], w)) {
			t.Errorf("entry %d is %q, want %q", i, got[i], w)
		}
	}
}
