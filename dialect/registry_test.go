package dialect

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

// renamed is a built-in dialect under another name, as a user's own
// dialect would be.
type renamed struct {
	Dialect
	name string
}

func (r renamed) Name() string { return r.name }

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	if got := r.Names(); len(got) != 0 {
		t.Fatalf("new registry holds %v", got)
	}
	if _, err := r.Get("hermes"); !errors.Is(err, ErrUnknownDialect) || !strings.Contains(err.Error(), "none registered") {
		t.Errorf("Get on an empty registry: %v", err)
	}
	mine := renamed{Hermes(), "my_hermes"}
	if err := r.Register(mine); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(mine); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second Register: %v", err)
	}
	for _, bad := range []Dialect{nil, renamed{Hermes(), ""}, renamed{Hermes(), " x"}} {
		if err := r.Register(bad); err == nil {
			t.Errorf("Register(%v) succeeded", bad)
		}
	}
	d, err := r.Get(" my_hermes ")
	if err != nil || d.Name() != "my_hermes" {
		t.Fatalf("Get = %v, %v", d, err)
	}
	a := d.Parse(`<tool_call>{"name": "f", "arguments": {}}</tool_call>`, nil)
	if a.Kind != retrain.ActionToolCall {
		t.Errorf("the registered dialect parses %+v", a)
	}
	if diff := cmp.Diff([]string{"my_hermes"}, r.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	if _, err := Get("my_hermes"); err == nil {
		t.Error("a private registry's dialect is visible in Default")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustRegister of a duplicate did not panic")
			}
		}()
		r.MustRegister(mine)
	}()
}

// Registering while others look dialects up is safe (a copy of Default:
// tests leave Default as it is).
func TestRegisterConcurrent(t *testing.T) {
	r := builtins()
	if diff := cmp.Diff(Names(), r.Names()); diff != "" {
		t.Fatalf("builtins() differs from Default (-Default +copy):\n%s", diff)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := r.Get("smolagent"); err != nil {
				t.Error(err)
			}
			_ = r.Names()
		})
	}
	name := "smolagent_copy"
	if err := r.Register(renamed{SmolAgent(), name}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if d, err := r.Get(name); err != nil || d.Name() != name {
		t.Errorf("Get(%q) = %v, %v", name, d, err)
	}
	if err := r.Register(SmolAgent()); err == nil {
		t.Error("a second smolagent was registered")
	}
}
