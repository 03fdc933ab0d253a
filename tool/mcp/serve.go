package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
)

// ServerOptions configure [NewServer]. A nil *ServerOptions means defaults.
type ServerOptions struct {
	// Name and Version identify the server to clients; the defaults are
	// "retrain" and "dev".
	Name, Version string
	// Call configures each tool call (its timeout); nil means tool's
	// defaults.
	Call *tool.CallOptions
	// Logger receives the SDK's logs; nil discards them.
	Logger *slog.Logger
}

// NewServer returns an MCP server that offers tools. Each tool's input
// schema is passed through as it is (a schema without a type gets
// "type": "object"); calls run with [tool.Invoke], so a tool error, invalid
// arguments or a timeout is an isError result whose text the client's model
// sees. Serve it with the SDK's transports:
//
//	srv, err := mcp.NewServer(tool.List(), nil)
//	err = srv.Run(ctx, &sdkmcp.StdioTransport{})
func NewServer(tools []tool.Tool, opts *ServerOptions) (*sdk.Server, error) {
	var o ServerOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "retrain"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	srv := sdk.NewServer(&sdk.Implementation{Name: o.Name, Version: o.Version}, &sdk.ServerOptions{
		Logger: o.Logger,
		// Advertise tools even when there are none, so clients can list.
		Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
	})
	seen := map[string]bool{}
	for i, t := range tools {
		if t == nil {
			return nil, fmt.Errorf("mcp: NewServer: tool #%d is nil", i+1)
		}
		spec := t.Spec()
		if seen[spec.Name] {
			return nil, fmt.Errorf("mcp: NewServer: two tools are named %q", spec.Name)
		}
		seen[spec.Name] = true
		schema, err := objectSchema(spec.Parameters)
		if err != nil {
			return nil, fmt.Errorf("mcp: NewServer: tool %q: %w", spec.Name, err)
		}
		srv.AddTool(&sdk.Tool{Name: spec.Name, Description: spec.Description, InputSchema: schema}, serveTool(t, o.Call))
	}
	return srv, nil
}

// objectSchema returns schema as an MCP input schema, which must be a JSON
// object with "type": "object".
func objectSchema(schema json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(schema)) == 0 {
		return json.RawMessage(`{"type":"object"}`), nil
	}
	var m map[string]any
	if err := json.Unmarshal(schema, &m); err != nil || m == nil {
		return nil, errors.New("its parameters schema is not a JSON object")
	}
	switch typ := m["type"]; typ {
	case "object":
		return schema, nil
	case nil:
		m["type"] = "object"
		return json.Marshal(m)
	default:
		return nil, fmt.Errorf(`its parameters schema has type %v; MCP needs "object"`, typ)
	}
}

// resultSlot is where a tool of an MCP server (a proxied tool) leaves the
// server's own result for [NewServer] to pass on: its images, audio and
// resources, which a tool.Result holds only as text. It is found in the
// call's context under resultSlotKey; a call that outlives its time limit
// may still fill it, hence the atomic.
type resultSlot = atomic.Pointer[sdk.CallToolResult]

type resultSlotKey struct{}

// passThrough returns the proxied result raw unchanged when it holds
// content that text cannot carry (images, audio, resources) and agrees with
// the outcome res of the call (a timeout may have cut the call short after
// the server answered): nil otherwise.
func passThrough(raw *sdk.CallToolResult, res retrain.ToolResult) *sdk.CallToolResult {
	if raw == nil || raw.IsError == res.Success {
		return nil
	}
	for _, c := range raw.Content {
		if _, text := c.(*sdk.TextContent); !text {
			return &sdk.CallToolResult{Content: raw.Content, StructuredContent: raw.StructuredContent, IsError: raw.IsError}
		}
	}
	return nil
}

// serveTool answers tools/call for t. A tool proxied from another MCP
// server passes its images, audio and resources through unchanged.
func serveTool(t tool.Tool, opts *tool.CallOptions) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		var args json.RawMessage
		if req.Params != nil {
			args = req.Params.Arguments
		}
		slot := new(resultSlot)
		res, err := tool.Invoke(context.WithValue(ctx, resultSlotKey{}, slot), t, args, opts)
		if err != nil {
			return nil, err // the request was cancelled
		}
		if out := passThrough(slot.Load(), res); out != nil {
			return out, nil
		}
		if !res.Success {
			return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: res.Error}}}, nil
		}
		out := &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: res.Output}}}
		if s := bytes.TrimSpace(res.Structured); len(s) > 0 && s[0] == '{' {
			// Older clients accept only an object as structured content.
			out.StructuredContent = json.RawMessage(s)
		}
		return out, nil
	}
}
