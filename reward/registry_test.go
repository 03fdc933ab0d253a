package reward

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRegistryBuiltins(t *testing.T) {
	want := []string{"composite", "exact_match", "format", "json_schema", "length", "math_equal", "numeric", "regex", "tool_success", "tool_used"}
	if diff := cmp.Diff(want, NewRegistry().Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	wantV := []string{"has_answer", "max_length", "max_tokens", "no_tool_errors", "parses", "terminated"}
	if diff := cmp.Diff(wantV, NewRegistry().VerifierNames()); diff != "" {
		t.Errorf("VerifierNames() mismatch (-want +got):\n%s", diff)
	}
}

func TestRegistryRegisterAndNew(t *testing.T) {
	reg := NewRegistry()
	constant := Static(ScoreFunc(func(ctx context.Context, s Sample) (Score, error) { return Score{Value: 0.25}, nil }))
	if err := reg.Register("quarter", constant); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("quarter", constant); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("duplicate Register: err = %v, want 'already registered'", err)
	}
	for _, bad := range []string{"", "a b", "a:b", " x"} {
		if err := reg.Register(bad, constant); err == nil {
			t.Errorf("Register(%q) succeeded, want an error", bad)
		}
	}
	if err := reg.Register("nilbuilder", nil); err == nil {
		t.Error("Register with a nil builder succeeded")
	}
	f, err := reg.New("quarter", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := f.Score(context.Background(), Sample{}); s.Value != 0.25 {
		t.Errorf("score = %v, want 0.25", s.Value)
	}
	if _, err := reg.New("quarter", map[string]any{"x": 1}); !errors.Is(err, ErrBadParams) {
		t.Errorf("params to a Static reward: err = %v, want ErrBadParams", err)
	}
	// The registry is private: Default does not see it.
	if _, err := Default.New("quarter", nil); !errors.Is(err, ErrUnknownReward) {
		t.Errorf("Default.New(quarter): err = %v, want ErrUnknownReward", err)
	}
}

func TestRegistryUnknownNameListsKnown(t *testing.T) {
	_, err := NewRegistry().New("math_eq", nil)
	if !errors.Is(err, ErrUnknownReward) {
		t.Fatalf("err = %v, want ErrUnknownReward", err)
	}
	for _, want := range []string{`"math_eq"`, "math_equal", "exact_match", "composite"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = NewRegistry().NewVerifier("has_anser")
	if !errors.Is(err, ErrUnknownVerifier) || !strings.Contains(err.Error(), "has_answer") {
		t.Errorf("unknown verifier: err = %v, want ErrUnknownVerifier listing has_answer", err)
	}
}

func TestUnknownParamError(t *testing.T) {
	_, err := NewRegistry().New("exact_match", map[string]any{"case_sensitiv": true})
	if !errors.Is(err, ErrBadParams) {
		t.Fatalf("err = %v, want ErrBadParams", err)
	}
	for _, want := range []string{`"case_sensitiv"`, "case_sensitive", "ignore_punctuation"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = NewRegistry().New("exact_match", map[string]any{"case_sensitive": "yes"})
	if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), "case_sensitive") {
		t.Errorf("wrong type: err = %v, want ErrBadParams naming case_sensitive", err)
	}
}

func TestBuilderPanicIsError(t *testing.T) {
	reg := NewRegistry()
	if err := reg.Register("boom", func(map[string]any) (Func, error) { panic("kaboom") }); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.New("boom", nil); err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Errorf("err = %v, want the panic as an error", err)
	}
}

func TestRegistryConcurrentUse(t *testing.T) {
	reg := NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "r" + strings.Repeat("x", i)
			if err := reg.Register(name, Static(ScoreFunc(func(context.Context, Sample) (Score, error) { return Score{}, nil }))); err != nil {
				t.Error(err)
			}
			if _, err := reg.New("math_equal", nil); err != nil {
				t.Error(err)
			}
			_ = reg.Names()
		}()
	}
	wg.Wait()
	if n := len(reg.Names()); n != 18 {
		t.Errorf("%d names after 8 registrations, want 18", n)
	}
}

// TestBuilderFailures checks what New and NewVerifier make of a builder that
// fails, panics or returns nothing.
func TestBuilderFailures(t *testing.T) {
	reg := NewRegistry()
	failing := errors.New("no can do")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Register("fails", func(map[string]any) (Func, error) { return nil, failing }))
	must(reg.Register("panics", func(map[string]any) (Func, error) { panic("kaboom") }))
	must(reg.Register("empty", func(map[string]any) (Func, error) { return nil, nil }))
	must(reg.RegisterVerifier("fails", func(string) (Verifier, error) { return nil, failing }))
	must(reg.RegisterVerifier("panics", func(string) (Verifier, error) { panic("kaboom") }))
	must(reg.RegisterVerifier("empty", func(string) (Verifier, error) { return nil, nil }))
	for _, tt := range []struct {
		name, prefix string
		build        func(string) (any, error)
	}{
		{"reward", `reward "`, func(n string) (any, error) { return reg.New(n, nil) }},
		{"verifier", `verifier "`, func(n string) (any, error) { return reg.NewVerifier(n + ":arg") }},
	} {
		suffix := map[string]string{"reward": "", "verifier": ":arg"}[tt.name]
		for _, c := range []struct{ name, want string }{
			{"fails", `fails` + suffix + `": no can do`},
			{"panics", `panics` + suffix + `": builder panicked: kaboom`},
			{"empty", `empty` + suffix + `": builder returned no ` + map[string]string{"reward": "function", "verifier": "verifier"}[tt.name]},
		} {
			v, err := tt.build(c.name)
			if err == nil || !strings.HasPrefix(err.Error(), tt.prefix+c.want) {
				t.Errorf("%s %s: err = %v, want it to start %q", tt.name, c.name, err, tt.prefix+c.want)
			}
			if c.name == "fails" && !errors.Is(err, failing) {
				t.Errorf("%s fails: err = %v does not wrap the builder's error", tt.name, err)
			}
			if v != nil {
				t.Errorf("%s %s: got %v with the error, want nothing", tt.name, c.name, v)
			}
		}
	}
}

// TestRegisterErrors pins the messages of Register and RegisterVerifier.
func TestRegisterErrors(t *testing.T) {
	reg := NewRegistry()
	reward := Static(ScoreFunc(func(context.Context, Sample) (Score, error) { return Score{}, nil }))
	verifier := noArg(func(context.Context, Sample) (bool, error) { return true, nil })
	for _, tt := range []struct {
		err  error
		want string
	}{
		{reg.Register("", reward), `reward: register "": a name must be non-empty, without spaces, commas or colons`},
		{reg.Register("r", nil), `reward: register "r": nil builder`},
		{reg.Register("exact_match", reward), `reward: register "exact_match": name already registered; pick another name`},
		{reg.RegisterVerifier("a:b", verifier), `reward: register verifier "a:b": a name must be non-empty, without spaces, commas or colons`},
		{reg.RegisterVerifier("v", nil), `reward: register verifier "v": nil builder`},
		{reg.RegisterVerifier("parses", verifier), `reward: register verifier "parses": name already registered; pick another name`},
	} {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("err = %v, want %q", tt.err, tt.want)
		}
	}
}

func TestWithParams(t *testing.T) {
	type params struct {
		Max  int    `json:"max"`
		Unit string `json:"unit"`
	}
	var got []params
	b := WithParams(func() params { return params{Max: 100, Unit: "chars"} }, func(p params) (Func, error) {
		got = append(got, p)
		return ScoreFunc(func(context.Context, Sample) (Score, error) { return Score{}, nil }), nil
	})
	for _, ps := range []map[string]any{nil, {"max": 5}, {"unit": "tokens", "max": 7}} {
		if _, err := b(ps); err != nil {
			t.Fatalf("params %v: %v", ps, err)
		}
	}
	want := []params{{100, "chars"}, {5, "chars"}, {7, "tokens"}}
	if !slices.Equal(got, want) {
		t.Errorf("build got %+v, want %+v (the defaults, then each params over fresh defaults)", got, want)
	}
	if _, err := b(map[string]any{"mx": 1}); !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), `unknown param "mx"; known params: max, unit`) {
		t.Errorf("unknown param: err = %v, want ErrBadParams listing the known ones", err)
	}
	zero := WithParams(nil, func(p params) (Func, error) {
		if p != (params{}) {
			t.Errorf("nil defaults gave %+v, want the zero value", p)
		}
		return nil, errors.New("built")
	})
	if _, err := zero(nil); err == nil || err.Error() != "built" {
		t.Errorf("err = %v, want build's error as is", err)
	}
}
