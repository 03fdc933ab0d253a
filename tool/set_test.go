package tool_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
)

func TestNewSet(t *testing.T) {
	s, err := tool.NewSet(echo("b"), echo("a"), echo("c"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sp := range s.Specs() {
		names = append(names, sp.Name)
	}
	if d := cmp.Diff([]string{"b", "a", "c"}, names); d != "" {
		t.Errorf("Specs order (-want +got):\n%s", d)
	}
	if s.Len() != 3 {
		t.Errorf("Len = %d", s.Len())
	}
	if got, ok := s.Lookup("a"); !ok || got.Spec().Name != "a" {
		t.Errorf("Lookup(a) = %v, %v", got, ok)
	}
	if _, ok := s.Lookup("zz"); ok {
		t.Error("Lookup(zz) found a tool")
	}

	for _, tc := range []struct {
		tools []tool.Tool
		want  string
	}{
		{[]tool.Tool{echo("a"), echo("a")}, `two tools are named "a"`},
		{[]tool.Tool{echo("a"), nil}, "tool #2 is nil"},
		{[]tool.Tool{echo("a b")}, `the tool name "a b"`},
	} {
		if _, err := tool.NewSet(tc.tools...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSet: error %v, want one containing %q", err, tc.want)
		}
	}
}

func TestSetCall(t *testing.T) {
	ctx := context.Background()
	s, err := tool.NewSet(echo("echo"), echo("alpha"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Call(ctx, retrain.ToolCall{ID: "call_1", Name: "echo", Arguments: json.RawMessage(`{"x":1}`)}, nil)
	want := retrain.ToolResult{CallID: "call_1", Name: "echo", Output: `{"x":1}`, Success: true}
	if err != nil || !cmp.Equal(res, want) {
		t.Errorf("Call = %+v, %v; want %+v", res, err, want)
	}

	res, err = s.Call(ctx, retrain.ToolCall{ID: "call_2", Name: "ech"}, nil)
	want = retrain.ToolResult{CallID: "call_2", Name: "ech", Error: `unknown tool "ech"; available tools: echo, alpha`}
	if err != nil || !cmp.Equal(res, want) {
		t.Errorf("Call(unknown) = %+v, %v; want %+v", res, err, want)
	}

	var empty *tool.Set
	res, err = empty.Call(ctx, retrain.ToolCall{Name: "x"}, nil)
	if err != nil || res.Error != `unknown tool "x"; no tools are available` || empty.Len() != 0 || empty.Specs() != nil {
		t.Errorf("nil Set: Call = %+v, %v", res, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	res, err = s.Call(cctx, retrain.ToolCall{ID: "c", Name: "echo"}, nil)
	if !errors.Is(err, context.Canceled) || res.CallID != "c" {
		t.Errorf("Call with a cancelled ctx = %+v, %v; want a Go error", res, err)
	}
}

func TestSetSpecsAreCopies(t *testing.T) {
	s, _ := tool.NewSet(echo("a"))
	specs := s.Specs()
	specs[0].Name = "changed"
	specs[0].Parameters[0] = 'X'
	if sp := s.Specs()[0]; sp.Name != "a" || sp.Parameters[0] != '{' {
		t.Errorf("Specs shares memory with the Set: %+v", sp)
	}
}

// namedProvider is a provider with a Name method.
type namedProvider struct {
	name  string
	tools []tool.Tool
	err   error
}

func (p namedProvider) Tools(context.Context) ([]tool.Tool, error) { return p.tools, p.err }
func (p namedProvider) Name() string                               { return p.name }

// plainProvider has no Name method.
type plainProvider struct{ tools []tool.Tool }

func (p *plainProvider) Tools(context.Context) ([]tool.Tool, error) { return p.tools, nil }

func TestCollect(t *testing.T) {
	ctx := context.Background()
	s, err := tool.Collect(ctx, tool.Static(echo("a"), echo("b")), namedProvider{name: "mcp:files", tools: []tool.Tool{echo("c")}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sp := range s.Specs() {
		names = append(names, sp.Name)
	}
	if d := cmp.Diff([]string{"a", "b", "c"}, names); d != "" {
		t.Errorf("Collect order (-want +got):\n%s", d)
	}

	tests := []struct {
		name      string
		providers []tool.Provider
		want      string
	}{
		{"clash between named providers", []tool.Provider{
			namedProvider{name: "mcp:files", tools: []tool.Tool{echo("read")}},
			tool.Static(echo("x")),
			namedProvider{name: "mcp:web", tools: []tool.Tool{echo("read")}},
		}, `tool: tool "read" is offered by both provider #1 (mcp:files) and provider #3 (mcp:web); remove it from one of them`},
		{"clash with an unnamed provider", []tool.Provider{
			tool.Static(echo("read")),
			&plainProvider{tools: []tool.Tool{echo("read")}},
		}, `tool: tool "read" is offered by both provider #1 (static) and provider #2 (*tool_test.plainProvider)`},
		{"duplicate within one provider", []tool.Provider{tool.Static(echo("a"), echo("a"))}, `provider #1 (static) offers two tools named "a"`},
		{"provider error", []tool.Provider{namedProvider{name: "mcp:web", err: errors.New("connection refused")}}, "tool: provider #1 (mcp:web): connection refused"},
		{"nil provider", []tool.Provider{nil}, "provider #1 is nil"},
		{"nil tool", []tool.Provider{tool.Static(nil)}, "provider #1 (static) returned a nil tool"},
		{"bad name", []tool.Provider{tool.Static(echo("a/b"))}, `provider #1 (static): tool: the tool name "a/b"`},
	}
	for _, tt := range tests {
		_, err := tool.Collect(ctx, tt.providers...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Collect error = %v\nwant one containing %s", tt.name, err, tt.want)
		}
	}
}

func TestFromRegistry(t *testing.T) {
	ctx := context.Background()
	r := tool.NewRegistry()
	r.MustRegister(echo("b"))
	r.MustRegister(echo("a"))

	all, err := tool.FromRegistry(r).Tools(ctx)
	if err != nil || len(all) != 2 || all[0].Spec().Name != "a" {
		t.Errorf("FromRegistry(r).Tools = %v, %v; want a, b", all, err)
	}
	some, err := tool.FromRegistry(r, "b").Tools(ctx)
	if err != nil || len(some) != 1 || some[0].Spec().Name != "b" {
		t.Errorf("FromRegistry(r, b).Tools = %v, %v", some, err)
	}
	_, err = tool.FromRegistry(r, "a", "x", "y").Tools(ctx)
	if err == nil || err.Error() != `tool: unknown tool "x", "y"; available tools: a, b` {
		t.Errorf("FromRegistry with unknown names: %v", err)
	}
	_, err = tool.FromRegistry(tool.NewRegistry(), "x").Tools(ctx)
	if err == nil || !strings.Contains(err.Error(), "available tools: none") {
		t.Errorf("FromRegistry(empty) error = %v", err)
	}
	// Tools are looked up when asked for, not when the provider is made.
	p := tool.FromRegistry(r, "late")
	r.MustRegister(echo("late"))
	if got, err := p.Tools(ctx); err != nil || len(got) != 1 {
		t.Errorf("late registration: %v, %v", got, err)
	}
}

func TestStaticCopies(t *testing.T) {
	tools := []tool.Tool{echo("a")}
	p := tool.Static(tools...)
	tools[0] = echo("b")
	got, _ := p.Tools(context.Background())
	got[0] = nil
	again, _ := p.Tools(context.Background())
	if again[0] == nil || again[0].Spec().Name != "a" {
		t.Errorf("Static shares its slice: %v", again)
	}
}
