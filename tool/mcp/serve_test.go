package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
)

type pointIn struct {
	X int `json:"x" jsonschema:"the x coordinate"`
	Y int `json:"y"`
}

type pointOut struct {
	Sum  int `json:"sum"`
	Prod int `json:"prod"`
}

// served are the tools the serving tests offer.
func served(t *testing.T) []tool.Tool {
	t.Helper()
	calc := tool.MustFunc("calc", "Sums and multiplies.", func(ctx context.Context, in pointIn) (pointOut, error) {
		return pointOut{Sum: in.X + in.Y, Prod: in.X * in.Y}, nil
	}, nil)
	greet := tool.MustFunc("greet", "Greets.", func(ctx context.Context, in struct {
		Name string `json:"name"`
	}) (string, error) {
		if in.Name == "" {
			return "", tool.Errorf("name is empty; say who to greet")
		}
		return "hello " + in.Name, nil
	}, nil)
	return []tool.Tool{calc, greet, rawTool{}}
}

// rawTool has a hand-written schema without "type", to check it is completed.
type rawTool struct{}

func (rawTool) Spec() retrain.ToolSpec {
	return retrain.ToolSpec{Name: "raw", Description: "Raw.", Parameters: json.RawMessage(`{"properties":{"q":{"type":"string"}}}`)}
}

func (rawTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	return tool.Result{Output: "raw " + string(args)}, nil
}

// serveInMemory connects an SDK client to NewServer(tools).
func serveInMemory(t *testing.T, tools []tool.Tool) *sdk.ClientSession {
	t.Helper()
	srv, err := NewServer(tools, nil)
	if err != nil {
		t.Fatal(err)
	}
	ct, st := sdk.NewInMemoryTransports()
	ss, err := srv.Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		ss.Wait()
	})
	return cs
}

func TestServeListsToolsWithSchemas(t *testing.T) {
	tools := served(t)
	cs := serveInMemory(t, tools)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, tl := range res.Tools {
		got[tl.Name] = map[string]any{"description": tl.Description, "schema": tl.InputSchema}
	}
	want := map[string]any{}
	for _, tl := range tools {
		s := tl.Spec()
		var schema any
		json.Unmarshal(s.Parameters, &schema)
		if s.Name == "raw" {
			schema.(map[string]any)["type"] = "object"
		}
		want[s.Name] = map[string]any{"description": s.Description, "schema": schema}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed tools (-want +got):\n%s", diff)
	}
}

func TestServeCalls(t *testing.T) {
	cs := serveInMemory(t, served(t))
	tests := []struct {
		name, args     string
		wantText       string
		wantStructured any
		wantIsError    bool
	}{
		{name: "calc", args: `{"x":3,"y":4}`, wantText: `{"sum":7,"prod":12}`, wantStructured: map[string]any{"sum": 7.0, "prod": 12.0}},
		{name: "greet", args: `{"name":"Ada"}`, wantText: "hello Ada"},
		{name: "greet", args: `{"name":""}`, wantText: `tool "greet": name is empty; say who to greet`, wantIsError: true},
		{name: "calc", args: `{"x":"3"}`, wantText: "at /x: expected integer, got string", wantIsError: true},
		{name: "raw", args: `{"q":"z"}`, wantText: `raw {"q":"z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.args, func(t *testing.T) {
			res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: tt.name, Arguments: json.RawMessage(tt.args)})
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError != tt.wantIsError {
				t.Errorf("IsError = %v, want %v", res.IsError, tt.wantIsError)
			}
			if text := ContentText(res.Content); !strings.Contains(text, tt.wantText) {
				t.Errorf("text = %q, want it to contain %q", text, tt.wantText)
			}
			if diff := cmp.Diff(tt.wantStructured, res.StructuredContent); diff != "" {
				t.Errorf("structured (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServeRoundTrip offers tools over MCP and uses them through a Client:
// the specs and the two kinds of failure survive the trip.
func TestServeRoundTrip(t *testing.T) {
	tools := served(t)
	srv, err := NewServer(tools, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ServerConfig{Name: "self", Dial: func(ctx context.Context) (sdk.Transport, error) {
		ct, st := sdk.NewInMemoryTransports()
		if _, err := srv.Connect(ctx, st, nil); err != nil {
			return nil, err
		}
		return ct, nil
	}}, nil)
	remote := toolsByName(t, c)
	for _, tl := range tools {
		want, got := tl.Spec(), remote[tl.Spec().Name].Spec()
		var w, g any
		json.Unmarshal(want.Parameters, &w)
		json.Unmarshal(got.Parameters, &g)
		if tl.Spec().Name == "raw" {
			w.(map[string]any)["type"] = "object"
		}
		if want.Description != got.Description || !cmp.Equal(w, g) {
			t.Errorf("spec of %s changed: %+v -> %+v", want.Name, want, got)
		}
	}
	res, err := call(t, remote["calc"], `{"x":2,"y":5}`)
	if err != nil || string(res.Structured) != `{"prod":10,"sum":7}` {
		t.Errorf("calc: %+v, %v", res, err)
	}
	_, err = call(t, remote["greet"], `{"name":""}`)
	var te *tool.Error
	if !errors.As(err, &te) || !strings.Contains(te.Message, "name is empty") {
		t.Errorf("greet error: %v", err)
	}
}

func TestNewServerErrors(t *testing.T) {
	bad := func(schema string) tool.Tool {
		return schemaTool{name: "bad", schema: schema}
	}
	tests := []struct {
		name  string
		tools []tool.Tool
		want  string
	}{
		{"array schema", []tool.Tool{bad(`{"type":"array"}`)}, `tool "bad": its parameters schema has type array; MCP needs "object"`},
		{"not an object", []tool.Tool{bad(`[1]`)}, "not a JSON object"},
		{"duplicate", []tool.Tool{rawTool{}, rawTool{}}, `two tools are named "raw"`},
		{"nil", []tool.Tool{nil}, "tool #1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServer(tt.tools, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := NewServer([]tool.Tool{schemaTool{name: "none"}}, nil); err != nil {
		t.Errorf("empty schema: %v", err)
	}
}

type schemaTool struct{ name, schema string }

func (s schemaTool) Spec() retrain.ToolSpec {
	return retrain.ToolSpec{Name: s.name, Parameters: json.RawMessage(s.schema)}
}

func (schemaTool) Call(context.Context, json.RawMessage) (tool.Result, error) {
	return tool.Result{}, nil
}

// TestServePassesMediaThrough checks that a tool proxied from another MCP
// server keeps its images, audio and resources when served again, instead
// of their description in brackets.
func TestServePassesMediaThrough(t *testing.T) {
	ts := &testServer{}
	upstream := ts.newServer(0, nil)
	c := newClient(t, ServerConfig{Name: "up", Dial: func(ctx context.Context) (sdk.Transport, error) {
		ct, st := sdk.NewInMemoryTransports()
		if _, err := upstream.Connect(ctx, st, nil); err != nil {
			return nil, err
		}
		return ct, nil
	}}, nil)
	proxied := toolsByName(t, c)
	cs := serveInMemory(t, []tool.Tool{proxied["media"], proxied["echo"]})

	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "media", Arguments: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	var image *sdk.ImageContent
	var audio *sdk.AudioContent
	for _, c := range res.Content {
		switch c := c.(type) {
		case *sdk.ImageContent:
			image = c
		case *sdk.AudioContent:
			audio = c
		case *sdk.TextContent:
			if strings.Contains(c.Text, "[image:") {
				t.Errorf("the image became text: %q", c.Text)
			}
		}
	}
	if image == nil || image.MIMEType != "image/png" || !bytes.Equal(image.Data, tinyPNG) {
		t.Errorf("image = %+v, want the upstream PNG unchanged", image)
	}
	if audio == nil || audio.MIMEType != "audio/wav" || string(audio.Data) != "RIFFxxxx" {
		t.Errorf("audio = %+v, want the upstream WAV unchanged", audio)
	}
	if len(res.Content) != 6 || res.IsError {
		t.Errorf("%d content blocks (isError %v), want the upstream's 6", len(res.Content), res.IsError)
	}

	// Text stays as it was served before.
	res, err = cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil || len(res.Content) != 1 {
		t.Fatalf("echo: %+v, %v", res, err)
	}
}
