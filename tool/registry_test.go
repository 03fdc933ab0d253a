package tool_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/retrain-rl/retrain/tool"
)

func TestRegistry(t *testing.T) {
	r := tool.NewRegistry()
	for _, n := range []string{"zeta", "alpha", "mid"} {
		if err := r.Register(echo(n)); err != nil {
			t.Fatal(err)
		}
	}
	err := r.Register(echo("alpha"))
	if err == nil || !strings.Contains(err.Error(), `a tool named "alpha" is already registered`) {
		t.Errorf("duplicate Register = %v", err)
	}
	var names []string
	for _, tl := range r.List() {
		names = append(names, tl.Spec().Name)
	}
	if strings.Join(names, ",") != "alpha,mid,zeta" {
		t.Errorf("List = %v, want sorted", names)
	}
	if _, ok := r.Lookup("mid"); !ok {
		t.Error("Lookup(mid) failed")
	}
	if _, ok := r.Lookup("nope"); ok {
		t.Error("Lookup(nope) succeeded")
	}

	for _, tc := range []struct {
		tool tool.Tool
		want string
	}{
		{nil, "the tool is nil"},
		{echo(""), "the tool name is empty"},
		{echo("has space"), `has ' ' at byte 3`},
		{echo(strings.Repeat("x", 129)), "the limit is 128"},
	} {
		if err := r.Register(tc.tool); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register: %v, want an error containing %q", err, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("MustRegister of a duplicate did not panic")
		}
	}()
	r.MustRegister(echo("zeta"))
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "read_file", "web-search", "files.read", "A9", strings.Repeat("x", 128)} {
		if err := tool.ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", "é", "a\n", strings.Repeat("x", 129)} {
		if err := tool.ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil", bad)
		}
	}
}

// Run with -race: registering and looking up from many goroutines.
func TestRegistryConcurrent(t *testing.T) {
	r := tool.NewRegistry()
	var wg sync.WaitGroup
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- r.Register(echo(fmt.Sprintf("t%d", i%25))) // half are duplicates
		}()
		go func() {
			defer wg.Done()
			r.Lookup(fmt.Sprintf("t%d", i))
			r.List()
		}()
	}
	wg.Wait()
	close(errs)
	var failed int
	for err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed != 25 || len(r.List()) != 25 {
		t.Errorf("%d registrations failed and %d tools are registered; want 25 and 25", failed, len(r.List()))
	}
}

func TestDefaultRegistry(t *testing.T) {
	name := "default_registry_test_tool"
	if _, ok := tool.Lookup(name); !ok { // -count=N runs this again on the same registry
		if err := tool.Register(echo(name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tool.Register(echo(name)); err == nil {
		t.Error("registering the same name again on Default succeeded")
	}
	if _, ok := tool.Lookup(name); !ok {
		t.Error("Lookup on Default failed")
	}
	found := false
	for _, tl := range tool.List() {
		found = found || tl.Spec().Name == name
	}
	if !found {
		t.Error("List on Default lacks the tool")
	}
	if err := tool.Register(echo(name)); err == nil {
		t.Error("duplicate Register on Default succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustRegister of a duplicate on Default did not panic")
		}
	}()
	tool.MustRegister(echo(name))
}
