package registry_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/retrain-rl/retrain/internal/registry"
)

func TestRegistry(t *testing.T) {
	r := registry.New[int]()
	if got := r.Known(); got != "none registered" {
		t.Errorf("Known() of an empty registry = %q", got)
	}
	if _, ok := r.Get("a"); ok {
		t.Error("Get on an empty registry found something")
	}
	for _, n := range []string{"b", "c", "a"} {
		if !r.Add(n, len(r.Names())) {
			t.Fatalf("Add(%q) refused a new name", n)
		}
	}
	if r.Add("b", 99) {
		t.Error("Add accepted a name twice")
	}
	if v, ok := r.Get("b"); !ok || v != 0 {
		t.Errorf("Get(b) = %d, %v; want 0, true (the first value kept)", v, ok)
	}
	if got, want := r.Names(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got, want := r.Known(), "a, b, c"; got != want {
		t.Errorf("Known() = %q, want %q", got, want)
	}
	var got []string
	for n, v := range r.All() {
		got = append(got, fmt.Sprintf("%s=%d", n, v))
	}
	if want := []string{"a=2", "b=0", "c=1"}; !slices.Equal(got, want) {
		t.Errorf("All() = %v, want %v", got, want)
	}
	// The loop body may use the registry: All holds no lock while it yields.
	for n := range r.All() {
		r.Add(n+"2", 0)
		break
	}
	if _, ok := r.Get("a2"); !ok {
		t.Error("Add inside an All loop did not register")
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r := registry.New[string]()
	var wg sync.WaitGroup
	added := make([]bool, 8)
	for i := range 8 {
		wg.Go(func() {
			added[i] = r.Add("same", fmt.Sprint(i))
			r.Add(fmt.Sprint(i), "x")
			r.Names()
			for range r.All() {
			}
		})
	}
	wg.Wait()
	n := 0
	for _, a := range added {
		if a {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d goroutines added the same name, want 1", n)
	}
	if got := len(r.Names()); got != 9 {
		t.Errorf("%d names, want 9", got)
	}
}
